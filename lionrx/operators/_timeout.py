"""`timeout()`: deadlines for the first text, the gaps between events and the whole stream."""

from __future__ import annotations

from typing import Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from lionrx._errors import StreamTimeout
from lionrx._events import Failed, ResponseBuilder
from lionrx._rx import resolve_scheduler
from lionrx.operators._common import Operator, text_delta

__all__ = ["timeout"]

# Events that count as the answer having started ("first" deadline).
_CONTENT = frozenset(("text", "reasoning", "refusal", "tool_call"))
# Timer slack: virtual and loop clocks may land a hair before the deadline.
_SLACK = 1e-6


def timeout(
    first: float | None = None,
    idle: float | None = None,
    total: float | None = None,
    scheduler: abc.SchedulerBase | None = None,
    shape: Literal["auto", "events", "text"] = "auto",
) -> Operator:
    """Fails the stream with `StreamTimeout` when a deadline passes, and disposes the source
    (which closes its HTTP connection).

    - ``first``: seconds from subscription to the first content (text, reasoning, refusal or
      tool-call delta);
    - ``idle``: seconds without a meaningful event (`KeepAlive` does not count: a server that
      only pings is idle);
    - ``total``: seconds for the whole stream.

    ::

        events: -Start----T("a")--KeepAlive--KeepAlive----...
                  timeout(idle=5)                   (ticks of 1 s)
        out:    -Start----T("a")--KeepAlive--KeepAlive-Failed(StreamTimeout idle)|
                                                       ^ 5 s after T("a"); source disposed

        text:   -"a"---------...
                  timeout(idle=5)
        out:    -"a"-----X  (StreamTimeout(which="idle"), .partial.text == "a")

    On an event stream the timeout is a value: ``Failed(StreamTimeout(which=...),
    partial=<Response so far>)`` then ``on_completed``. On a text stream it is ``on_error``
    with the same error (its ``.partial`` holds the text so far). ``shape="auto"`` treats the
    stream as an event stream until a ``str`` arrives; pass ``shape="text"`` when a text stream
    may time out before its first chunk. ``StreamTimeout.which`` is ``"first"``, ``"idle"`` or
    ``"total"`` and ``.seconds`` the deadline.
    """
    for name, value in (("first", first), ("idle", idle), ("total", total)):
        if value is not None and value <= 0:
            raise ValueError(f"{name} must be positive")

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], subscribe_scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched = resolve_scheduler(scheduler or subscribe_scheduler)
            builder = ResponseBuilder()
            text_mode = shape == "text"
            label: str | None = None
            over = False  # the stream ended (terminal seen or a deadline fired)
            expired = False  # a deadline fired: the stream was ended here
            last_activity = sched.now
            subscription = SerialDisposable()
            first_timer = SerialDisposable()
            idle_timer = SerialDisposable()
            total_timer = SerialDisposable()
            timers = CompositeDisposable(first_timer, idle_timer, total_timer)

            def expire(which: str, seconds: float) -> None:
                nonlocal over, expired
                if over:
                    return
                over = expired = True
                timers.dispose()
                subscription.dispose()  # closes the connection before we report
                builder.source = label
                partial = builder.finish()
                what = {
                    "first": f"no answer within {seconds:g}s",
                    "idle": f"no event for {seconds:g}s",
                    "total": f"stream took longer than {seconds:g}s",
                }[which]
                error = StreamTimeout(
                    f"timeout: {what}", which=which, seconds=seconds, partial=partial
                )
                if text_mode:
                    observer.on_error(error)
                else:
                    failed = Failed.model_construct(error=error, partial=partial, source=label)
                    observer.on_next(failed)
                    observer.on_completed()

            def check_idle(_s: abc.SchedulerBase, _st: Any = None) -> None:
                assert idle is not None
                quiet = (sched.now - last_activity).total_seconds()
                if quiet >= idle - _SLACK:
                    expire("idle", idle)
                else:
                    # Activity since the timer was set: sleep for the rest of the gap only, so
                    # the per-event cost is a clock read, not a new timer.
                    idle_timer.disposable = sched.schedule_relative(idle - quiet, check_idle)

            def on_next(item: Any) -> None:
                nonlocal text_mode, label, over, last_activity
                if over:
                    return
                if isinstance(item, str):
                    text_mode = True
                    if item:
                        builder.add(text_delta(item, None, 0))
                        first_timer.dispose()
                    last_activity = sched.now
                    observer.on_next(item)
                    return
                kind = getattr(item, "kind", None)
                if kind == "completed" or kind == "failed":
                    over = True
                    timers.dispose()
                    observer.on_next(item)
                    return
                # Any event names the stream: a timeout's Failed must carry the same label,
                # even when nothing but keep-alives arrived (or sinks see two sources).
                if item.source is not None:
                    label = item.source
                if kind == "keep_alive":
                    observer.on_next(item)
                    return
                builder.add(item)
                if kind in _CONTENT:
                    first_timer.dispose()
                last_activity = sched.now
                observer.on_next(item)

            def on_error(error: Exception) -> None:
                if expired:
                    return
                timers.dispose()
                observer.on_error(error)

            def on_completed() -> None:
                if expired:
                    return
                timers.dispose()
                observer.on_completed()

            if first is not None:
                first_timer.disposable = sched.schedule_relative(
                    first, lambda _s, _st: expire("first", first)
                )
            if idle is not None:
                idle_timer.disposable = sched.schedule_relative(idle, check_idle)
            if total is not None:
                total_timer.disposable = sched.schedule_relative(
                    total, lambda _s, _st: expire("total", total)
                )
            subscription.disposable = source.subscribe(
                on_next, on_error, on_completed, scheduler=subscribe_scheduler
            )
            return CompositeDisposable(subscription, timers)

        return Observable(subscribe)

    return operator
