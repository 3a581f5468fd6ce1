"""Wire recordings: ``iModel(..., wire_log=FILE)`` keeps each response body byte-exact, with
``: t=`` stamps at event boundaries, and the replay provider plays the file back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lionrx.errors import APIConnectionError, ConfigurationError, LionrxError, ProtocolError
from lionrx.events import Response
from lionrx.services import iModel
from lionrx.sse import SSEDecoder
from lionrx.testing import FakeProviderServer, Fault, Recording

CONFORMANCE = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
KEY = "sk-test-canary-wire-0123456789"
CASES = [
    ("openai", "openai_chat_text.sse"),
    ("openai", "openai_chat_tools_parallel_usage.sse"),
    ("openai", "openai_chat_n3_usage.sse"),
    ("openai", "openai_responses.sse"),
    ("openai", "openai_responses_tools.sse"),
    ("anthropic", "anthropic_text.sse"),
    ("anthropic", "anthropic_tool_use.sse"),
    ("anthropic", "anthropic_thinking.sse"),
]
STAMP = re.compile(rb"^: t=[0-9.]+\r?\n", re.MULTILINE)
HEADER = re.compile(rb"^: lionrx-wire .*\n", re.MULTILINE)


def _bodies(data: bytes) -> list[bytes]:
    """The recorded bodies with the stamps and headers taken out."""
    heads = list(HEADER.finditer(data))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(data)
        out.append(STAMP.sub(b"", data[head.end() : end]))
    return out


def _base_url(server: FakeProviderServer, provider: str) -> str:
    return server.openai_base_url if provider == "openai" else server.anthropic_base_url


def _same(live: Response, replayed: Response) -> None:
    assert replayed.texts == live.texts
    assert replayed.text == live.text
    assert replayed.tool_calls == live.tool_calls
    # Events carry the label of the model that produced them ("replay" vs "openai/m").
    assert (replayed.usage is None) == (live.usage is None)
    if live.usage is not None and replayed.usage is not None:
        assert replayed.usage.model_dump(exclude={"source"}) == live.usage.model_dump(
            exclude={"source"}
        )
    assert replayed.stop_reasons == live.stop_reasons
    assert replayed.reasoning == live.reasoning


@pytest.mark.parametrize(("provider", "name"), CASES)
async def test_tapped_body_is_byte_exact_and_replays_to_the_same_response(
    server: FakeProviderServer, tmp_path: Path, provider: str, name: str
) -> None:
    served = (CONFORMANCE / name).read_bytes()
    path = tmp_path / "answer.sse"
    server.queue(Recording(path=CONFORMANCE / name, chunk_size="random", seed=7, delay=0.001))
    endpoint = "responses" if "responses" in name else None
    async with iModel(
        provider=provider,
        model="m",
        base_url=_base_url(server, provider),
        api_key=KEY,
        wire_log=path,
        endpoint=endpoint,
    ) as live_model:
        calling = await live_model.invoke("hi")
    live = calling.raise_for_status().response
    assert live is not None
    data = path.read_bytes()
    assert _bodies(data) == [served]
    assert KEY.encode() not in data and b"Bearer" not in data and b"x-api-key" not in data
    assert STAMP.search(data)
    # The stamps are comments at event boundaries: an SSE decoder sees the served events.
    plain, tapped = SSEDecoder(), SSEDecoder()
    expected = [*plain.feed(served), *plain.close()]
    got = [*tapped.feed(HEADER.sub(b"", data)), *tapped.close()]
    assert [(e.event, e.data) for e in got] == [(e.event, e.data) for e in expected]
    for match in STAMP.finditer(data):
        before = data[: match.start()]
        assert HEADER.fullmatch(before) or before.endswith((b"\n\n", b"\r\n\r\n", b"\r\r"))

    async with iModel(provider="replay", path=path, speed=None) as again:
        replayed = (await again.invoke("hi")).raise_for_status().response
    assert replayed is not None
    _same(live, replayed)


async def test_one_recording_per_request_replays_as_a_cassette(
    server: FakeProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "cassette.sse"
    names = ["openai_chat_text.sse", "openai_chat_tools_usage.sse", "openai_chat_length.sse"]
    lives = []
    async with iModel(
        provider="openai", model="m", base_url=server.openai_base_url, api_key=KEY, wire_log=path
    ) as live_model:
        for name in names:
            server.queue(Recording(path=CONFORMANCE / name, chunk_size="random"))
            lives.append((await live_model.invoke("hi")).raise_for_status().response)
    assert _bodies(path.read_bytes()) == [(CONFORMANCE / n).read_bytes() for n in names]
    async with iModel(provider="replay", path=path, speed=None) as again:
        for live in lives:
            replayed = (await again.invoke("hi")).raise_for_status().response
            assert live is not None and replayed is not None
            _same(live, replayed)


@pytest.mark.parametrize("at_byte", [0, 1, 57, 200, 401])
async def test_a_dropped_connection_leaves_the_bytes_received_on_disk(
    server: FakeProviderServer, tmp_path: Path, at_byte: int
) -> None:
    served = (CONFORMANCE / "anthropic_text.sse").read_bytes()
    path = tmp_path / "cut.sse"
    server.queue(
        Recording(
            path=CONFORMANCE / "anthropic_text.sse",
            chunk_size="random",
            fault=Fault.drop(at_byte),
        )
    )
    async with iModel(
        provider="anthropic",
        model="m",
        base_url=server.anthropic_base_url,
        api_key=KEY,
        max_retries=0,
        wire_log=path,
    ) as live_model:
        calling = await live_model.invoke("hi")
    error = calling.execution.error
    assert isinstance(error, APIConnectionError | ProtocolError)
    [body] = _bodies(path.read_bytes())
    assert body == served[:at_byte]
    if at_byte:
        # The cut recording replays as the same failure shape: what was said, then an error.
        async with iModel(provider="replay", path=path, speed=None) as again:
            replayed = await again.invoke("hi")
        assert isinstance(replayed.execution.error, LionrxError)
        partial = replayed.execution.error.partial
        assert error.partial is not None and partial is not None
        assert partial.text == error.partial.text
    # The next request's recording starts on its own line, after the cut one.
    server.queue(Recording(path=CONFORMANCE / "anthropic_text.sse", chunk_size=11))
    async with iModel(
        provider="anthropic", model="m", base_url=server.anthropic_base_url, wire_log=path
    ) as live_model:
        (await live_model.invoke("hi")).raise_for_status()
    assert _bodies(path.read_bytes())[-1] == served


async def test_ollama_refuses_a_wire_log(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ollama"):
        iModel(provider="ollama", model="m", wire_log=tmp_path / "x.ndjson")
    assert not (tmp_path / "x.ndjson").exists()
