"""timeout(): first / idle / total deadlines; a failure value with the partial answer, and the
source (the HTTP connection) disposed."""

from __future__ import annotations

import pytest
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._errors import StreamTimeout
from lionrx._events import Completed, KeepAlive, Response, Start, TextDelta
from lionrx.services import iModel
from lionrx.testing import (
    FakeProviderServer,
    Fault,
    Script,
    assert_stream_laws,
    run_virtual,
)

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_marble_idle_ignores_keep_alives() -> None:
    start, a = Start(source="m"), TextDelta(text="a", source="m")
    ping = KeepAlive(source="m")
    run = run_virtual(
        lambda s: ops.timeout(idle=5, scheduler=s),
        [
            on_next(1, start),
            on_next(3, a),
            on_next(5, ping),
            on_next(7, ping),
            on_next(20, TextDelta(text="late", source="m")),
        ],
    )
    assert run.values[:4] == [start, a, ping, ping]
    failed = run.values[4]
    assert failed.kind == "failed" and failed.source == "m"
    assert isinstance(failed.error, StreamTimeout) and failed.error.which == "idle"
    assert failed.error.seconds == 5
    assert failed.partial.text == "a" and failed.error.partial is failed.partial
    # 5 s after the last meaningful event (tick 203), the source is disposed and we complete.
    assert [m.time for m in run.messages[4:]] == [208, 208]
    assert run.completed
    assert [(x.subscribe, x.unsubscribe) for x in run.subscriptions] == [(200, 208)]


def test_marble_first_deadline() -> None:
    run = run_virtual(
        lambda s: ops.timeout(first=4, idle=100, scheduler=s),
        [on_next(1, Start()), on_next(2, KeepAlive()), on_next(9, TextDelta(text="x"))],
    )
    assert [v.kind for v in run.values] == ["start", "keep_alive", "failed"]
    assert run.values[-1].error.which == "first"
    assert run.ticks[-1] == 204


def test_marble_first_is_met_then_total_fires() -> None:
    run = run_virtual(
        lambda s: ops.timeout(first=4, total=10, scheduler=s),
        [on_next(t, TextDelta(text=str(t))) for t in range(2, 30, 2)],
    )
    failed = run.values[-1]
    assert failed.error.which == "total" and run.ticks[-1] == 210
    assert failed.partial.text == "2468"  # the delta at tick 210 comes after the deadline


def test_no_timeout_when_the_stream_ends_in_time() -> None:
    done = Completed(response=Response(texts={0: "ab"}))
    run = run_virtual(
        lambda s: ops.timeout(first=5, idle=5, total=30, scheduler=s),
        [on_next(2, TextDelta(text="a")), on_next(6, done), on_completed(6)],
    )
    assert run.values[-1] is done and run.completed and len(run.ends) == 1


def test_text_stream_gets_on_error_with_partial() -> None:
    run = run_virtual(
        lambda s: ops.timeout(idle=5, scheduler=s),
        [on_next(1, "Hel"), on_next(2, "lo")],
    )
    assert run.values == ["Hel", "lo"]
    assert isinstance(run.error, StreamTimeout) and run.error.which == "idle"
    assert run.error.partial is not None and run.error.partial.text == "Hello"
    assert run.messages[-1].time == 207


def test_text_shape_before_any_item() -> None:
    run = run_virtual(lambda s: ops.timeout(first=3, scheduler=s, shape="text"), [])
    assert isinstance(run.error, StreamTimeout) and run.error.partial is not None
    assert run.error.partial.text == ""


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ops.timeout(idle=0)


def test_stream_laws() -> None:
    assert_stream_laws(
        lambda s: ops.timeout(first=500, idle=500, total=50_000, scheduler=s),
        timed=True,
        max_examples=40,
    )


async def test_end_to_end_idle_closes_connection(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    # The server sends some text, then only keep-alives forever.
    fake_server.default = Script(
        text="Some text before the stall. " * 3,
        chunk_size=8,
        fault=Fault.stall(at_byte=600, seconds=30),
        keepalive_every=0.02,
    )
    result = await collect(model.stream("hi").pipe(ops.timeout(idle=0.3)))
    failed = result.items[-1]
    assert failed.kind == "failed" and isinstance(failed.error, StreamTimeout)
    assert failed.error.which == "idle"
    assert failed.partial.text == "".join(e.text for e in result.items if e.kind == "text")
    assert failed.partial.text
    await fake_server.wait_for_disconnect()
    await fake_server.wait_idle()


async def test_end_to_end_first_timeout_on_text_stream(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    fake_server.default = Script(text="too late", first_delay=30)
    result = await collect(
        model.stream("hi").pipe(ops.text(), ops.timeout(first=0.2, shape="text"))
    )
    assert isinstance(result.error, StreamTimeout) and result.error.which == "first"
    await fake_server.wait_for_disconnect()


async def test_end_to_end_total_deadline_closes_a_stream_that_keeps_talking(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    # Text keeps arriving (idle never fires), but the whole answer takes too long.
    fake_server.default = Script(text="word " * 2000, chunk_size=5, delay=0.01)
    result = await collect(model.stream("hi").pipe(ops.timeout(first=5, idle=5, total=0.3)))
    failed = result.items[-1]
    assert failed.kind == "failed" and isinstance(failed.error, StreamTimeout)
    assert failed.error.which == "total" and failed.error.seconds == 0.3
    received = "".join(e.text for e in result.items if e.kind == "text")
    assert received and failed.partial.text == received and len(received) < 10_000
    await fake_server.wait_for_disconnect()
    await fake_server.wait_idle()
    assert fake_server.responses[-1].outcome == "client_disconnected"


def test_a_stream_of_only_keep_alives_times_out_under_its_own_label() -> None:
    ping = KeepAlive(source="gpt")
    run = run_virtual(
        lambda s: ops.timeout(idle=5, scheduler=s),
        [on_next(1, ping), on_next(3, ping), on_next(5, ping)],
    )
    failed = run.values[-1]
    assert failed.kind == "failed" and failed.error.which == "idle"
    assert failed.source == "gpt" and failed.partial.source == "gpt"
    assert {v.source for v in run.values} == {"gpt"}


async def test_end_to_end_keep_alives_only_one_outcome_in_a_sink(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    from lionrx.sinks import Sink, SinkHandle

    fake_server.default = Script(text="never", fault=Fault.keepalive_only())
    handle = SinkHandle(model.stream("hi").pipe(ops.timeout(idle=0.3)), Sink())
    outcome = await handle.wait()
    assert outcome.kind == "failed" and isinstance(outcome.error, StreamTimeout)
    assert list(handle.outcomes) == ["gpt"]
    await fake_server.wait_for_disconnect()
