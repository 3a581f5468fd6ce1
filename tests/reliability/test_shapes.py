"""The same guarantees on the other faces: the text stream (``operators.text()``) and
``invoke_stream`` deliver chunks that join to exactly the received text, then end once —
``on_completed`` / normal end with the full answer, or the failure carrying that same prefix."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, reference, run_to_end

from lionrx import operators
from lionrx.errors import LionrxError
from lionrx.testing import FakeProviderServer, Fault, Script

TEXT = "Text streams end once: with everything, or with exactly what came. ✓"

faults = st.one_of(
    st.none(),
    st.builds(Fault.drop, st.integers(0, 3000)),
    st.builds(Fault.invalid_json, st.integers(0, 20)),
    st.just(Fault.close_before_headers()),
    st.just(Fault.wrong_content_type()),
    st.builds(Fault.splitting, st.integers(1, 9)),
)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def expected(server: FakeProviderServer, wire: Wire) -> tuple[str, bool]:
    served = server.responses[-1]
    if served.outcome == "closed_before_headers" or "html" in served.content_type:
        return "", False
    ref = reference(bytes(served.body), wire)
    return ref.text, ref.clean


@SETTINGS
@given(wire=st.sampled_from(["openai", "anthropic", "ollama"]), fault=faults)
async def test_text_stream_ends_once_with_the_exact_prefix(
    fake_server: FakeProviderServer, wire: Wire, fault: Fault | None
) -> None:
    baseline = set(asyncio.all_tasks())
    fake_server.queue(Script(text=TEXT, chunk_size=4, fault=fault))
    model = make_model(fake_server, wire)
    try:
        trace = await run_to_end(model.stream("hi").pipe(operators.text()))
        assert not trace.after_end
        assert all(isinstance(c, str) and c for c in trace.items)
        got = "".join(trace.items)
        text, clean = expected(fake_server, wire)
        assert got == text and TEXT.startswith(got)
        if clean:
            assert trace.completed == 1 and not trace.errors and got == TEXT
        else:
            assert trace.completed == 0 and len(trace.errors) == 1
            error = trace.errors[0]
            assert isinstance(error, LionrxError) and error.partial is not None
            assert error.partial.text == got
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        await model.aclose()


@SETTINGS
@given(wire=st.sampled_from(["openai", "anthropic", "ollama"]), fault=faults)
async def test_invoke_stream_raises_after_every_received_chunk(
    fake_server: FakeProviderServer, wire: Wire, fault: Fault | None
) -> None:
    baseline = set(asyncio.all_tasks())
    fake_server.queue(Script(text=TEXT, chunk_size=4, fault=fault))
    model = make_model(fake_server, wire)
    chunks: list[str] = []
    error: LionrxError | None = None
    try:
        try:
            async for chunk in model.invoke_stream("hi"):
                chunks.append(chunk)
        except LionrxError as exc:
            error = exc
        text, clean = expected(fake_server, wire)
        assert "".join(chunks) == text
        if clean:
            assert error is None and text == TEXT
        else:
            assert error is not None and error.partial is not None
            assert error.partial.text == text
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        await model.aclose()
