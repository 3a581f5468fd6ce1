"""`merge_labeled()`: several model streams in parallel, each event tagged with its label."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from lionrx._errors import StreamCancelled
from lionrx._events import Completed, Failed, Response, ResponseBuilder
from lionrx.operators._common import attach_partial, text_delta

__all__ = ["merge_labeled"]

_Handlers: TypeAlias = tuple[Callable[[Any], None], Callable[[Exception], None], Callable[[], None]]


def _relabel_response(response: Response, label: str) -> Response:
    if response.source == label:
        return response
    return response.model_copy(update={"source": label})


def _tag(item: Any, label: str) -> Any:
    kind = item.kind
    if kind == "completed":
        return item.model_copy(
            update={"source": label, "response": _relabel_response(item.response, label)}
        )
    if kind == "failed":
        return item.model_copy(
            update={"source": label, "partial": _relabel_response(item.partial, label)}
        )
    if item.source == label:
        return item
    return item.model_copy(update={"source": label})


def merge_labeled(
    sources: Mapping[str, Observable[Any]], fail_fast: bool = False
) -> Observable[Any]:
    """Runs every stream at once and merges their events, each tagged ``source=<label>``.

    ::

        gpt:    -S-T("a")------T("b")-Completed-|
        claude: ---S----T("x")-Failed(e)-|
                  merge_labeled({"gpt": gpt, "claude": claude})
        out:    -S-S-T("a")-T("x")-Failed(e, source="claude")-T("b")-Completed(source="gpt")-|

    Each source's terminal event passes through, tagged, where it happens: the merged stream
    carries every source's outcome, then completes once all sources have ended. A source that
    fails does not stop the others, unless ``fail_fast``: then the others are disposed (their
    connections closed) and each gets ``Failed(StreamCancelled, partial=<its answer so far>)``.
    ``str`` items become `TextDelta` (choice 0); a source that completes without a terminal
    event gets a `Completed` with its answer, and one that errors gets a `Failed` (the error's
    ``.partial`` set), so the result is always a proper event stream.
    """
    labels = list(sources)

    def subscribe(
        observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        builders = {label: ResponseBuilder(source=label) for label in labels}
        subscriptions = {label: SingleAssignmentDisposable() for label in labels}
        live = set(labels)

        def end(label: str, terminal: Any) -> None:
            live.discard(label)
            observer.on_next(terminal)
            if fail_fast and terminal.kind == "failed":
                for other in [x for x in labels if x in live]:
                    live.discard(other)
                    subscriptions[other].dispose()
                    partial = builders[other].finish()
                    error = StreamCancelled(
                        f"cancelled: {label!r} failed (fail_fast)", partial=partial
                    )
                    observer.on_next(
                        Failed.model_construct(error=error, partial=partial, source=other)
                    )
            if not live:
                observer.on_completed()

        def watch(label: str) -> _Handlers:
            builder = builders[label]

            def on_next(item: Any) -> None:
                if label not in live:
                    return
                event: Any
                if isinstance(item, str):
                    if not item:
                        return
                    event = text_delta(item, label, 0)
                else:
                    event = _tag(item, label)
                kind = event.kind
                if kind == "completed" or kind == "failed":
                    end(label, event)
                    return
                builder.add(event)
                observer.on_next(event)

            def on_error(error: Exception) -> None:
                if label not in live:
                    return
                partial = builder.finish()
                attach_partial(error, partial)
                end(label, Failed.model_construct(error=error, partial=partial, source=label))

            def on_completed() -> None:
                if label not in live:
                    return
                response = builder.finish()
                end(label, Completed.model_construct(response=response, source=label))

            return on_next, on_error, on_completed

        if not labels:
            observer.on_completed()
        for label in labels:
            if label not in live:
                continue  # fail_fast already ended it while an earlier source subscribed
            on_next, on_error, on_completed = watch(label)
            subscriptions[label].disposable = sources[label].subscribe(
                on_next, on_error, on_completed, scheduler=scheduler
            )
        return CompositeDisposable(*subscriptions.values())

    return Observable(subscribe)
