"""Bad input gets a `ProtocolError` that names the offending line or header — never an unhandled
exception — and loses nothing received before it. Run over the real recordings."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from reliability_helpers import Wire, make_model, run_to_end

from lionrx.errors import ProtocolError
from lionrx.events import Completed, Failed
from lionrx.testing import FakeProviderServer, Fault, Recording

RECORDINGS: list[tuple[str, Wire]] = [
    ("openai_chat_text.sse", "openai"),
    ("openai_chat_usage.sse", "openai"),
    ("openai_chat_tools.sse", "openai"),
    ("openai_chat_multibyte.sse", "openai"),
    ("anthropic_text.sse", "anthropic"),
    ("anthropic_text_recorded.sse", "anthropic"),
    ("anthropic_tool_use_recorded.sse", "anthropic"),
    ("ollama_chat.ndjson", "ollama"),
    ("ollama_chat_tools.ndjson", "ollama"),
]


async def outcome_of(server: FakeProviderServer, wire: Wire, rec: Recording) -> Completed | Failed:
    server.queue(rec)
    async with make_model(server, wire) as model:
        return (await run_to_end(model.stream("hi"))).check_one_outcome()


@pytest.mark.parametrize(("name", "wire"), RECORDINGS)
async def test_invalid_json_names_the_line(
    fake_server: FakeProviderServer, name: str, wire: Wire
) -> None:
    path = FIXTURES / "streams" / name
    clean = await outcome_of(fake_server, wire, Recording(path))
    assert isinstance(clean, Completed)
    for at in (0, 2, 5):
        bad = await outcome_of(fake_server, wire, Recording(path, fault=Fault.invalid_json(at)))
        assert isinstance(bad, Failed) and isinstance(bad.error, ProtocolError)
        body = bytes(fake_server.responses[-1].body)
        damaged = next(
            line
            for line in body.decode().splitlines()
            if line.strip() and line not in path.read_text().splitlines()
        )
        shown = damaged.removeprefix("data:").strip()[:40]
        assert shown in str(bad.error)  # the offending line is quoted
        assert clean.response.text.startswith(bad.partial.text)


@pytest.mark.parametrize(("name", "wire"), RECORDINGS)
@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "text/plain", ""])
async def test_wrong_content_type_names_the_header(
    fake_server: FakeProviderServer, name: str, wire: Wire, ctype: str
) -> None:
    rec = Recording(FIXTURES / "streams" / name, fault=Fault.wrong_content_type(ctype))
    bad = await outcome_of(fake_server, wire, rec)
    assert isinstance(bad, Failed) and isinstance(bad.error, ProtocolError)
    assert "Content-Type" in str(bad.error)
    assert (ctype or "(missing)") in str(bad.error) or ctype.split(";")[0] in str(bad.error)
    assert bad.partial.text == ""


@pytest.mark.parametrize(("name", "wire"), [r for r in RECORDINGS if r[1] != "ollama"])
async def test_garbage_lines_in_sse_are_ignored_losslessly(
    fake_server: FakeProviderServer, name: str, wire: Wire
) -> None:
    path = FIXTURES / "streams" / name
    clean = await outcome_of(fake_server, wire, Recording(path))
    for at in (0, 1, 4):
        out = await outcome_of(fake_server, wire, Recording(path, fault=Fault.garbage(at)))
        assert isinstance(out, Completed) and isinstance(clean, Completed)
        assert out.response.text == clean.response.text
        assert out.response.tool_calls == clean.response.tool_calls
