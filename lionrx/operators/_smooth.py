"""`smooth()`: re-chunk text into whole words or lines (or regex units), optionally paced."""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime
from typing import Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from lionrx._rx import resolve_scheduler
from lionrx.operators._common import Operator, rechunk

__all__ = ["smooth"]

_WORD = re.compile(r"\S+\s+")
_LINE = re.compile(r"[^\n]*\n")
_SPACE = re.compile(r"\s")
_NEWLINE = re.compile(r"\n")
_SLACK = 1e-6


class _Units:
    """Pure re-chunker: emits text up to the end of each complete unit (a regex match).

    Text between units goes with the unit after it, so nothing is lost. A match that touches
    the end of the text so far may still grow, so it waits for more text — unless ``eager``
    (words and lines: a match ending in whitespace or a newline is complete enough). With a
    ``trigger`` (the characters a unit ends with), pieces without one are only stored, so a
    long unit arriving in many pieces is scanned once, not once per piece.
    """

    __slots__ = ("_pattern", "_eager", "_trigger", "_parts")

    def __init__(
        self, pattern: re.Pattern[str], eager: bool, trigger: re.Pattern[str] | None
    ) -> None:
        self._pattern = pattern
        self._eager = eager
        self._trigger = trigger
        self._parts: list[str] = []

    def feed(self, text: str) -> list[str]:
        if self._trigger is not None and self._trigger.search(text) is None:
            self._parts.append(text)
            return []
        self._parts.append(text)
        buf = "".join(self._parts)
        out: list[str] = []
        pos = 0
        end = len(buf)
        for match in self._pattern.finditer(buf):
            stop = match.end()
            if stop <= pos:
                continue  # an empty match adds nothing
            if stop == end and not self._eager:
                break
            out.append(buf[pos:stop])
            pos = stop
        self._parts = [buf[pos:]] if pos < end else []
        return out

    def close(self) -> list[str]:
        rest = "".join(self._parts)
        self._parts = []
        return [rest] if rest else []


def _is_text(item: Any) -> bool:
    return isinstance(item, str) or getattr(item, "kind", None) == "text"


def _pace(delay: float, scheduler: abc.SchedulerBase | None) -> Operator:
    """Emits text items at least ``delay`` seconds apart; other items as soon as their turn
    comes. Completion waits for the queue; an error flushes it at once."""

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = resolve_scheduler(scheduler or subscribe_scheduler)
            queue: deque[Any] = deque()
            timer = SerialDisposable()
            waiting = False
            completed = False
            last: datetime | None = None

            def drain(_s: Any = None, _st: Any = None) -> None:
                nonlocal waiting, last
                waiting = False
                while queue:
                    if _is_text(queue[0]):
                        now = sched.now
                        if last is not None:
                            gap = (now - last).total_seconds()
                            if gap < delay - _SLACK:
                                waiting = True
                                timer.disposable = sched.schedule_relative(delay - gap, drain)
                                return
                        last = now
                    observer.on_next(queue.popleft())
                if completed:
                    observer.on_completed()

            def on_next(item: Any) -> None:
                queue.append(item)
                if not waiting:
                    drain()

            def on_error(error: Exception) -> None:
                timer.dispose()
                while queue:
                    observer.on_next(queue.popleft())
                observer.on_error(error)

            def on_completed() -> None:
                nonlocal completed
                completed = True
                if not waiting:
                    drain()

            subscription = source.subscribe(
                on_next, on_error, on_completed, scheduler=subscribe_scheduler
            )
            return CompositeDisposable(subscription, timer)

        return Observable(subscribe)

    return operator


def smooth(
    by: Literal["word", "line"] | str | re.Pattern[str] = "word",
    delay: float | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Operator:
    """Re-chunks text into whole units — words (with the space after them), lines, or matches
    of a regex — optionally paced ``delay`` seconds apart.

    ::

        text:  -"Hel"-"lo wo"-"rld, h"-"i"-|
                 smooth("word")
        out:   -------"Hello "-"world, "---"hi"|

        text:  -"one two three"-|
                 smooth("word", delay=2)          (ticks of 1 s)
        out:   -"one "--"two "--"three"|

    With a regex, each chunk ends where a match ends; text between matches goes with the next
    match; a match is only emitted once text after it arrived (it might still grow). The rest
    is emitted at completion. Cost: words and lines touch each character a bounded number of
    times; a regex re-scans the text pending since the last unit on every chunk, so a long
    stretch without a match costs quadratic time — keep regex units short. Pacing: text chunks
    leave at least ``delay`` seconds apart, other events keep their place in the queue;
    completion waits until everything is out; an error flushes the queue at once, then passes
    on. Works on text and event streams (each source
    and choice on its own).
    """
    if delay is not None and delay <= 0:
        raise ValueError("delay must be positive")
    trigger: re.Pattern[str] | None = None
    if by == "word":
        pattern, eager, trigger = _WORD, True, _SPACE
    elif by == "line":
        pattern, eager, trigger = _LINE, True, _NEWLINE
    elif isinstance(by, re.Pattern):
        pattern, eager = by, False
    else:
        pattern, eager = re.compile(by), False
    units = rechunk(lambda: _Units(pattern, eager, trigger))
    if delay is None:
        return units
    pace = _pace(delay, scheduler)
    return lambda source: pace(units(source))
