"""`text()`: an event stream → the text stream of its answer, ending with the stream's outcome."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

from lionrx._errors import LionrxError
from lionrx.operators._common import Operator, attach_partial

__all__ = ["text"]


def text(choice: int | None = 0, source: str | None = None) -> Operator:
    """The answer text as ``str`` chunks; every other event is dropped.

    ::

        events: -Start-T("Hel")-Usage-T("lo")-Completed(r)-|
                  text()
        text:   --------"Hel"---------"lo"--------------------|

        events: -T("Hel")-Failed(e, partial)-|
        text:   -"Hel"---X  (e, with e.partial = partial)

    ``Completed`` becomes ``on_completed``; ``Failed`` becomes ``on_error`` with its error,
    whose ``.partial`` is set to the partial `Response` if it has none. ``choice`` picks one
    choice's text (``None``: every choice, interleaved as received). ``source`` picks one
    labelled stream out of a `merge_labeled` stream (its text and its outcome; other sources
    are ignored) — without it, the first terminal event of any source ends the text stream.
    ``str`` items pass through. Empty deltas are dropped. Anything after the end is ignored.
    A text stream cannot take text back: after a `fallback` restart it holds the failed
    attempt's text, then the new answer — keep the event stream (sinks understand the
    `Fallback` marker) where restarts matter.
    """

    def operator(upstream: Observable[Any]) -> Observable[str]:
        def subscribe(
            observer: abc.ObserverBase[str], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            done = False

            def on_next(item: Any) -> None:
                nonlocal done
                if done:
                    return
                if isinstance(item, str):
                    if item:
                        observer.on_next(item)
                    return
                kind = getattr(item, "kind", None)
                if source is not None and item.source != source:
                    return
                if kind == "text":
                    if item.text and (choice is None or item.choice == choice):
                        observer.on_next(item.text)
                elif kind == "completed":
                    done = True
                    observer.on_completed()
                elif kind == "failed":
                    done = True
                    error = attach_partial(item.error, item.partial)
                    if not isinstance(error, Exception):  # e.g. a KeyboardInterrupt recorded
                        error = LionrxError(repr(error), partial=item.partial)
                    observer.on_error(error)

            def on_error(error: Exception) -> None:
                nonlocal done
                if not done:
                    done = True
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal done
                if not done:
                    done = True
                    observer.on_completed()

            return upstream.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
