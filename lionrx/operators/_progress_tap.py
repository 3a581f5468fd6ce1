"""`progress_tap()`: a side channel of `Progress` values, without changing the stream."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from lionrx._rx import resolve_scheduler
from lionrx.operators._common import Operator

__all__ = ["Progress", "progress_tap"]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a stream has come. Times are seconds on the operator's scheduler clock."""

    chunks: int
    """Text chunks seen (``str`` items or `TextDelta` events)."""
    characters: int
    """Characters of text seen."""
    words: int
    """Whitespace-separated words seen (a word split across chunks counts once)."""
    tokens: int
    """Approximate tokens: characters / 4, rounded up (a rule of thumb for English text)."""
    elapsed: float
    """Seconds since subscription."""
    time_to_first_chunk: float | None
    """Seconds from subscription to the first text chunk (None before it)."""
    chunks_per_second: float
    """Chunks per second of elapsed time (0.0 when no time has passed)."""
    done: bool = False
    """True for the last report, sent once when the stream ends (whatever the outcome)."""


def progress_tap(
    on_progress: Callable[[Progress], Any],
    every: int | None = None,
    seconds: float | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Operator:
    """Calls ``on_progress`` every ``every`` text chunks and/or every ``seconds``, and once at
    the end (``done=True``); items pass through unchanged. With neither, after every chunk.

    ::

        text:   -a--b--c--|
                  progress_tap(f, every=2)
        text:   -a--b--c--|          (unchanged)
        f:      ----P2----P3(done)

    The final report is sent before the stream's end is passed on: before the terminal event of
    an event stream, before ``on_completed`` or ``on_error`` of a text stream. An exception in
    ``on_progress`` ends the stream with that error (like ``reactivex.operators.do_action``).
    """
    if every is not None and every < 1:
        raise ValueError("every must be at least 1")
    if seconds is not None and seconds <= 0:
        raise ValueError("seconds must be positive")
    step = every if every is not None or seconds is not None else 1

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = resolve_scheduler(scheduler or subscribe_scheduler)
            started: datetime = sched.now
            chunks = characters = words = 0
            first: float | None = None
            in_word = False
            finished = False
            broken = False  # on_progress raised: the stream already ended with its error
            timer = SerialDisposable()
            subscription = SerialDisposable()

            def snapshot(done: bool) -> Progress:
                elapsed = (sched.now - started).total_seconds()
                return Progress(
                    chunks=chunks,
                    characters=characters,
                    words=words,
                    tokens=(characters + 3) // 4,
                    elapsed=elapsed,
                    time_to_first_chunk=first,
                    chunks_per_second=chunks / elapsed if elapsed > 0 else 0.0,
                    done=done,
                )

            def report(done: bool) -> bool:
                try:
                    on_progress(snapshot(done))
                except Exception as error:  # the user's callback failed: end the stream with it
                    stop()
                    observer.on_error(error)
                    return False
                return True

            def stop() -> None:
                nonlocal finished, broken
                finished = broken = True
                timer.dispose()
                subscription.dispose()

            def count(piece: str) -> bool:
                nonlocal chunks, characters, words, first, in_word
                if not piece:
                    return True
                chunks += 1
                if first is None:
                    first = (sched.now - started).total_seconds()
                characters += len(piece)
                found = len(_WORD.findall(piece))
                if found and in_word and not piece[0].isspace():
                    found -= 1  # the word goes on from the previous chunk
                words += found
                in_word = not piece[-1].isspace()
                if step is not None and chunks % step == 0:
                    return report(False)
                return True

            def on_next(item: Any) -> None:
                if finished:
                    return
                if isinstance(item, str):
                    observer.on_next(item)
                    count(item)
                    return
                kind = getattr(item, "kind", None)
                if kind == "text":
                    observer.on_next(item)
                    count(item.text)
                elif kind == "completed" or kind == "failed":
                    end()
                    if report(True):
                        observer.on_next(item)
                else:
                    observer.on_next(item)

            def end() -> None:
                nonlocal finished
                finished = True
                timer.dispose()

            def on_error(error: Exception) -> None:
                if broken:
                    return
                if finished:
                    observer.on_error(error)
                    return
                end()
                if report(True):
                    observer.on_error(error)

            def on_completed() -> None:
                if broken:
                    return
                if not finished:
                    end()
                    if not report(True):
                        return
                observer.on_completed()

            def tick(_s: abc.SchedulerBase, _st: Any = None) -> None:
                if finished:
                    return
                if report(False):
                    schedule_tick()

            def schedule_tick() -> None:
                assert seconds is not None
                timer.disposable = sched.schedule_relative(seconds, tick)

            if seconds is not None:
                schedule_tick()
            subscription.disposable = source.subscribe(
                on_next, on_error, on_completed, scheduler=subscribe_scheduler
            )
            return CompositeDisposable(subscription, timer)

        return Observable(subscribe)

    return operator
