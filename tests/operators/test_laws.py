"""The stream laws themselves: they pass for lawful operators and catch broken ones."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable, abc
from reactivex import operators as rxo
from reactivex.disposable import Disposable
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx.testing import (
    assert_stream_laws,
    check_deterministic,
    check_dispose_propagates,
    check_flush_on_error,
    check_lossless,
    check_no_empty_chunks,
    check_one_terminal,
    check_order,
    event_input,
    messages,
    output_text,
    run_virtual,
)

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed


def _identity(s: abc.SchedulerBase) -> Any:
    return lambda source: source


def test_identity_is_lawful() -> None:
    assert_stream_laws(_identity, max_examples=30)


def _drops_last(s: abc.SchedulerBase) -> Any:
    return lambda source: source.pipe(rxo.skip_last(1))


def _duplicates(s: abc.SchedulerBase) -> Any:
    return lambda source: source.pipe(
        rxo.flat_map(lambda x: reactivex.of(x, x) if isinstance(x, str) else reactivex.of(x))
    )


def _empties(s: abc.SchedulerBase) -> Any:
    return lambda source: source.pipe(rxo.flat_map(lambda x: reactivex.of("", x)))


def _holds_until_completion(s: abc.SchedulerBase) -> Any:
    """Buffers text and flushes on completion only (loses it on error)."""

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(observer: abc.ObserverBase[Any], scheduler: Any = None) -> Any:
            held: list[str] = []

            def on_next(x: Any) -> None:
                if isinstance(x, str):
                    held.append(x)
                else:
                    observer.on_next(x)

            def on_completed() -> None:
                if held:
                    observer.on_next("".join(held))
                observer.on_completed()

            return source.subscribe(on_next, observer.on_error, on_completed)

        return Observable(subscribe)

    return operator


def _never_disposes(s: abc.SchedulerBase) -> Any:
    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(observer: abc.ObserverBase[Any], scheduler: Any = None) -> Any:
            source.subscribe(observer, scheduler=scheduler)
            return Disposable()

        return Observable(subscribe)

    return operator


def _double_terminal(s: abc.SchedulerBase) -> Any:
    return lambda source: source.pipe(
        rxo.flat_map(
            lambda x: (
                reactivex.of(x, x) if getattr(x, "kind", "") == "completed" else reactivex.of(x)
            )
        )
    )


def _reorders(s: abc.SchedulerBase) -> Any:
    return lambda source: source.pipe(rxo.filter(lambda x: getattr(x, "kind", "") != "keep_alive"))


@pytest.mark.parametrize(
    ("make", "law", "kwargs"),
    [
        (_drops_last, check_lossless, {}),
        (_duplicates, check_lossless, {}),
        (_empties, check_no_empty_chunks, {}),
        (_holds_until_completion, check_flush_on_error, {}),
        (_never_disposes, check_dispose_propagates, {}),
        (_double_terminal, check_one_terminal, {"shape": "events"}),
        (_reorders, check_order, {}),
    ],
    ids=["drop", "duplicate", "empty", "no-flush-on-error", "no-dispose", "two-terminals", "order"],
)
def test_laws_catch_broken_operators(make: Any, law: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        law(make, ["Hello ", "world", ". More", " text"], **kwargs)


def test_determinism_law_catches_nondeterminism() -> None:
    delays = iter([1, 2, 3, 4])

    def make(s: abc.SchedulerBase) -> Any:
        return lambda source: source.pipe(rxo.delay(next(delays), scheduler=s))

    with pytest.raises(AssertionError, match="deterministic"):
        check_deterministic(make, ["a", "b"])


def test_assert_stream_laws_reports_a_falsifying_example() -> None:
    with pytest.raises(AssertionError, match="lossless"):
        assert_stream_laws(_drops_last, max_examples=30, shapes=("text",))


def test_event_input_is_lawful_and_deterministic() -> None:
    events = event_input(["a", "b", "c", "d"], channels=2)
    assert [e.kind for e in events] == [
        "start",
        "text",
        "text",
        "text",
        "keep_alive",
        "text",
        "usage",
        "finish",
        "finish",
        "completed",
    ]
    assert events[-1].response.texts == {0: "ac", 1: "bd"}
    assert event_input(["a"], fail=True)[-1].kind == "failed"
    assert event_input(["x", "y"]) == event_input(["x", "y"])


def test_virtual_helpers() -> None:
    notes = messages(["a", "b"], start=5, gap=[3, 7])
    assert [n.time for n in notes] == [5, 12, 15]
    run = run_virtual(lambda s: ops.buffer(count=2), notes)
    assert run.values == ["ab"] and run.text == "ab" and run.ticks == [212]
    assert run.completed and run.error is None and len(run.ends) == 1
    assert [(x.subscribe, x.unsubscribe) for x in run.subscriptions] == [(200, 215)]
    assert output_text(["a", event_input(["b"])[1], 3]) == "ab"
