"""Every fault the chaos server knows, through the real iModel over real sockets: exactly one
outcome, nothing after it, the exact text received before a fault, and nothing left open."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import (
    Trace,
    Wire,
    assert_no_leaks,
    make_model,
    reference,
    run_to_end,
)

from lionrx.errors import APIConnectionError, LionrxError, ProtocolError
from lionrx.events import Completed, Failed
from lionrx.testing import FakeProviderServer, Fault, Script

WIRES: list[Wire] = ["openai", "anthropic", "ollama"]

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
splits = st.lists(st.integers(1, 40), min_size=1, max_size=4).map(tuple)

faults = st.one_of(
    st.none(),
    st.builds(Fault.drop, st.integers(0, 2500)),
    st.builds(Fault.stall, st.integers(0, 2500), st.floats(0, 0.03)),
    st.builds(Fault.garbage, st.integers(0, 20)),
    st.builds(Fault.invalid_json, st.integers(0, 20)),
    st.builds(Fault.invalid_utf8, st.integers(0, 20)),
    st.builds(
        lambda size, at: Fault.huge_line(size, at), st.integers(1, 300_000), st.integers(0, 20)
    ),
    st.builds(Fault.trickle),
    st.builds(Fault.keepalive_only, st.floats(0, 0.15), st.floats(0.005, 0.05)),
    st.just(Fault.close_before_headers()),
    st.sampled_from(["text/html; charset=utf-8", "text/plain"]).map(Fault.wrong_content_type),
    st.builds(Fault.splitting, st.integers(1, 7), st.integers(1, 30)),
)

# Faults that leave the answer's text alone (so a clean end must give exactly the script's text).
TEXT_PRESERVING = {"none", "drop", "stall", "garbage", "trickle", "invalid_json", "keepalive_only"}

KEEPALIVE: dict[Wire, bytes] = {
    "openai": b": keep-alive\n\n",
    "anthropic": b"event: ping\n",
    "ollama": b"\n",
}

fault_counts: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def report_fault_counts() -> Iterator[None]:
    """Print how many streams each fault kind was tried on (``pytest -s``)."""
    yield
    print("\nfault kinds tried:", dict(sorted(fault_counts.items())))


async def check_fault(
    server: FakeProviderServer, wire: Wire, text: str, chunk_size: int | None, fault: Fault | None
) -> None:
    kind = fault.kind if fault is not None else "none"
    fault_counts[kind] = fault_counts.get(kind, 0) + 1
    baseline = set(asyncio.all_tasks())
    model = make_model(server, wire)
    try:
        server.queue(Script(text=text, chunk_size=chunk_size, fault=fault))
        trace = await run_to_end(model.stream("hello"))
        outcome = check_trace(server, wire, text, fault, trace)
        if isinstance(outcome, Failed):
            # A failed stream's connection is closed at once, not put back in the pool.
            await server.wait_for(lambda: server.connections == 0, 10.0)
        await assert_no_leaks(model, server, baseline)
    finally:
        await model.aclose()


def check_trace(
    server: FakeProviderServer, wire: Wire, text: str, fault: Fault | None, trace: Trace
) -> Completed | Failed:
    kind = fault.kind if fault is not None else "none"
    outcome = trace.check_one_outcome()
    served = server.responses[-1]
    if kind == "close_before_headers":
        assert isinstance(outcome, Failed)
        assert isinstance(outcome.error, APIConnectionError)
        assert outcome.partial.text == ""
    elif kind == "wrong_content_type":
        assert isinstance(outcome, Failed)
        assert isinstance(outcome.error, ProtocolError)
        assert "Content-Type" in str(outcome.error)
        assert fault is not None and fault.content_type in str(outcome.error)
    else:
        ref = reference(bytes(served.body), wire)
        if ref.clean:
            assert isinstance(outcome, Completed), outcome
            assert outcome.response.text == ref.text
        else:
            assert isinstance(outcome, Failed), (served.outcome, ref)
            assert isinstance(outcome.error, LionrxError)
            assert outcome.partial.text == ref.text  # exactly what arrived before the fault
            assert outcome.error.partial is outcome.partial
            if kind == "invalid_json" or (kind == "invalid_utf8" and wire == "ollama"):
                # Not JSON text: a ProtocolError quoting the line. (In SSE, invalid UTF-8 is
                # decoded with replacement characters, as the standard says: see ``reference``.)
                assert isinstance(outcome.error, ProtocolError), outcome.error
                assert "line" in str(outcome.error)
        if kind == "keepalive_only" and fault is not None and fault.seconds >= 0.001:
            # The keep-alives really went out before the answer, and changed nothing.
            assert bytes(served.body).startswith(KEEPALIVE[wire])
        if kind in TEXT_PRESERVING:
            assert text.startswith(ref.text)  # a byte-exact prefix of the full answer
            if ref.clean:
                assert ref.text == text
    # The text the events carried is the text of the outcome.
    joined = "".join(getattr(e, "text", "") for e in trace.items if e.kind == "text")
    result = outcome.response if isinstance(outcome, Completed) else outcome.partial
    assert joined == result.text
    return outcome


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wire=st.sampled_from(WIRES),
    text=texts,
    chunk_size=st.none() | st.integers(1, 8),
    fault=faults,
    split=st.none() | splits,
)
async def test_any_fault_gives_one_outcome_and_the_exact_prefix(
    fake_server: FakeProviderServer,
    wire: Wire,
    text: str,
    chunk_size: int | None,
    fault: Fault | None,
    split: tuple[int, ...] | None,
) -> None:
    if split and fault is not None and fault.kind not in ("close_before_headers", "trickle"):
        fault = fault.with_split(*split)
    await check_fault(fake_server, wire, text, chunk_size, fault)


async def test_every_fault_kind_on_every_wire(fake_server: FakeProviderServer) -> None:
    text = "Streams break; answers must not. Ünïcødé ✓ 🦁 done."
    every = [
        None,
        Fault.drop(0),
        Fault.drop(400),
        Fault.drop(10**6),
        Fault.stall(300, 0.05),
        Fault.garbage(2),
        Fault.invalid_json(3),
        Fault.invalid_utf8(3),
        Fault.huge_line(4 * 1024 * 1024, 2),
        Fault.trickle(),
        Fault.keepalive_only(0.2, interval=0.02),
        Fault.close_before_headers(),
        Fault.wrong_content_type(),
        Fault.splitting(1, 2, 3),
    ]
    for wire in WIRES:
        for fault in every:
            await check_fault(fake_server, wire, text, None, fault)
