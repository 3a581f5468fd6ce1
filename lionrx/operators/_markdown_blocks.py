"""`markdown_blocks()`: committed markdown blocks plus the pending tail, for flicker-free
rendering."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

from lionrx._segment import MarkdownBlock, MarkdownBlockSplitter, PendingText
from lionrx._segment._markdown import _EMPTY_LOG, EMPTY_PENDING, _TailLog
from lionrx.operators._common import Key, Operator

__all__ = ["MarkdownUpdate", "markdown_blocks"]


class MarkdownUpdate:
    """What changed in a streamed markdown document (immutable).

    A renderer appends ``committed`` blocks once (they never change again) and replaces its
    drawing of the tail with ``pending``. Joining every update's committed texts, plus the last
    ``pending``, gives the whole text; the ``final`` update has an empty ``pending``.

    ``appended`` is the text this update added: without ``committed`` blocks, ``pending`` is the
    previous update's ``pending`` plus ``appended``; with them, their text was cut from the front
    of that (``pending == (previous + appended)[len(committed text):]``). So a consumer that
    keeps the tail itself (or only wants the new text) never needs ``pending``.

    ``pending`` is built lazily, on first access, from a snapshot of the splitter, and the pieces
    are joined once for all later updates: a block that never ends costs O(1) per update
    unless ``pending`` is read on each one (reading it costs O(tail)). ``pending_size`` and
    ``pending_tail(n)`` never build the whole tail: use them to draw a bounded window.
    """

    # Private slots behind read-only properties: immutable, yet built with plain assignments
    # (an update is made per chunk; a guarding __setattr__ would make that 4× slower).
    __slots__ = (
        *("_committed", "_appended", "_final", "_source", "_choice"),
        *("_text", "_log", "_count", "_size"),
    )

    _text: str | None
    _log: _TailLog
    _count: int
    _size: int

    def __init__(
        self,
        committed: tuple[MarkdownBlock, ...],
        pending: str | PendingText = "",
        final: bool = False,
        source: str | None = None,
        choice: int = 0,
        appended: str = "",
    ) -> None:
        self._committed = committed
        self._appended = appended
        self._final = final
        self._source = source
        self._choice = choice
        if isinstance(pending, str):
            self._text = pending
            self._log = _EMPTY_LOG
            self._count = 0
            self._size = len(pending)
        else:
            # The snapshot's parts, not the snapshot: one object per update to keep alive
            # (updates are many; every extra live object costs garbage-collector time).
            self._log, self._count, self._size = pending.parts()
            self._text = None if self._size else ""

    @property
    def committed(self) -> tuple[MarkdownBlock, ...]:
        """Blocks that became final with this update (often none)."""
        return self._committed

    @property
    def appended(self) -> str:
        """The text this update added (the chunk fed; ``""`` for the final update)."""
        return self._appended

    @property
    def final(self) -> bool:
        """True for the last update of a channel: everything is committed."""
        return self._final

    @property
    def source(self) -> str | None:
        """The stream's label (event streams)."""
        return self._source

    @property
    def choice(self) -> int:
        """The choice index (event streams)."""
        return self._choice

    @property
    def pending(self) -> str:
        """The unfinished tail, to redraw (replaces the previous update's ``pending``).
        Built on first access (O(tail), the splitter's pieces joined once), then kept."""
        text = self._text
        if text is None:
            text = self._text = self._log.text(self._count, self._size)
        return text

    @property
    def pending_size(self) -> int:
        """Characters in ``pending``, without building it."""
        return self._size

    def pending_tail(self, n: int) -> str:
        """The last ``n`` characters of ``pending`` in O(n), without building all of it."""
        if n <= 0:
            return ""
        text = self._text
        if text is not None:
            return text[-n:]
        return self._log.tail(self._count, self._size, n)

    def _key(self) -> tuple[Any, ...]:
        return (self.committed, self.pending, self.final, self.source, self.choice, self.appended)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MarkdownUpdate):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        pending = self._text if self._text is not None else self.pending_tail(40)
        return (
            f"MarkdownUpdate(committed={self.committed!r}, pending={pending!r}, "
            f"final={self.final!r}, source={self.source!r}, choice={self.choice!r}, "
            f"appended={self.appended!r})"
        )


def markdown_blocks() -> Operator:
    """Streamed markdown → `MarkdownUpdate` values: newly committed blocks + the pending tail.

    ::

        text: -"# Hi\\n\\nSome "-----"text."------"\\n\\n- a"-------|
                markdown_blocks()
        out:  -U([heading "# Hi\\n\\n"], +"# Hi\\n\\nSome ", pending "Some ")
              ---------------U([], +"text.", pending "Some text.")
              ---------------------------U([paragraph "Some text.\\n\\n"], +"\\n\\n- a",
                                            pending "- a")
              ------------------------------------------U([list_item "- a"], pending "", final)|

    One update per text chunk (``+"..."``: its ``appended`` text); a final update
    (``final=True``) commits the tail on completion, before a terminal event, and on error (then
    the error passes on). Blocks: paragraphs, headings, list items, quotes, tables, rules and
    whole fenced code blocks (see `lionrx._segment.MarkdownBlockSplitter`). On an event stream
    each `TextDelta` becomes an update for its source and choice; other events pass through in
    order.

    Cost is linear in the text even when a block never ends (one endless paragraph): an update
    carries ``appended`` and an O(1) snapshot of the tail, not the joined tail; ``pending`` is
    joined only when read. Read it when you draw (or use ``pending_tail(n)`` for a bounded
    window), not on every update, if blocks may be long.
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
                # A snapshot, not the joined tail: O(1) per chunk however long the block.
                observer.on_next(
                    MarkdownUpdate(tuple(blocks), splitter.pending_text, False, src, choice, piece)
                )

            def flush(key: Key | None = None, every: bool = True) -> None:
                keys = list(splitters) if every else [key] if key in splitters else []
                for k in keys:
                    blocks = splitters.pop(k).close()
                    src, choice = k if k is not None else (None, 0)
                    observer.on_next(
                        MarkdownUpdate(tuple(blocks), EMPTY_PENDING, True, src, choice)
                    )

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
                if kind == "completed" or kind == "failed" or kind == "fallback":
                    # A `Fallback` marker ends the failed attempt: commit its tail before the
                    # marker, so a restart never glues the old text onto the new answer.
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
