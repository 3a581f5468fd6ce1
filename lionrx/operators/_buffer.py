"""`buffer()`: join text chunks by count, by time, or whichever comes first."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from lionrx._rx import resolve_scheduler
from lionrx.operators._common import Key, Operator, text_delta

__all__ = ["buffer"]


def buffer(
    count: int | None = None,
    seconds: float | None = None,
    scheduler: abc.SchedulerBase | None = None,
) -> Operator:
    """Joins text chunks: every ``count`` chunks, ``seconds`` after the first chunk of a batch,
    or whichever comes first.

    ::

        text:  -a-b-c-d-e-|
                 buffer(count=2)
        out:   ---"ab"-"cd"-"e"|

        text:  -a-b------c-X
                 buffer(seconds=3)      (ticks of 1 s)
        out:   -----"ab"---"c"X

    A batch is emitted at most ``seconds`` after its first chunk arrived; no timer runs while
    nothing is pending, and an empty chunk is never emitted. The remainder is flushed on
    completion and on error (before the error is passed on). Event streams: each source and
    choice is batched on its own; other events pass through in order; pending text is flushed
    before its `Finish`, before the terminal event and before a `Fallback` marker.
    """
    if count is None and seconds is None:
        raise ValueError("buffer() needs count=, seconds= or both")
    if count is not None and count < 1:
        raise ValueError("count must be at least 1")
    if seconds is not None and seconds <= 0:
        raise ValueError("seconds must be positive")

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = (
                resolve_scheduler(scheduler or subscribe_scheduler) if seconds is not None else None
            )
            batches: dict[Key | None, list[str]] = {}  # None: the plain text stream
            timers: dict[Key | None, abc.DisposableBase] = {}

            def emit(key: Key | None) -> None:
                timer = timers.pop(key, None)
                if timer is not None:
                    timer.dispose()
                parts = batches.pop(key, None)
                if parts:
                    joined = "".join(parts)
                    observer.on_next(joined if key is None else text_delta(joined, *key))

            def add(key: Key | None, piece: str) -> None:
                if not piece:
                    return
                parts = batches.get(key)
                if parts is None:
                    parts = batches[key] = []
                    if sched is not None:
                        assert seconds is not None
                        timers[key] = sched.schedule_relative(seconds, lambda _s, _st: emit(key))
                parts.append(piece)
                if count is not None and len(parts) >= count:
                    emit(key)

            def flush_all() -> None:
                for key in list(batches):
                    emit(key)

            def on_next(item: Any) -> None:
                if isinstance(item, str):
                    add(None, item)
                    return
                kind = getattr(item, "kind", None)
                if kind == "text":
                    add((item.source, item.choice), item.text)
                    return
                if kind == "completed" or kind == "failed" or kind == "fallback":
                    flush_all()  # a failed attempt's text goes out before the fallback marker
                elif kind == "finish":
                    emit((item.source, item.choice))
                observer.on_next(item)

            def on_error(error: Exception) -> None:
                flush_all()
                observer.on_error(error)

            def on_completed() -> None:
                flush_all()
                observer.on_completed()

            def cancel_timers() -> None:
                for timer in timers.values():
                    timer.dispose()
                timers.clear()

            subscription = source.subscribe(
                on_next, on_error, on_completed, scheduler=subscribe_scheduler
            )
            return CompositeDisposable(subscription, Disposable(cancel_timers))

        return Observable(subscribe)

    return operator
