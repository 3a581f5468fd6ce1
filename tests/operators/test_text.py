"""text(): event stream → text stream, ending with the stream's outcome."""

from __future__ import annotations

from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._errors import LionrxError, ProviderStreamError
from lionrx._events import (
    Completed,
    Failed,
    KeepAlive,
    Response,
    Start,
    TextDelta,
    Usage,
)
from lionrx.services import iModel
from lionrx.testing import (
    FakeProviderServer,
    Fault,
    Script,
    assert_stream_laws,
    messages,
    run_virtual,
)

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_marble_completed() -> None:
    run = run_virtual(
        lambda s: ops.text(),
        [
            on_next(210, Start()),
            on_next(220, TextDelta(text="Hel")),
            on_next(230, Usage(output_tokens=2)),
            on_next(240, TextDelta(text="lo")),
            on_next(250, Completed(response=Response(texts={0: "Hello"}))),
            on_completed(260),
        ],
    )
    assert run.messages == [on_next(420, "Hel"), on_next(440, "lo"), on_completed(450)]
    # The source finished on its own right after its terminal event.
    assert [(s.subscribe, s.unsubscribe) for s in run.subscriptions] == [(200, 450)]


def test_marble_failed_becomes_error_with_partial() -> None:
    partial = Response(texts={0: "Hel"})
    error = ProviderStreamError("overloaded")
    run = run_virtual(
        lambda s: ops.text(),
        messages([TextDelta(text="Hel"), KeepAlive(), Failed(error=error, partial=partial)]),
    )
    assert run.values == ["Hel"]
    assert run.error is error
    assert error.partial is partial


def test_keeps_an_existing_partial() -> None:
    mine = Response(texts={0: "mine"})
    error = LionrxError("x", partial=mine)
    run = run_virtual(
        lambda s: ops.text(),
        messages([Failed(error=error, partial=Response(texts={0: "other"}))]),
    )
    assert run.error is error and error.partial is mine


def test_choice_selection_and_empty_deltas() -> None:
    events = [
        TextDelta(text="a", choice=0),
        TextDelta(text="", choice=0),
        TextDelta(text="b", choice=1),
        TextDelta(text="c", choice=0),
    ]
    assert run_virtual(lambda s: ops.text(), messages(events)).values == ["a", "c"]
    assert run_virtual(lambda s: ops.text(choice=1), messages(events)).values == ["b"]
    assert run_virtual(lambda s: ops.text(choice=None), messages(events)).values == [
        "a",
        "b",
        "c",
    ]


def test_source_picks_one_stream_of_a_merge() -> None:
    error = ProviderStreamError("x")
    events = [
        TextDelta(text="a", source="gpt"),
        TextDelta(text="x", source="claude"),
        Failed(error=error, partial=Response(), source="claude"),
        TextDelta(text="b", source="gpt"),
        Completed(response=Response(texts={0: "ab"}), source="gpt"),
    ]
    gpt = run_virtual(lambda s: ops.text(source="gpt"), messages(events))
    assert gpt.values == ["a", "b"] and gpt.completed
    claude = run_virtual(lambda s: ops.text(source="claude"), messages(events))
    assert claude.values == ["x"] and claude.error is error


def test_stream_laws() -> None:
    # On text streams text() is the identity; on event streams its output is a text stream,
    # so the event-shape laws (terminal event kept) do not apply: check text-shaped ones.
    assert_stream_laws(lambda s: ops.text(), shapes=("text",), max_examples=40)


async def test_end_to_end(fake_server: FakeProviderServer, model: iModel) -> None:
    fake_server.default = Script(text="Hello there, streaming world.", chunk_size=4)
    result = await collect(model.stream("hi").pipe(ops.text()))
    assert result.completed and "".join(result.items) == "Hello there, streaming world."
    assert all(isinstance(x, str) and x for x in result.items)


async def test_end_to_end_failure_carries_partial(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    fake_server.default = Script(text="word " * 50, chunk_size=5, fault=Fault.drop(at_byte=900))
    result = await collect(model.stream("hi").pipe(ops.text()))
    assert isinstance(result.error, LionrxError)
    assert result.error.partial is not None
    assert result.error.partial.text == "".join(result.items)
    assert result.items  # some text arrived before the drop
