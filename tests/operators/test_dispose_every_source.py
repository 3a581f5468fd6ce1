"""Disposal law for the operators over several streams: disposing the result disposes every
source still running (merge_labeled, race, fallback), whenever it happens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import Observable
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx.testing import check_dispose_reaches_every_source, event_input, messages

on_next = ReactiveTest.on_next

# Sources start at tick 200 (+ the notes' own offsets); items every 10 ticks from offset 10.
A = messages(event_input(["Alpha ", "beta ", "gamma."]), gap=10)  # text from 220, ends ~300
B = messages(event_input(["Bee ", "cee."]), start=15, gap=10)  # text from 225
FAILING = messages(event_input(["Par", "tial"], fail=True), gap=5)  # Failed at tick 230


def _merge(sources: Sequence[Observable[Any]]) -> Observable[Any]:
    return ops.merge_labeled({"a": sources[0], "b": sources[1]})


def _merge_fail_fast(sources: Sequence[Observable[Any]]) -> Observable[Any]:
    return ops.merge_labeled({"a": sources[0], "b": sources[1]}, fail_fast=True)


def _race(sources: Sequence[Observable[Any]]) -> Observable[Any]:
    return ops.race(*sources)


def _fallback(sources: Sequence[Observable[Any]]) -> Observable[Any]:
    return ops.fallback(sources[0], lambda prefix: sources[1])


def _unsubscribed(subs: list[list[Any]]) -> list[list[tuple[int, int]]]:
    return [[(s.subscribe, s.unsubscribe) for s in per] for per in subs]


def test_merge_labeled_disposes_both_running_sources() -> None:
    subs = check_dispose_reaches_every_source(_merge, [A, B], disposed=232)
    assert _unsubscribed(subs) == [[(200, 232)], [(200, 232)]]


def test_race_disposes_every_contender_before_a_winner() -> None:
    slow = messages(event_input(["late"]), start=50)
    subs = check_dispose_reaches_every_source(_race, [slow, slow], disposed=215)
    assert _unsubscribed(subs) == [[(200, 215)], [(200, 215)]]


def test_race_disposes_the_winner_and_the_loser_went_at_the_win() -> None:
    # A's first text is at tick 220 (Start at 210): it wins; B (text at 225) is disposed then.
    subs = check_dispose_reaches_every_source(_race, [A, B], disposed=240)
    assert _unsubscribed(subs) == [[(200, 240)], [(200, 220)]]


def test_fallback_disposes_the_stream_that_took_over() -> None:
    subs = check_dispose_reaches_every_source(_fallback, [FAILING, B], disposed=270)
    # The failed attempt ended when it failed (tick 230: its Failed event), the next at 270.
    assert _unsubscribed(subs) == [[(200, 230)], [(230, 270)]]


@pytest.mark.parametrize(
    "combine",
    [_merge, _merge_fail_fast, _race, _fallback],
    ids=["merge_labeled", "merge_labeled(fail_fast)", "race", "fallback"],
)
@settings(max_examples=40, deadline=None)
@given(at=st.integers(201, 320), data=st.data())
def test_no_source_outlives_the_disposal(combine: Any, at: int, data: st.DataObject) -> None:
    first = data.draw(st.sampled_from([A, B, FAILING]), label="first source")
    second = data.draw(st.sampled_from([A, B, FAILING]), label="second source")
    subs = _subscriptions(combine, [first, second], at)
    for per in subs:
        for s in per:
            assert s.unsubscribe <= at


def _subscriptions(combine: Any, sources: list[Any], at: int) -> list[list[Any]]:
    # Streams that ended on their own before ``at`` have nothing left to dispose; the law
    # (a source disposed exactly at ``at``) only applies while one is still running.
    from reactivex.testing import TestScheduler

    sched = TestScheduler()
    cold = [sched.create_cold_observable(list(notes)) for notes in sources]
    observer = sched.start(lambda: combine(cold), disposed=at)
    subs = [list(c.subscriptions) for c in cold]
    ended = any(m.value.kind in ("C", "E") for m in observer.messages)
    if not ended:
        check_dispose_reaches_every_source(combine, sources, disposed=at)
    return subs


def test_the_law_catches_a_combinator_that_forgets_a_source() -> None:
    def leaky(sources: Sequence[Observable[Any]]) -> Observable[Any]:
        def subscribe(observer: Any, scheduler: Any = None) -> Any:
            sources[1].subscribe(lambda _: None, scheduler=scheduler)  # never disposed
            return sources[0].subscribe(observer, scheduler=scheduler)

        return Observable(subscribe)

    with pytest.raises(AssertionError, match="still subscribed"):
        check_dispose_reaches_every_source(leaky, [A, B], disposed=232)
