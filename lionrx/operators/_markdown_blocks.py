"""`markdown_blocks()`: committed markdown blocks plus the pending tail, for flicker-free
rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reactivex import Observable, abc

from lionrx._segment import MarkdownBlock, MarkdownBlockSplitter
from lionrx.operators._common import Key, Operator

__all__ = ["MarkdownUpdate", "markdown_blocks"]


@dataclass(frozen=True, slots=True)
class MarkdownUpdate:
    """What changed in a streamed markdown document.

    A renderer appends ``committed`` blocks once (they never change again) and replaces its
    drawing of the tail with ``pending``. Joining every update's committed texts, plus the last
    ``pending``, gives the whole text; the ``final`` update has an empty ``pending``.
    """

    committed: tuple[MarkdownBlock, ...]
    """Blocks that became final with this update (often none)."""
    pending: str
    """The unfinished tail, to redraw (replaces the previous update's ``pending``)."""
    final: bool = False
    """True for the last update of a channel: everything is committed."""
    source: str | None = None
    """The stream's label (event streams)."""
    choice: int = 0
    """The choice index (event streams)."""


def markdown_blocks() -> Operator:
    """Streamed markdown → `MarkdownUpdate` values: newly committed blocks + the pending tail.

    ::

        text: -"# Hi\\n\\nSome "----------"text.\\n\\n- a"--------------|
                markdown_blocks()
        out:  -U([heading "# Hi\\n\\n"], "Some ")
              ---------------------U([paragraph "Some text.\\n\\n"], "- a")
              -------------------------------------------U([list_item "- a"], "", final)|

    One update per text chunk; a final update (``final=True``) commits the tail on completion,
    before a terminal event, and on error (then the error passes on). Blocks: paragraphs,
    headings, list items, quotes, tables, rules and whole fenced code blocks (see
    `lionrx._segment.MarkdownBlockSplitter`). On an event stream each `TextDelta` becomes an
    update for its source and choice; other events pass through in order.
    """

    def operator(source: Observable[Any]) -> Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            splitters: dict[Key | None, MarkdownBlockSplitter] = {}

            def update(key: Key | None, piece: str) -> None:
                splitter = splitters.get(key)
                if splitter is None:
                    splitter = splitters[key] = MarkdownBlockSplitter()
                blocks = splitter.feed(piece)
                src, choice = key if key is not None else (None, 0)
                observer.on_next(
                    MarkdownUpdate(tuple(blocks), splitter.pending, False, src, choice)
                )

            def flush(key: Key | None = None, every: bool = True) -> None:
                keys = list(splitters) if every else [key] if key in splitters else []
                for k in keys:
                    blocks = splitters.pop(k).close()
                    src, choice = k if k is not None else (None, 0)
                    observer.on_next(MarkdownUpdate(tuple(blocks), "", True, src, choice))

            def on_next(item: Any) -> None:
                if isinstance(item, str):
                    if item:
                        update(None, item)
                    return
                kind = getattr(item, "kind", None)
                if kind == "text":
                    if item.text:
                        update((item.source, item.choice), item.text)
                    return
                if kind == "completed" or kind == "failed":
                    flush()
                elif kind == "finish":
                    flush((item.source, item.choice), every=False)
                observer.on_next(item)

            def on_error(error: Exception) -> None:
                flush()
                observer.on_error(error)

            def on_completed() -> None:
                flush()
                observer.on_completed()

            return source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

        return Observable(subscribe)

    return operator
