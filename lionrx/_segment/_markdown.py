"""Incremental markdown block splitting: streamed markdown → committed blocks + a pending tail.

Pure and I/O-free. `MarkdownBlockSplitter.feed` returns the blocks that became final (a
renderer draws them once and never again); `pending` is the unfinished tail (redrawn on each
update). Only complete lines are examined, each once: cost is linear in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["BlockKind", "MarkdownBlock", "MarkdownBlockSplitter"]

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


class MarkdownBlockSplitter:
    """Splits streamed markdown into blocks, committing each as soon as it cannot change.

    A paragraph, quote or table ends at a blank line or where another block starts; a list item
    ends where the next item or another block starts, or at a blank line; a heading or rule
    ends with its line; a fenced code block ends with its closing fence. Blank lines after a
    block belong to it; the block is committed as soon as content follows them (even before
    that line ends). ``close()`` commits what is left.
    """

    __slots__ = ("_partial", "_head", "_lines", "_kind", "_fence", "_after_blank")

    def __init__(self) -> None:
        self._partial: list[str] = []  # pieces of the current, unfinished line
        self._head = ""  # the first few characters of the unfinished line
        self._lines: list[str] = []  # complete lines of the open block
        self._kind: BlockKind | None = None
        self._fence: tuple[str, int] | None = None
        self._after_blank = False  # the open block has had its blank line(s): it is over

    @property
    def pending(self) -> str:
        """The unfinished tail: the open block's lines and the current partial line."""
        return "".join(self._lines) + "".join(self._partial)

    def feed(self, text: str) -> list[MarkdownBlock]:
        """Add text; return the blocks it made final (maybe none)."""
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
