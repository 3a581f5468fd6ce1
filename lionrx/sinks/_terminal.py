"""A live region at the bottom of a terminal: text above it is written once, the region is
redrawn in place. The console sink uses it for the pending markdown tail and progress line.

Each update is one write: erase the region (cursor up, clear to the end of the screen), append
the newly committed text, draw the region again. Its cost depends on the region's size (capped
at the terminal's height), never on how much was committed before — no flicker, no slowdown.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from typing import TextIO

__all__ = ["LiveRegion", "cell_width", "fit", "terminal_size", "wrap_rows", "wrap_window"]

# Synchronised output (DEC mode 2026): terminals that know it paint the whole update at once;
# others ignore it.
_SYNC_ON = "\x1b[?2026h"
_SYNC_OFF = "\x1b[?2026l"
_HIDE_CURSOR = "\x1b[?25l"
_SHOW_CURSOR = "\x1b[?25h"
_CLEAR_DOWN = "\x1b[J"


def cell_width(text: str) -> int:
    """Terminal cells taken by ``text`` (wide East Asian characters take two, combining
    marks none)."""
    if text.isascii():
        return len(text)
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _split_cells(line: str, width: int) -> list[str]:
    """Cut one line (no newline in it) into rows of at most ``width`` cells."""
    if line.isascii():
        return [line[i : i + width] for i in range(0, len(line), width)] or [""]
    rows: list[str] = []
    start = 0
    used = 0
    for i, ch in enumerate(line):
        w = (
            0
            if unicodedata.combining(ch)
            else (2 if unicodedata.east_asian_width(ch) in "WF" else 1)
        )
        if used + w > width:
            rows.append(line[start:i])
            start, used = i, 0
        used += w
    rows.append(line[start:])
    return rows


def fit(line: str, width: int) -> str:
    """``line`` cut to at most ``width`` terminal cells."""
    if cell_width(line) <= width:
        return line
    return _split_cells(line, max(width, 1))[0]


def wrap_window(length: int, width: int, max_rows: int) -> int:
    """How many characters at the end of a text of ``length`` characters `wrap_rows` examines
    (about ``2 * max_rows * width``): a caller holding a long text in pieces fetches just these.

    The window starts at a multiple of ``width`` so that rows stay put as text grows.
    """
    if max_rows <= 0:
        return 0
    width = max(width, 1)
    window = max_rows * width * 2
    if length <= window:
        return length
    cut = -(-(length - window) // width) * width
    return length - cut


def wrap_rows(text: str, width: int, max_rows: int, length: int | None = None) -> list[str]:
    """The last ``max_rows`` terminal rows of ``text`` hard-wrapped at ``width`` cells.

    Only the end of ``text`` is examined (about ``max_rows * width`` characters), so the cost
    does not depend on the length of ``text``. ``length``: the length of the whole text when
    ``text`` is only its last ``wrap_window(length, ...)`` characters (rows are then the same).
    """
    if max_rows <= 0:
        return []
    width = max(width, 1)
    total = len(text) if length is None else length
    keep = wrap_window(total, width, max_rows)
    tail = text[len(text) - keep :] if keep < len(text) else text
    lines = tail.split("\n")
    rows: list[str] = []
    for line in reversed(lines):
        rows[:0] = _split_cells(line, width)
        if len(rows) >= max_rows:
            break
    return rows[-max_rows:]


def terminal_size(stream: TextIO, default: tuple[int, int] = (80, 24)) -> tuple[int, int]:
    """(columns, lines) of the terminal behind ``stream``."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return default
    return (size.columns or default[0], size.lines or default[1])


class LiveRegion:
    """Commits text above a redrawable block of rows at the bottom of the terminal.

    ``update(commit, rows)`` appends ``commit`` (written once, never redrawn) and replaces the
    live rows. Rows must fit the width (use `wrap_rows`); at most ``height - 1`` are drawn so
    the cursor can always move back to the region's start.
    """

    def __init__(self, write: Callable[[str], None], size: Callable[[], tuple[int, int]]) -> None:
        self._write = write
        self._size = size
        self._rows = 0
        """Rows of the live region on screen (the cursor is on its last one)."""
        self._lead = False
        """True when the region was started on a new line after an unfinished committed line."""
        self._column = 0
        """Cells of committed text on its last, unfinished line."""
        self._started = False
        self._last_rows: list[str] = []
        self.updates = 0
        self.bytes_written = 0

    @property
    def column(self) -> int:
        """Cells of committed text on the current unfinished line."""
        return self._column

    def _erase(self) -> str:
        if not self._rows:
            return ""
        up = self._rows - 1 + (1 if self._lead else 0)
        out = "\r"
        if up:
            out += f"\x1b[{up}A"
        if self._lead:
            width = self._size()[0]
            out += f"\x1b[{(self._column % width) + 1}G"
        return out + _CLEAR_DOWN

    def _track(self, text: str) -> None:
        newline = text.rfind("\n")
        if newline >= 0:
            self._column = cell_width(text[newline + 1 :])
        else:
            self._column += cell_width(text)

    @property
    def row_width(self) -> int:
        """Cells a live row may take: one less than the terminal's width, so that writing a
        full row never leaves the cursor in the terminal's pending-wrap state."""
        return max(self._size()[0] - 1, 1)

    @property
    def max_rows(self) -> int:
        """Live rows that can be drawn (and erased again) on this terminal."""
        return max(self._size()[1] - 2, 1)

    def update(self, commit: str = "", rows: list[str] | None = None) -> None:
        """Append ``commit`` for good and redraw the live ``rows`` (None: keep them)."""
        if rows is None and not commit:
            return
        if not self._rows and not rows:
            # Nothing live on screen and nothing to draw: plain text, no escape codes.
            if commit:
                self._track(commit)
                self._last_rows = []
                self.updates += 1
                self.bytes_written += len(commit)
                self._write(commit)
            return
        height = self._size()[1]
        parts = []
        if not self._started:
            parts.append(_HIDE_CURSOR)
            self._started = True
        parts.append(_SYNC_ON)
        parts.append(self._erase())
        if commit:
            parts.append(commit)
            self._track(commit)
        live = (rows if rows is not None else self._last_rows)[-max(height - 2, 1) :]
        self._last_rows = live
        self._lead = bool(live) and self._column > 0
        if live:
            if self._lead:
                parts.append("\n")
            parts.append("\n".join(live))
        self._rows = len(live)
        parts.append(_SYNC_OFF)
        data = "".join(parts)
        self.updates += 1
        self.bytes_written += len(data)
        self._write(data)

    def close(self, commit: str = "") -> None:
        """Erase the live rows, append ``commit`` and show the cursor again."""
        data = self._erase() + commit + (_SHOW_CURSOR if self._started else "")
        if commit:
            self._track(commit)
        self._rows = 0
        self._last_rows = []
        self._started = False
        if data:
            self._write(data)
