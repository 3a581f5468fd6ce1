"""progress_tap(): a side channel of Progress values that leaves the stream unchanged."""

from __future__ import annotations

import pytest
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Completed, Response, TextDelta
from lionrx.operators import Progress
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script, assert_stream_laws, messages, run_virtual

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_marble_every_n_chunks_and_at_the_end() -> None:
    seen: list[Progress] = []
    run = run_virtual(
        lambda s: ops.progress_tap(seen.append, every=2, scheduler=s),
        [
            on_next(10, "Hello "),
            on_next(20, "wor"),
            on_next(30, "ld and more"),
            on_completed(40),
        ],
    )
    assert run.messages == [
        on_next(210, "Hello "),
        on_next(220, "wor"),
        on_next(230, "ld and more"),
        on_completed(240),
    ]
    assert [(p.chunks, p.characters, p.words, p.done) for p in seen] == [
        (2, 9, 2, False),
        (3, 20, 4, True),  # "world" split across chunks counts once
    ]
    last = seen[-1]
    assert last.elapsed == 40
    assert last.time_to_first_chunk == 10
    assert last.tokens == 5
    assert last.chunks_per_second == pytest.approx(3 / 40)


def test_marble_every_t_seconds() -> None:
    seen: list[tuple[float, int]] = []
    run = run_virtual(
        lambda s: ops.progress_tap(lambda p: seen.append((p.elapsed, p.chunks)), seconds=5),
        [on_next(3, "a"), on_next(7, "b"), on_next(12, "c"), on_completed(13)],
    )
    assert run.completed
    assert seen == [(5, 1), (10, 2), (13, 3)]


def test_default_reports_every_chunk_and_final_before_terminal_event() -> None:
    order: list[str] = []
    done = Completed(response=Response(texts={0: "ab"}))

    def tap(p: Progress) -> None:
        order.append(f"progress {p.chunks}{' done' if p.done else ''}")

    run = run_virtual(
        lambda s: ops.progress_tap(tap), messages([TextDelta(text="a"), TextDelta(text="b"), done])
    )
    assert run.values[-1] is done
    assert order == ["progress 1", "progress 2", "progress 2 done"]


def test_final_report_on_error_then_error() -> None:
    seen: list[Progress] = []
    error = RuntimeError("x")
    run = run_virtual(
        lambda s: ops.progress_tap(seen.append, every=10),
        [on_next(1, "a"), on_error(2, error)],
    )
    assert run.error is error
    assert [p.done for p in seen] == [True]


def test_callback_error_ends_the_stream_and_disposes_source() -> None:
    def boom(p: Progress) -> None:
        raise ValueError("callback broke")

    run = run_virtual(
        lambda s: ops.progress_tap(boom, every=2),
        [on_next(1, "a"), on_next(2, "b"), on_next(3, "c")],
    )
    assert run.values == ["a", "b"]
    assert isinstance(run.error, ValueError)
    assert [(x.subscribe, x.unsubscribe) for x in run.subscriptions] == [(200, 202)]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ops.progress_tap(print, every=0)
    with pytest.raises(ValueError):
        ops.progress_tap(print, seconds=-1)


def test_stream_laws() -> None:
    assert_stream_laws(
        lambda s: ops.progress_tap(lambda p: None, every=2, seconds=7, scheduler=s),
        timed=True,
        max_examples=40,
    )


async def test_end_to_end(fake_server: FakeProviderServer, model: iModel) -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    fake_server.default = Script(text=text, chunk_size=3)
    seen: list[Progress] = []
    result = await collect(model.stream("hi").pipe(ops.progress_tap(seen.append, every=5)))
    assert result.items[-1].kind == "completed"
    assert seen[-1].done and seen[-1].characters == len(text) and seen[-1].words == 8
    assert seen[-1].chunks == sum(1 for e in result.items if e.kind == "text")
    assert seen[-1].time_to_first_chunk is not None and seen[-1].elapsed >= 0
    assert [p.chunks for p in seen[:-1]] == list(range(5, seen[-1].chunks + 1, 5))
