"""Virtual-time helpers: drive an operator with `reactivex.testing.TestScheduler` and read what
came out, as values, text, terminal and source subscriptions.

One tick is one second of the operator's clock (``TestScheduler`` adds relative times as
seconds), so ``buffer(seconds=3)`` waits 3 ticks. Sources are cold observables, subscribed at
tick 200 by default, as in RxPY's own tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from reactivex import Observable, abc
from reactivex.notification import Notification, OnCompleted, OnError, OnNext
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded
from reactivex.testing.subscription import Subscription

__all__ = [
    "OperatorFactory",
    "VirtualRun",
    "messages",
    "output_text",
    "run_virtual",
]

OperatorFactory: TypeAlias = Callable[[abc.SchedulerBase], Callable[[Observable[Any]], Any]]
"""Builds the operator under test for a scheduler: ``lambda s: buffer(seconds=2, scheduler=s)``
(operators without time ignore it: ``lambda s: sentence_chunk()``)."""

SUBSCRIBED = ReactiveTest.subscribed
"""Tick at which `run_virtual` subscribes (200)."""


def messages(
    items: Iterable[Any],
    *,
    start: int = 10,
    gap: int | Sequence[int] = 10,
    error: Exception | None = None,
    complete: bool = True,
) -> list[Recorded[Any]]:
    """Timed notifications for a cold source: ``items`` one per ``gap`` ticks from ``start``
    (``gap`` may be a sequence: the wait before each item), then ``on_error(error)`` or
    ``on_completed`` one gap later (or no end at all with ``complete=False``)."""
    out: list[Recorded[Any]] = []
    tick = start
    gaps = [gap] if isinstance(gap, int) else list(gap)
    for k, item in enumerate(items):
        if k:
            tick += gaps[k % len(gaps)] if gaps else 10
        out.append(ReactiveTest.on_next(tick, item))
    tick += gaps[0] if gaps else 10
    if error is not None:
        out.append(ReactiveTest.on_error(tick, error))
    elif complete:
        out.append(ReactiveTest.on_completed(tick))
    return out


def output_text(values: Iterable[Any]) -> str:
    """The text in ``values``: ``str`` items and `TextDelta` texts, joined in order."""
    parts: list[str] = []
    for value in values:
        if isinstance(value, str):
            parts.append(value)
        elif getattr(value, "kind", None) == "text":
            parts.append(value.text)
    return "".join(parts)


@dataclass
class VirtualRun:
    """What came out of a virtual-time run."""

    messages: list[Recorded[Any]]
    """Every notification the operator sent downstream, with its tick."""
    subscriptions: list[Subscription]
    """The source's subscriptions (subscribe and unsubscribe ticks): disposal shows here."""

    @property
    def values(self) -> list[Any]:
        """The ``on_next`` values, in order."""
        return [m.value.value for m in self.messages if isinstance(m.value, OnNext)]

    @property
    def text(self) -> str:
        """The text of the ``on_next`` values (see `output_text`)."""
        return output_text(self.values)

    @property
    def ticks(self) -> list[float]:
        """The tick of each ``on_next``."""
        return [m.time for m in self.messages if isinstance(m.value, OnNext)]

    @property
    def ends(self) -> list[Notification[Any]]:
        """The ``on_completed`` / ``on_error`` notifications (a lawful stream has one)."""
        return [m.value for m in self.messages if isinstance(m.value, OnCompleted | OnError)]

    @property
    def error(self) -> Exception | None:
        """The error the stream ended with, if it did."""
        for end in self.ends:
            if isinstance(end, OnError):
                return end.exception
        return None

    @property
    def completed(self) -> bool:
        """True when the stream ended with ``on_completed``."""
        return any(isinstance(end, OnCompleted) for end in self.ends)


def run_virtual(
    make: OperatorFactory,
    source: Sequence[Recorded[Any]] | Callable[[TestScheduler], Observable[Any]],
    *,
    disposed: float | None = None,
    scheduler: TestScheduler | None = None,
) -> VirtualRun:
    """Runs ``make(scheduler)`` over a cold source in virtual time and records the result.

    ``source`` is a list of timed notifications (see `messages`), or a function building the
    source observable from the scheduler. The subscription starts at tick 200 and is disposed
    at ``disposed`` (default: far in the future, so the stream ends on its own).
    """
    sched = scheduler or TestScheduler()
    if callable(source):
        observable = source(sched)
        cold = None
    else:
        cold = sched.create_cold_observable(list(source))
        observable = cold
    operator = make(sched)
    observer = sched.start(
        lambda: operator(observable),
        disposed=disposed if disposed is not None else 10_000_000,
    )
    return VirtualRun(
        messages=list(observer.messages),
        subscriptions=list(cold.subscriptions) if cold is not None else [],
    )
