"""`accumulate()`: running snapshots of the whole text so far, for UIs that redraw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reactivex import Observable, abc

from lionrx.operators._common import Key, Operator

__all__ = ["Snapshot", "accumulate"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole text of one channel (source and choice) so far, after one more delta."""

    text: str
    """Everything received so far, joined."""
    delta: str
    """The piece that was just added (``text`` ends with it)."""
    source: str | None = None
    """The stream's label (the event's ``source``)."""
    choice: int = 0
    """The choice index."""


def accumulate() -> Operator:
    """Running snapshots: after each text chunk, the whole text so far.

    ::

        text:   -"He"-"llo"-" you"-|
                  accumulate()
        out:    -"He"-"Hello"-"Hello you"-|

        events: -Start-T("He")-T("llo")-Completed-|
        out:    -Start-Snapshot("He")-Snapshot("Hello")-Completed-|

    On a text stream the snapshots are ``str``. On an event stream each `TextDelta` becomes a
    `Snapshot` (text so far, the delta, source, choice), one per channel; other events,
    terminal ones included, pass through unchanged. After a `fallback` marker the next stream's
    snapshots start from the text it continues (``mode="continue"``) or from nothing
    (``mode="restart"``). Each snapshot is emitted at once, so there
    is nothing to flush: the end and errors pass straight on. Each snapshot is a new string
    (one copy of the text so far per chunk: what a redrawing UI needs anyway).
    """

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            plain = ""
            texts: dict[Key, str] = {}
            # After a `Fallback`: the text each choice of the next stream starts from (its
            # label may differ from the failed stream's): the prefix it continues, or nothing.
            carry: dict[int, str] = {}

            def on_next(item: Any) -> None:
                nonlocal plain
                if isinstance(item, str):
                    if item:
                        plain += item
                        observer.on_next(plain)
                    return
                if getattr(item, "kind", None) == "text":
                    if not item.text:
                        return
                    key = (item.source, item.choice)
                    before = texts.get(key)
                    if before is None:
                        before = carry.pop(item.choice, "")
                    whole = before + item.text
                    texts[key] = whole
                    observer.on_next(Snapshot(whole, item.text, key[0], key[1]))
                    return
                if getattr(item, "kind", None) == "fallback":
                    for key in [k for k in texts if k[0] == item.source]:
                        del texts[key]
                    carry.clear()
                    if item.mode == "continue" and item.prefix:
                        carry[0] = item.prefix
                observer.on_next(item)

            return source.subscribe(
                on_next, observer.on_error, observer.on_completed, scheduler=scheduler
            )

        return Observable(subscribe)

    return operator
