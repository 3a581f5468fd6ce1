"""Deadlines fire on stalls and keep-alive-only streams; no stream hangs past its deadlines;
the timed-out stream's partial answer is exactly what arrived, and its connection is closed."""

from __future__ import annotations

import asyncio
import math
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, reference, run_to_end

from lionrx.errors import StreamTimeout
from lionrx.events import Completed, Failed, KeepAlive
from lionrx.operators import timeout
from lionrx.testing import FakeProviderServer, Fault, Script

TEXT = "one two three four five six seven eight nine ten"
WIRES: list[Wire] = ["openai", "anthropic", "ollama"]
KEEPALIVE: dict[Wire, bytes] = {
    "openai": b": keep-alive\n\n",
    "anthropic": b'event: ping\ndata: {"type":"ping"}\n\n',
    "ollama": b"\n",
}
# Upper bounds on how long a stream may take once its deadline is due: generous, because the
# suite runs on a loaded 2-core machine; the stalls they are compared with last 30 s.
SLACK = 3.0


async def timed_out(
    server: FakeProviderServer, wire: Wire, script: Script, **deadlines: float
) -> tuple[Completed | Failed, float]:
    baseline = set(asyncio.all_tasks())
    before = server.disconnects
    server.queue(script)
    model = make_model(server, wire)
    try:
        t0 = time.monotonic()
        trace = await run_to_end(model.stream("hi").pipe(timeout(**deadlines)), timeout=10)
        elapsed = time.monotonic() - t0
        outcome = trace.check_one_outcome()
        if isinstance(outcome, Failed):
            ref = reference(bytes(server.responses[-1].body), wire)
            assert outcome.partial.text == ref.text
            await server.wait_for_disconnect(timeout=10.0, count=before + 1)
        await assert_no_leaks(model, server, baseline)
        return outcome, elapsed
    finally:
        await model.aclose()


async def test_idle_deadline_fires_on_a_stall(fake_server: FakeProviderServer) -> None:
    for wire in WIRES:
        outcome, elapsed = await timed_out(
            fake_server, wire, Script(text=TEXT, fault=Fault.stall(700, 30)), idle=0.3
        )
        assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamTimeout)
        assert outcome.error.which == "idle"
        assert elapsed < 0.3 + SLACK
        assert TEXT.startswith(outcome.partial.text)


async def test_keepalives_do_not_keep_a_dead_stream_alive(fake_server: FakeProviderServer) -> None:
    for wire in WIRES:
        for which in ("first", "idle"):
            script = Script(text=TEXT, fault=Fault.keepalive_only(math.inf, interval=0.05))
            model = make_model(fake_server, wire)
            try:
                fake_server.queue(script)
                t0 = time.monotonic()
                trace = await run_to_end(
                    model.stream("hi").pipe(timeout(**{which: 0.4})), timeout=20
                )
                elapsed = time.monotonic() - t0
                outcome = trace.check_one_outcome()
                assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamTimeout)
                assert outcome.error.which == which
                # Keep-alives were sent all along (every 0.05 s, so a deadline that counted
                # them as activity would never fire) and did not count: the deadline fired.
                body = bytes(fake_server.responses[-1].body)
                assert body and body.replace(KEEPALIVE[wire], b"") == b""
                if wire != "ollama":  # Ollama's keep-alive is a bare newline, not an event
                    assert any(isinstance(e, KeepAlive) for e in trace.items)
                assert outcome.partial.text == ""
                assert elapsed < 5.0
            finally:
                await model.aclose()
            await fake_server.wait_idle(10.0)


async def test_first_deadline_on_a_slow_start(fake_server: FakeProviderServer) -> None:
    outcome, elapsed = await timed_out(
        fake_server, "openai", Script(text=TEXT, first_delay=30), first=0.3
    )
    assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamTimeout)
    assert outcome.error.which == "first" and elapsed < 0.3 + SLACK


async def test_total_deadline_on_a_trickle(fake_server: FakeProviderServer) -> None:
    outcome, elapsed = await timed_out(
        fake_server, "anthropic", Script(text=TEXT, fault=Fault.trickle(0.002)), total=0.5
    )
    assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamTimeout)
    assert outcome.error.which == "total" and elapsed < 0.5 + SLACK


async def test_the_request_timeout_also_ends_a_stall(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text=TEXT, fault=Fault.stall(400, 30)))
    async with make_model(fake_server, "openai", timeout=0.5) as model:
        t0 = time.monotonic()
        outcome = (await run_to_end(model.stream("hi"), timeout=10)).check_one_outcome()
    assert time.monotonic() - t0 < 0.5 + SLACK
    assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamTimeout)
    assert TEXT.startswith(outcome.partial.text)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wire=st.sampled_from(WIRES),
    k=st.integers(0, 2000),
    t=st.sampled_from([0.0, 0.05, 1.2, 1.5]),
)
async def test_stalls_of_any_length_at_any_byte(
    fake_server: FakeProviderServer, wire: Wire, k: int, t: float
) -> None:
    # Short stalls are 0.45 s below the deadline and long ones 0.7 s above it, so a loaded
    # machine's scheduling lag cannot turn one into the other.
    idle = 0.5
    outcome, elapsed = await timed_out(
        fake_server, wire, Script(text=TEXT, fault=Fault.stall(k, t)), idle=idle
    )
    assert elapsed < t + SLACK  # nothing hangs past its deadline
    if t <= 0.05:
        assert isinstance(outcome, Completed) and outcome.response.text == TEXT
    elif isinstance(outcome, Failed):
        assert isinstance(outcome.error, StreamTimeout) and outcome.error.which == "idle"
        assert elapsed < idle + SLACK
    else:
        # A stall placed after the end of answer delays nothing the client waits for.
        assert outcome.response.text == TEXT
        ref = reference(bytes(fake_server.responses[-1].body[:k]), wire)
        assert ref.clean
