"""buffer(): join chunks by count, by time, or whichever comes first."""

from __future__ import annotations

import pytest
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Completed, Finish, Response, TextDelta, Usage
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script, assert_stream_laws, messages, run_virtual

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_marble_by_count() -> None:
    run = run_virtual(
        lambda s: ops.buffer(count=2),
        [
            on_next(210, "a"),
            on_next(220, "b"),
            on_next(230, "c"),
            on_next(240, "d"),
            on_next(250, "e"),
            on_completed(260),
        ],
    )
    assert run.messages == [
        on_next(420, "ab"),
        on_next(440, "cd"),
        on_next(460, "e"),
        on_completed(460),
    ]


def test_marble_by_time_from_first_chunk() -> None:
    error = RuntimeError("boom")
    run = run_virtual(
        lambda s: ops.buffer(seconds=3, scheduler=s),
        [on_next(1, "a"), on_next(2, "b"), on_next(9, "c"), on_error(10, error)],
    )
    # "ab" 3 s after "a"; nothing while idle (no empty chunks); "c" flushed before the error.
    assert run.messages == [on_next(204, "ab"), on_next(210, "c"), on_error(210, error)]


def test_marble_whichever_comes_first() -> None:
    run = run_virtual(
        lambda s: ops.buffer(count=3, seconds=5, scheduler=s),
        [
            on_next(1, "a"),
            on_next(2, "b"),
            on_next(3, "c"),
            on_next(4, "d"),
            on_completed(20),
        ],
    )
    assert run.messages == [on_next(203, "abc"), on_next(209, "d"), on_completed(220)]


def test_subscribe_scheduler_is_used_when_none_given() -> None:
    run = run_virtual(lambda s: ops.buffer(seconds=2), [on_next(1, "a"), on_completed(10)])
    assert run.messages == [on_next(203, "a"), on_completed(210)]


def test_dispose_cancels_timer_and_source() -> None:
    run = run_virtual(
        lambda s: ops.buffer(seconds=50, scheduler=s),
        [on_next(1, "a"), on_next(2, "b")],
        disposed=210,
    )
    assert run.messages == []
    assert [(x.subscribe, x.unsubscribe) for x in run.subscriptions] == [(200, 210)]


def test_events_per_channel_and_flush_before_finish_and_terminal() -> None:
    done = Completed(response=Response(texts={0: "abc", 1: "xy"}))
    run = run_virtual(
        lambda s: ops.buffer(count=10),
        messages(
            [
                TextDelta(text="a"),
                TextDelta(text="x", choice=1),
                Usage(output_tokens=1),
                TextDelta(text="b"),
                Finish(reason="stop", choice=1),
                TextDelta(text="c"),
                done,
            ]
        ),
    )
    kinds = [(v.kind, getattr(v, "text", None), v.choice) for v in run.values]
    assert kinds == [
        ("usage", None, 0),
        ("text", "x", 1),
        ("finish", None, 1),
        ("text", "abc", 0),
        ("completed", None, 0),
    ]
    assert run.values[-1] is done


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ops.buffer()
    with pytest.raises(ValueError):
        ops.buffer(count=0)
    with pytest.raises(ValueError):
        ops.buffer(seconds=0)


def test_stream_laws() -> None:
    assert_stream_laws(lambda s: ops.buffer(count=3), max_examples=40)
    assert_stream_laws(
        lambda s: ops.buffer(count=4, seconds=15, scheduler=s), timed=True, max_examples=40
    )


async def test_end_to_end(fake_server: FakeProviderServer, model: iModel) -> None:
    text = "one two three four five six seven eight nine ten"
    fake_server.default = Script(text=text)  # word by word: 10 chunks
    result = await collect(model.stream("hi").pipe(ops.text(), ops.buffer(count=4)))
    assert result.completed
    assert "".join(result.items) == text
    assert len(result.items) == 3
    timed = await collect(model.stream("hi").pipe(ops.buffer(seconds=0.05, count=100), ops.text()))
    assert "".join(timed.items) == text and timed.completed
