"""accumulate(): running snapshots of the whole text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Completed, Response, Start, TextDelta
from lionrx.operators import Snapshot
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script, assert_stream_laws, messages, run_virtual

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def _last_text(values: Sequence[Any]) -> str:
    """The output text of accumulate: the last snapshot (of choice 0)."""
    last = ""
    for v in values:
        if isinstance(v, str):
            last = v
        elif isinstance(v, Snapshot) and v.choice == 0:
            last = v.text
    return last


def test_marble_text() -> None:
    error = RuntimeError("x")
    run = run_virtual(
        lambda s: ops.accumulate(),
        [on_next(10, "He"), on_next(20, "llo"), on_next(30, " you"), on_error(40, error)],
    )
    assert run.messages == [
        on_next(210, "He"),
        on_next(220, "Hello"),
        on_next(230, "Hello you"),
        on_error(240, error),
    ]


def test_events_become_snapshots_per_channel() -> None:
    start = Start()
    done = Completed(response=Response(texts={0: "Hello"}))
    run = run_virtual(
        lambda s: ops.accumulate(),
        messages(
            [
                start,
                TextDelta(text="He"),
                TextDelta(text="x", choice=1),
                TextDelta(text="llo"),
                done,
            ]
        ),
    )
    assert run.values == [
        start,
        Snapshot("He", "He"),
        Snapshot("x", "x", None, 1),
        Snapshot("Hello", "llo"),
        done,
    ]
    assert run.completed


def test_stream_laws() -> None:
    assert_stream_laws(lambda s: ops.accumulate(), extract=_last_text, max_examples=40)


async def test_end_to_end(fake_server: FakeProviderServer, model: iModel) -> None:
    fake_server.default = Script(text="one two three", chunk_size=2)
    result = await collect(model.stream("hi").pipe(ops.accumulate()))
    snaps = [x for x in result.items if isinstance(x, Snapshot)]
    text = "one two three"
    assert [s.text for s in snaps] == [text[:k] for k in range(2, len(text), 2)] + [text]
    assert snaps[-1].text == "one two three" and snaps[-1].source == "gpt"
    assert result.items[-1].kind == "completed"
