"""smooth(): whole words / lines / regex units, optionally paced."""

from __future__ import annotations

import pytest
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Completed, Response, TextDelta, Usage
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script, assert_stream_laws, messages, run_virtual

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_marble_words() -> None:
    run = run_virtual(
        lambda s: ops.smooth("word"),
        [
            on_next(10, "Hel"),
            on_next(20, "lo wo"),
            on_next(30, "rld, h"),
            on_next(40, "i"),
            on_completed(50),
        ],
    )
    assert run.messages == [
        on_next(220, "Hello "),
        on_next(230, "world, "),
        on_next(250, "hi"),
        on_completed(250),
    ]


def test_lines_and_regex() -> None:
    lines = run_virtual(lambda s: ops.smooth("line"), messages(["a\nb", "c\n", "d"]))
    assert lines.values == ["a\n", "bc\n", "d"]
    clauses = run_virtual(lambda s: ops.smooth(r"[^,;]*[,;]"), messages(["one, tw", "o; three"]))
    # A regex match is emitted once text after it arrived (it might still grow).
    assert clauses.values == ["one,", " two;", " three"]


def test_marble_paced() -> None:
    run = run_virtual(
        lambda s: ops.smooth("word", delay=2, scheduler=s),
        [on_next(1, "one two three"), on_completed(2)],
    )
    assert run.messages == [
        on_next(201, "one "),
        on_next(203, "two "),
        on_next(205, "three"),
        on_completed(205),
    ]


def test_paced_events_keep_their_place_and_error_flushes() -> None:
    error = RuntimeError("x")
    usage = Usage(output_tokens=3)
    run = run_virtual(
        lambda s: ops.smooth("word", delay=5, scheduler=s),
        [on_next(1, TextDelta(text="a b c ")), on_next(2, usage), on_error(3, error)],
    )
    assert [(m.time, getattr(m.value, "value", None)) for m in run.messages[:-1]] == [
        (201, TextDelta(text="a ")),
        (203, TextDelta(text="b ")),
        (203, TextDelta(text="c ")),
        (203, usage),
    ]
    assert run.messages[-1] == on_error(203, error)


def test_events_flush_before_terminal() -> None:
    done = Completed(response=Response(texts={0: "ab cd"}))
    run = run_virtual(
        lambda s: ops.smooth(), messages([TextDelta(text="ab c"), TextDelta(text="d"), done])
    )
    assert [getattr(v, "text", None) for v in run.values] == ["ab ", "cd", None]
    assert run.values[-1] is done


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ops.smooth(delay=0)


def test_stream_laws() -> None:
    assert_stream_laws(lambda s: ops.smooth("word"), max_examples=40)
    assert_stream_laws(lambda s: ops.smooth("line"), max_examples=30)
    assert_stream_laws(lambda s: ops.smooth(r"\w+[.!?]"), max_examples=30)
    assert_stream_laws(
        lambda s: ops.smooth("word", delay=4, scheduler=s), timed=True, max_examples=30
    )


async def test_end_to_end(fake_server: FakeProviderServer, model: iModel) -> None:
    text = "Streaming text arrives in odd pieces, but words stay whole."
    fake_server.default = Script(text=text, chunk_size=4)
    result = await collect(model.stream("hi").pipe(ops.text(), ops.smooth("word", delay=0.005)))
    assert result.completed and "".join(result.items) == text
    assert result.items == [w + " " for w in text.split(" ")[:-1]] + [text.split(" ")[-1]]
