"""`fallback()`: when a stream fails, go on with the next one — restarting, or continuing the
text already shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeAlias

from reactivex import Observable, abc
from reactivex.disposable import SerialDisposable, SingleAssignmentDisposable

from lionrx._events import Completed, Failed, Fallback, Response, ResponseBuilder
from lionrx.operators._common import attach_partial, text_delta

__all__ = [
    "FallbackStream",
    "fallback",
    "fallback_mode",
]

FallbackStream: TypeAlias = Observable[Any] | Callable[[str], Observable[Any]]
"""A stream to fall back on: an Observable (it can only start over), or a factory called with
the answer text so far (``""`` when starting over) that returns a stream continuing it."""


def fallback_mode(event: object) -> Literal["restart", "continue"] | None:
    """``"restart"`` or ``"continue"`` when ``event`` is a `Fallback` event, else None."""
    if isinstance(event, Fallback):
        return event.mode
    return None


def _with_text(response: Response, text: str) -> Response:
    texts = dict(response.texts)
    texts[0] = text
    return response.model_copy(update={"texts": texts})


def fallback(*streams: FallbackStream) -> Observable[Any]:
    """Runs the first stream; when it fails, goes on with the next, and so on.

    ::

        a:   -Start-T("The ")-T("cat")-Failed(e)|
        b(prefix="The cat"):              -Start-T(" sat.")-Completed(r)-|
               fallback(a, lambda prefix: b(prefix))
        out: -Start-T("The ")-T("cat")-Fallback(continue, e)-Start-T(" sat.")
             -Completed(r with text "The cat sat.")-|

    - A failure before any answer text: the next stream starts over.
    - A failure after text was emitted: if the next entry is a factory, it is called with the
      text so far and its stream continues it (give the model the text as an assistant
      prefix: ``lambda prefix: model_b.stream(messages=msgs + [{"role": "assistant",
      "content": prefix}])``); a plain Observable starts over.

    Between attempts a `lionrx.events.Fallback` event says how the next stream takes over:
    ``mode="continue"`` (keep the text shown; ``prefix`` holds it) or ``mode="restart"``
    (discard it), with the failure as ``error`` and the failed stream's ``source``; sinks use
    it to tell a continuation from a restart (`fallback_mode` reads it). The final
    `Completed` carries the whole text (prefix + continuation) in ``response.texts[0]``.
    When the last stream fails too, its
    `Failed` ends the stream, its partial holding the whole text. ``on_error`` from a stream
    counts as a failure; ``str`` items become `TextDelta`. Only choice 0 is continued.
    """
    if not streams:
        raise ValueError("fallback() needs at least one stream")

    def subscribe(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        current = SerialDisposable()
        shown: list[str] = []  # answer text (choice 0) emitted since the last restart
        attempt = -1

        def start(index: int) -> None:
            nonlocal attempt
            attempt = index
            spec = streams[index]
            base = "".join(shown)
            stream = spec if isinstance(spec, Observable) else spec(base)
            builder = ResponseBuilder()
            label: list[str | None] = [None]
            completed = [False]

            def on_next(item: Any) -> None:
                if attempt != index:
                    return
                if isinstance(item, str):
                    if not item:
                        return
                    item = text_delta(item, None, 0)
                kind = item.kind
                if kind == "completed":
                    completed[0] = True
                    if base:
                        response = _with_text(item.response, base + item.response.text)
                        item = item.model_copy(update={"response": response})
                    observer.on_next(item)
                    return
                if kind == "failed":
                    fail(index, item.error, item.partial, item.source or label[0])
                    return
                if item.source is not None:
                    label[0] = item.source
                builder.add(item)
                if kind == "text" and item.choice == 0 and item.text:
                    shown.append(item.text)
                observer.on_next(item)

            def on_error(error: Exception) -> None:
                if attempt == index:
                    fail(index, error, builder.finish(), label[0])

            def on_completed() -> None:
                if attempt != index:
                    return
                if not completed[0]:
                    # A text stream (no terminal event) ended: that is success; say so as an
                    # event, since the output is an event stream.
                    builder.source = label[0]
                    response = builder.finish()
                    if base:
                        response = _with_text(response, base + response.text)
                    observer.on_next(Completed.model_construct(response=response, source=label[0]))
                observer.on_completed()

            subscription = SingleAssignmentDisposable()
            current.disposable = subscription
            subscription.disposable = stream.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler
            )

        def fail(index: int, error: BaseException, partial: Response, label: str | None) -> None:
            current.disposable = SingleAssignmentDisposable()  # drops the failed stream
            so_far = "".join(shown)
            if index + 1 >= len(streams):
                whole = _with_text(partial, so_far) if so_far else partial
                attach_partial(error, whole)
                observer.on_next(Failed.model_construct(error=error, partial=whole, source=label))
                observer.on_completed()
                return
            nxt = streams[index + 1]
            if so_far and not isinstance(nxt, Observable):
                switch = Fallback.model_construct(
                    mode="continue", error=error, attempt=index + 1, prefix=so_far, source=label
                )
            else:
                shown.clear()
                switch = Fallback.model_construct(
                    mode="restart", error=error, attempt=index + 1, source=label
                )
            observer.on_next(switch)
            start(index + 1)

        start(0)
        return current

    return Observable(subscribe)
