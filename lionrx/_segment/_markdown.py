"""Incremental markdown block splitting: streamed markdown → committed blocks + a pending tail.

Pure and I/O-free. `MarkdownBlockSplitter.feed` returns the blocks that became final (a
renderer draws them once and never again); the pending tail is the unfinished rest (redrawn on
each update). Only complete lines are examined, each once: cost is linear in the text.

The pending tail of a block that never ends grows without bound, so it is never joined per
chunk: `MarkdownBlockSplitter.pending_text` is an O(1) snapshot (`PendingText`) whose string
is materialised only when asked for, folding the new pieces once, and whose last ``n``
characters (`PendingText.tail`) cost O(n) — what a renderer with a bounded window needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["BlockKind", "MarkdownBlock", "MarkdownBlockSplitter", "PendingText"]

BlockKind = Literal["paragraph", "heading", "list_item", "code", "quote", "table", "rule", "blank"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_LIST = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_QUOTE = re.compile(r"^ {0,3}>")
_TABLE = re.compile(r"^ {0,3}\|")
# Prefixes of a line that already show it starts a new block (its end is not needed).
_HEADING_START = re.compile(r"^ {0,3}#{1,6}[ \t]")
# (A list marker needs content after it: "- " alone under a paragraph is a setext underline.)
_LIST_START = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S")
_HEAD = 16


@dataclass(frozen=True, slots=True)
class MarkdownBlock:
    """One finished markdown block, exactly as it appeared in the text (with its line breaks and
    any blank lines after it), so joining blocks gives back the text."""

    text: str
    """The block's source text."""
    kind: BlockKind
    """What the block is: ``paragraph``, ``heading``, ``list_item``, ``code`` (a whole fenced
    block, fences included), ``quote``, ``table``, ``rule`` or ``blank`` (blank lines before
    any content)."""


class _TailLog:
    """The pieces of one pending tail, append-only between two commits (a commit starts a new
    log, so snapshots of the old one stay valid). Pieces are joined lazily and only once: a
    read folds the pieces added since the previous read into ``joined`` and drops them."""

    __slots__ = ("pieces", "folded", "joined", "size")

    def __init__(self, pieces: list[str], size: int) -> None:
        self.pieces = pieces
        """Pieces after the first ``folded`` ones (those are in ``joined``)."""
        self.folded = 0
        self.joined = ""
        self.size = size
        """Characters in the whole log."""

    def append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.size += len(piece)

    def text(self, count: int, size: int) -> str:
        """The first ``count`` pieces (``size`` characters), joined."""
        folded = self.folded
        if count > folded:
            new = count - folded
            self.joined += "".join(self.pieces[:new])
            del self.pieces[:new]
            self.folded = count
        joined = self.joined
        return joined if len(joined) == size else joined[:size]

    def tail(self, count: int, size: int, n: int) -> str:
        """The last ``n`` characters of the first ``count`` pieces (``size`` characters).
        Costs O(n): only the pieces at the end are visited (and nothing is folded)."""
        if n <= 0:
            return ""
        if n >= size:
            return self.text(count, size)
        parts: list[str] = []
        got = 0
        i = count - self.folded
        pieces = self.pieces
        while got < n and i > 0:
            i -= 1
            piece = pieces[i]
            if got + len(piece) > n:
                piece = piece[len(piece) - (n - got) :]  # a big piece: only its end
            parts.append(piece)
            got += len(piece)
        if got < n:
            # The rest is in ``joined``, which starts with the first ``size - got`` characters.
            end = size - got
            parts.append(self.joined[end - (n - got) : end])
        parts.reverse()
        return "".join(parts)


class PendingText:
    """A snapshot of a splitter's pending tail, taken in O(1); the text is built only when
    asked for (``str(snapshot)``), joining the pieces once (later snapshots reuse the join).

    It stays valid (and unchanged) while the splitter goes on. ``len()`` is O(1);
    ``tail(n)`` returns the last ``n`` characters in O(n), whatever the tail's length.
    """

    __slots__ = ("_log", "_count", "_size")

    def __init__(self, log: _TailLog, count: int, size: int) -> None:
        self._log = log
        self._count = count
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __str__(self) -> str:
        if not self._size:
            return ""
        return self._log.text(self._count, self._size)

    def __repr__(self) -> str:
        return f"PendingText({self.tail(40)!r}, size={self._size})"

    def tail(self, n: int) -> str:
        """The last ``n`` characters (all of them when the tail is shorter)."""
        return self._log.tail(self._count, self._size, n)

    def parts(self) -> tuple[_TailLog, int, int]:
        """(log, pieces, characters): for holders of many snapshots that keep the parts."""
        return self._log, self._count, self._size


_EMPTY_LOG = _TailLog([], 0)
EMPTY_PENDING = PendingText(_EMPTY_LOG, 0, 0)


class MarkdownBlockSplitter:
    """Splits streamed markdown into blocks, committing each as soon as it cannot change.

    A paragraph, quote or table ends at a blank line or where another block starts; a list item
    ends where the next item or another block starts, or at a blank line; a heading or rule
    ends with its line; a fenced code block ends with its closing fence. Blank lines after a
    block belong to it; the block is committed as soon as content follows them (even before
    that line ends). ``close()`` commits what is left.
    """

    __slots__ = ("_partial", "_head", "_lines", "_kind", "_fence", "_after_blank", "_log")

    def __init__(self) -> None:
        self._partial: list[str] = []  # pieces of the current, unfinished line
        self._head = ""  # the first few characters of the unfinished line
        self._lines: list[str] = []  # complete lines of the open block
        self._kind: BlockKind | None = None
        self._fence: tuple[str, int] | None = None
        self._after_blank = False  # the open block has had its blank line(s): it is over
        # The pending tail (open block's lines + partial line) as a lazily joined log: the
        # text fed since the last commit. Kept apart from the parsing state so that reading
        # the tail never costs more than the text added since the last read.
        self._log = _TailLog([], 0)

    @property
    def pending(self) -> str:
        """The unfinished tail: the open block's lines and the current partial line.

        Materialising a string costs O(tail) whenever text arrived since the last read: to
        follow a block that may never end, read it when drawing (not per chunk), or use
        `pending_text` (its ``len`` and ``tail(n)`` never join the whole tail).
        """
        log = self._log
        return log.text(log.folded + len(log.pieces), log.size)

    @property
    def pending_text(self) -> PendingText:
        """An O(1) snapshot of the pending tail (see `PendingText`)."""
        log = self._log
        return PendingText(log, log.folded + len(log.pieces), log.size)

    @property
    def pending_size(self) -> int:
        """Characters in the pending tail (O(1))."""
        return self._log.size

    def pending_tail(self, n: int) -> str:
        """The last ``n`` characters of the pending tail, in O(n)."""
        log = self._log
        return log.tail(log.folded + len(log.pieces), log.size, n)

    def reset(self) -> None:
        """Forget the open block and partial line (nothing is committed): start afresh."""
        self._partial = []
        self._head = ""
        self._lines = []
        self._kind = None
        self._fence = None
        self._after_blank = False
        self._log = _TailLog([], 0)

    def feed(self, text: str) -> list[MarkdownBlock]:
        """Add text; return the blocks it made final (maybe none)."""
        out = self._feed(text)
        if out:
            # A commit cut the tail's front: a new log holds what is still pending (the
            # current block's first line or so; each character is copied here at most once).
            pieces = self._lines + self._partial
            self._log = _TailLog(pieces, sum(map(len, pieces)))
        elif text:
            self._log.append(text)
        return out

    def _feed(self, text: str) -> list[MarkdownBlock]:
        out: list[MarkdownBlock] = []
        start = 0
        while True:
            nl = text.find("\n", start)
            if nl < 0:
                if start < len(text):
                    rest = text[start:]
                    self._partial.append(rest)
                    if self._lines and self._fence is None and self._ends_open_block(rest):
                        # The line being written cannot join the open block: commit the block
                        # now rather than when this line ends.
                        self._commit(out)
                return out
            if self._partial:
                self._partial.append(text[start : nl + 1])
                line = "".join(self._partial)
                self._partial = []
                self._head = ""
            else:
                line = text[start : nl + 1]
            self._line(line, out)
            start = nl + 1

    def close(self) -> list[MarkdownBlock]:
        """End of text: commit the open block and the partial line."""
        out: list[MarkdownBlock] = []
        if self._partial:
            line = "".join(self._partial)
            self._partial = []
            self._head = ""
            self._line(line, out)
        self._commit(out)
        self._fence = None
        self._log = _TailLog([], 0)
        return out

    def _ends_open_block(self, piece: str) -> bool:
        """Whether the unfinished line (now ending with ``piece``) already shows that it
        cannot join the open block. Only its first characters matter, so only they are kept."""
        if self._after_blank:
            return not piece.isspace()
        if len(self._head) >= _HEAD:
            return False
        self._head = (self._head + piece)[:_HEAD]
        head = self._head
        if _FENCE.match(head) or _HEADING_START.match(head) or _LIST_START.match(head):
            return True
        if self._kind != "quote" and _QUOTE.match(head):
            return True
        return self._kind != "table" and _TABLE.match(head) is not None

    def _commit(self, out: list[MarkdownBlock]) -> None:
        if self._lines:
            assert self._kind is not None
            out.append(MarkdownBlock("".join(self._lines), self._kind))
        self._lines = []
        self._kind = None
        self._after_blank = False

    def _open(self, line: str, kind: BlockKind) -> None:
        self._lines = [line]
        self._kind = kind

    def _line(self, line: str, out: list[MarkdownBlock]) -> None:
        if self._fence is not None:
            self._lines.append(line)
            ch, length = self._fence
            body = line.strip()
            if body and len(body) >= length and body == ch * len(body):
                self._fence = None
                self._after_blank = True  # closed: blank lines may still join it
            return
        if not line.strip():
            if self._kind is None:
                self._open(line, "blank")
            else:
                self._lines.append(line)
            self._after_blank = True
            return
        content = line.rstrip("\r\n")
        fence = _FENCE.match(content)
        if fence:
            self._commit(out)
            marker = fence.group(1)
            self._open(line, "code")
            self._fence = (marker[0], len(marker))
            return
        kind = self._kind
        if kind == "paragraph" and not self._after_blank and _SETEXT.match(content):
            self._lines.append(line)
            self._kind = "heading"
            self._after_blank = True  # nothing but blank lines may join a heading
            return
        if _HEADING.match(content):
            self._commit(out)
            self._open(line, "heading")
            self._after_blank = True
            return
        if _RULE.match(content):
            self._commit(out)
            self._open(line, "rule")
            self._after_blank = True
            return
        if _LIST.match(content):
            self._commit(out)
            self._open(line, "list_item")
            return
        if _QUOTE.match(content):
            if kind == "quote" and not self._after_blank:
                self._lines.append(line)
            else:
                self._commit(out)
                self._open(line, "quote")
            return
        if _TABLE.match(content):
            if kind == "table" and not self._after_blank:
                self._lines.append(line)
            else:
                self._commit(out)
                self._open(line, "table")
            return
        # Plain text: continues an open paragraph, list item (lazy or indented continuation)
        # or quote; otherwise starts a paragraph.
        if kind in ("paragraph", "list_item", "quote") and not self._after_blank:
            self._lines.append(line)
            return
        if kind == "code" or self._after_blank or kind is not None:
            self._commit(out)
        self._open(line, "paragraph")
