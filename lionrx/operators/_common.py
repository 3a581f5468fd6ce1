"""Shared plumbing for the operators: both stream shapes, re-chunking, partial answers.

An operator here sees either a text stream (``str`` items) or an event stream (lionrx events);
`rechunk` turns any pure ``feed``/``close`` re-chunker into an operator for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from lionrx._errors import LionrxError
from lionrx._events import Response, ResponseBuilder, TextDelta

__all__ = [
    "Key",
    "Operator",
    "Rechunker",
    "attach_partial",
    "rechunk",
    "text_delta",
    "text_response",
]

Operator: TypeAlias = Callable[[Observable[Any]], Observable[Any]]
"""What ``observable.pipe(...)`` takes."""

Key: TypeAlias = tuple[str | None, int]
"""A text channel of an event stream: (source label, choice index)."""


class Rechunker(Protocol):
    """A pure re-chunker: text in any split → pieces; joining the pieces gives the text back."""

    def feed(self, text: str) -> list[str]: ...

    def close(self) -> list[str]: ...


def text_delta(text: str, source: str | None, choice: int) -> TextDelta:
    """A `TextDelta` without validation (its data comes from a validated event)."""
    return TextDelta.model_construct(text=text, source=source, choice=choice)


def text_response(parts: list[str]) -> Response:
    """The partial `Response` of a text stream: its text so far as choice 0."""
    builder = ResponseBuilder()
    if parts:
        builder.add(text_delta("".join(parts), None, 0))
    return builder.finish()


def attach_partial(error: BaseException, partial: Response) -> BaseException:
    """Give ``error`` a ``.partial`` (the answer so far) unless it already has one."""
    if isinstance(error, LionrxError):
        if error.partial is None:
            error.partial = partial
    elif getattr(error, "partial", None) is None:
        try:
            error.partial = partial  # type: ignore[attr-defined]
        except AttributeError:  # exceptions with __slots__: leave them as they are
            pass
    return error


def rechunk(factory: Callable[[], Rechunker]) -> Operator:
    """An operator that re-chunks text with a fresh re-chunker per text channel: build your
    own text-reshaping operator from a pure `Rechunker` (``feed(text) -> pieces``,
    ``close() -> pieces``).

    ::

        text:  -"a,b"-",c"-"d"-|
                 rechunk(CommaSplitter)          (pieces end after each comma)
        out:   -"a,"-"b,"-"c,"--"d"|

    ``str`` items → ``str`` pieces. Events: each (source, choice) channel of `TextDelta` is
    re-chunked on its own; other events pass through in order. A channel's pending text is
    flushed before its `Finish`, all pending text before a terminal event or a `Fallback`
    marker, on completion and on error (before the error is passed on).
    """

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            plain: list[Rechunker] = []
            channels: dict[Key, Rechunker] = {}

            def flush(key: Key | None = None) -> None:
                if plain:
                    for piece in plain[0].close():
                        observer.on_next(piece)
                    plain.clear()
                keys = list(channels) if key is None else [key] if key in channels else []
                for k in keys:
                    for piece in channels.pop(k).close():
                        observer.on_next(text_delta(piece, k[0], k[1]))

            def on_next(item: Any) -> None:
                if isinstance(item, str):
                    if not plain:
                        plain.append(factory())
                    for piece in plain[0].feed(item):
                        observer.on_next(piece)
                    return
                kind = getattr(item, "kind", None)
                if kind == "text":
                    key = (item.source, item.choice)
                    chunker = channels.get(key)
                    if chunker is None:
                        chunker = channels[key] = factory()
                    for piece in chunker.feed(item.text):
                        observer.on_next(text_delta(piece, key[0], key[1]))
                    return
                if kind == "completed" or kind == "failed" or kind == "fallback":
                    # A `Fallback` marker ends the failed attempt: its pending text goes out
                    # before the marker (a sink drops it with the rest on a restart), and the
                    # next stream starts with fresh re-chunkers.
                    flush()
                elif kind == "finish":
                    flush((item.source, item.choice))
                observer.on_next(item)

            def on_error(error: Exception) -> None:
                flush()
                observer.on_error(error)

            def on_completed() -> None:
                flush()
                observer.on_completed()

            return CompositeDisposable(
                source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)
            )

        return Observable(subscribe)

    return operator
