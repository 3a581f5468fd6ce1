"""`race()`: run several streams, keep the first to produce text, dispose the others."""

from __future__ import annotations

from typing import Any, Literal

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

__all__ = ["race"]

_CONTENT = frozenset(("text", "reasoning", "refusal", "tool_call"))


def race(
    *streams: Observable[Any],
    on: Literal["first_text", "first_content", "first_event"] = "first_text",
) -> Observable[Any]:
    """The stream that produces text first wins; the others are disposed (connections closed).

    ::

        a:   -Start---------T("slow")-...
        b:   ---Start--T("fast")--T("!")-Completed-|
               race(a, b)
        out: ----------Start-T("fast")--T("!")-Completed-|      (a disposed at "fast")

    What a stream emits before it wins (`Start`, keep-alives, usage...) is held back and
    replayed, in order, when it wins. ``on`` sets what wins: ``"first_text"`` (a `TextDelta`
    or a ``str`` chunk), ``"first_content"`` (also reasoning, refusal, tool-call deltas) or
    ``"first_event"`` (anything but a keep-alive). A stream that ends before it produced the
    winning kind of item (a failure, an empty answer) drops out; when all drop out, the last one
    to end is replayed with its outcome. Works for event streams and text streams.
    """
    if not streams:
        raise ValueError("race() needs at least one stream")
    if on not in ("first_text", "first_content", "first_event"):
        raise ValueError(f"unknown race trigger {on!r}")

    def wins(item: Any) -> bool:
        if isinstance(item, str):
            return bool(item)
        kind = getattr(item, "kind", None)
        if kind == "text":
            return bool(item.text)
        if on == "first_content":
            return kind in _CONTENT
        if on == "first_event":
            return kind not in ("keep_alive", "completed", "failed")
        return False

    def subscribe(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        subscriptions = [SingleAssignmentDisposable() for _ in streams]
        held: list[list[Any]] = [[] for _ in streams]
        contenders = set(range(len(streams)))
        winner: int | None = None

        def win(i: int) -> None:
            nonlocal winner
            winner = i
            for j, sub in enumerate(subscriptions):
                if j != i:
                    sub.dispose()
            for item in held[i]:
                observer.on_next(item)
            for items in held:
                items.clear()

        def drop(i: int, outcome: str, value: Any) -> None:
            nonlocal winner
            contenders.discard(i)
            if contenders:
                subscriptions[i].dispose()
                held[i].clear()
                return
            # Everyone dropped out: the last one's story is the outcome.
            winner = -1
            for item in held[i]:
                observer.on_next(item)
            held[i].clear()
            if outcome == "terminal":
                observer.on_next(value)
                observer.on_completed()
            elif outcome == "error":
                observer.on_error(value)
            else:
                observer.on_completed()
            subscriptions[i].dispose()

        def watch(i: int) -> Any:
            def on_next(item: Any) -> None:
                if winner is not None:
                    if winner == i:
                        observer.on_next(item)
                    return
                if i not in contenders:
                    return
                if wins(item):
                    win(i)
                    observer.on_next(item)
                    return
                if getattr(item, "kind", None) in ("completed", "failed"):
                    drop(i, "terminal", item)
                    return
                held[i].append(item)

            def on_error(error: Exception) -> None:
                if winner == i:
                    observer.on_error(error)
                elif winner is None and i in contenders:
                    drop(i, "error", error)

            def on_completed() -> None:
                if winner == i:
                    observer.on_completed()
                elif winner is None and i in contenders:
                    drop(i, "completed", None)

            return on_next, on_error, on_completed

        for i, stream in enumerate(streams):
            if winner is not None:
                break  # decided while subscribing (synchronous sources)
            on_next, on_error, on_completed = watch(i)
            subscriptions[i].disposable = stream.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler
            )
        return CompositeDisposable(*subscriptions)

    return Observable(subscribe)
