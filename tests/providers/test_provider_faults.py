"""Each provider under the chaos kit's faults, and a round-trip property over real sockets:
whatever the text and however it is split, every provider delivers exactly that text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionrx.errors import APIConnectionError, LionrxError, ProtocolError
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Fault, Script

PROVIDERS = ["openai", "anthropic", "ollama"]
TEXT = "The quick brown fox jumps over the lazy dog. " * 4


def _model(provider: str, server: FakeProviderServer) -> iModel:
    base = server.openai_base_url if provider == "openai" else server.url
    return iModel(provider=provider, model="m", base_url=base, max_retries=0)


SURVIVABLE = {
    "trickle": Fault.trickle(),
    "splitting": Fault.splitting(1, 2, 3, 5, 7),
    "garbage": Fault.garbage(at_frame=2),
    "keepalive_only": Fault.keepalive_only(seconds=0.05, interval=0.01),
    "stall": Fault.stall(at_byte=40, seconds=0.05),
}
# A garbage line is ignorable SSE, but a non-JSON NDJSON line is an error (tested below).
CASES = [(p, f) for p in PROVIDERS for f in SURVIVABLE if not (p == "ollama" and f == "garbage")]


@pytest.mark.parametrize(("provider", "fault_name"), CASES)
async def test_survivable_faults_deliver_the_whole_text(
    fake_server: FakeProviderServer, provider: str, fault_name: str
) -> None:
    fault = SURVIVABLE[fault_name]
    fake_server.queue(Script(text=TEXT, fault=fault))
    async with _model(provider, fake_server) as model:
        text = "".join([c async for c in model.invoke_stream(messages="hi")])
    assert text == TEXT


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_invalid_json_is_a_protocol_error_keeping_earlier_text(
    fake_server: FakeProviderServer, provider: str
) -> None:
    fake_server.queue(Script(text=TEXT, fault=Fault.invalid_json(at_frame=4)))
    chunks: list[str] = []
    async with _model(provider, fake_server) as model:
        with pytest.raises(ProtocolError) as info:
            async for chunk in model.invoke_stream(messages="hi"):
                chunks.append(chunk)
    assert info.value.partial is not None
    assert info.value.partial.text == "".join(chunks)
    assert TEXT.startswith("".join(chunks))


async def test_garbage_ndjson_line_is_a_protocol_error(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text=TEXT, fault=Fault.garbage(at_frame=2)))
    async with _model("ollama", fake_server) as model:
        calling = await model.invoke(messages="hi")
    assert isinstance(calling.execution.error, ProtocolError)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_invalid_utf8_never_crashes(fake_server: FakeProviderServer, provider: str) -> None:
    fake_server.queue(Script(text=TEXT, fault=Fault.invalid_utf8(at_frame=2)))
    async with _model(provider, fake_server) as model:
        calling = await model.invoke(messages="hi")
    if calling.execution.error is not None:
        assert isinstance(calling.execution.error, ProtocolError)
    else:
        # SSE decodes with replacement characters (WHATWG); the rest of the text is intact.
        response = calling.execution.response
        assert response is not None and "\ufffd" in response.text


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("at_byte", [0, 30, 300])
async def test_a_drop_at_any_byte_fails_cleanly(
    fake_server: FakeProviderServer, provider: str, at_byte: int
) -> None:
    fake_server.queue(Script(text=TEXT, fault=Fault.drop(at_byte=at_byte)))
    chunks: list[str] = []
    async with _model(provider, fake_server) as model:
        with pytest.raises(LionrxError) as info:
            async for chunk in model.invoke_stream(messages="hi"):
                chunks.append(chunk)
    assert isinstance(info.value, ProtocolError | APIConnectionError)
    assert info.value.partial is not None and info.value.partial.text == "".join(chunks)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(min_size=1, max_size=200),
    chunk_size=st.integers(min_value=1, max_value=40),
    split=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=5),
    provider=st.sampled_from(PROVIDERS),
)
async def test_round_trip_any_text_any_split(
    fake_server: FakeProviderServer, text: str, chunk_size: int, split: list[int], provider: str
) -> None:
    fake_server.queue(
        Script(text=text, chunk_size=chunk_size, fault=Fault.splitting(*split), usage=(3, 4))
    )
    async with _model(provider, fake_server) as model:
        chunks = [c async for c in model.invoke_stream(messages="hi")]
    assert "".join(chunks) == text
    assert all(chunks)


ANY_OUTCOME = [
    None,
    Fault.drop(at_byte=50),
    Fault.invalid_json(at_frame=2),
    Fault.wrong_content_type(),
    Fault.trickle(),
    Fault.garbage(at_frame=1),
    Fault.close_before_headers(),
]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    provider=st.sampled_from(PROVIDERS),
    fault=st.sampled_from(ANY_OUTCOME),
    status=st.sampled_from([200, 200, 200, 400, 429, 500]),
    text=st.text(min_size=0, max_size=60),
)
async def test_stream_contract_holds_whatever_happens(
    fake_server: FakeProviderServer, provider: str, fault: Fault | None, status: int, text: str
) -> None:
    """Zero or more events, exactly one Completed/Failed last, then on_completed; never
    on_error; the terminal's response holds exactly the text delivered before it."""
    import asyncio

    from lionrx.testing import ErrorReply

    if status != 200:
        fake_server.queue(ErrorReply(status, {"error": {"message": "nope"}}))
    else:
        fake_server.queue(Script(text=text, fault=fault))
    events: list[object] = []
    done = asyncio.get_running_loop().create_future()
    async with _model(provider, fake_server) as model:
        model.stream(messages="hi").subscribe(
            events.append, done.set_exception, lambda: done.set_result(None)
        )
        await done
    kinds = [getattr(e, "kind", None) for e in events]
    assert sum(k in ("completed", "failed") for k in kinds) == 1
    assert kinds[-1] in ("completed", "failed")
    terminal = events[-1]
    delivered = "".join(e.text for e in events if getattr(e, "kind", None) == "text")  # type: ignore[attr-defined]
    response = terminal.response if kinds[-1] == "completed" else terminal.partial  # type: ignore[attr-defined]
    assert response.text == delivered
    if kinds[-1] == "completed":
        assert delivered == text
    else:
        assert text.startswith(delivered)
        assert isinstance(terminal.error, LionrxError)  # type: ignore[attr-defined]
