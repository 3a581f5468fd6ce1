"""Incremental, I/O-free newline-delimited JSON decoder (Ollama's native stream).

One JSON document per LF-terminated line; a CR before the LF and blank lines are tolerated.
Like the SSE decoder it scans each byte once and keeps a partial line as a list of pieces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lionrx._errors import ProtocolError
from lionrx._json import loads

__all__ = ["NDJSONDecoder"]

_COMPACT = 256  # unterminated-line pieces kept before folding them into one block
_SHOW = 200  # characters of an offending line quoted in an error message


def _excerpt(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    if len(text) > _SHOW:
        return f"{text[:_SHOW]!r}... ({len(line)} bytes)"
    return repr(text)


class NDJSONDecoder:
    """Turns an NDJSON byte stream, fed in any split, into parsed JSON values.

    - `feed(data)` returns the values of the lines ``data`` completes.
    - `close()` ends the stream. A last line without its LF is accepted only if it is a complete
      JSON object or array; anything else is a truncated line and raises `ProtocolError`.

    ``loads`` parses one line (default: `lionrx._json.loads`, orjson when installed; pass
    ``json.loads`` for exact integers beyond 64 bits); it must raise ``ValueError`` on bad input.

    A line that is not valid JSON raises `ProtocolError` naming its line number and quoting it.
    Nothing received before it is lost: if the same `feed` already parsed earlier lines, they
    are returned first and the error is raised by the next `feed` or `close`. After an error
    the decoder stays failed: `feed` raises it again; `close` raises it only if it was never
    raised before (so a ``finally: close()`` does not raise twice).
    """

    __slots__ = ("_blocks", "_error", "_line", "_loads", "_pending", "_reported")

    def __init__(self, *, loads: Callable[[bytes], Any] = loads) -> None:
        self._loads = loads
        self._pending: list[bytes] = []  # pieces of the current unterminated line
        self._blocks: list[bytes] = []  # earlier pieces of it, folded (see `feed`)
        self._line = 0  # number of lines completed so far
        self._error: ProtocolError | None = None
        self._reported = False  # the error has been raised to the caller once

    @property
    def lines(self) -> int:
        """How many complete lines have been read."""
        return self._line

    def feed(self, data: bytes) -> list[Any]:
        """Parse the lines completed by ``data``, in order."""
        if self._error is not None:
            self._reported = True
            raise self._error
        if b"\n" not in data:
            if data:
                pending = self._pending
                pending.append(data)
                if len(pending) >= _COMPACT:
                    # Fold tiny pieces of a long line now and then: memory ~1x, still linear.
                    self._blocks.append(b"".join(pending))
                    pending.clear()
            return []
        lines = data.split(b"\n")
        tail = lines.pop()
        if self._pending or self._blocks:
            lines[0] = self._take(lines[0])
        if tail:
            self._pending.append(tail)
        out: list[Any] = []
        for line in lines:
            self._line += 1
            if not line or line.isspace():
                continue
            try:
                out.append(self._loads(line))
            except ValueError as exc:
                error = ProtocolError(
                    f"invalid JSON on NDJSON line {self._line}: {_excerpt(line)} ({exc})",
                    body=line.decode("utf-8", "replace")[:_SHOW],
                )
                error.__cause__ = exc
                self._error = error
                self._pending.clear()
                self._blocks.clear()
                if not out:
                    self._reported = True
                    raise error from exc
                break
        return out

    def _take(self, last: bytes) -> bytes:
        """Join and forget the pending line, ending it with ``last``."""
        blocks = self._blocks
        blocks.extend(self._pending)
        blocks.append(last)
        line = b"".join(blocks)
        self._blocks = []
        self._pending.clear()
        return line

    def close(self) -> list[Any]:
        """End of stream: return a complete unterminated last value, or report truncation."""
        if self._error is not None:
            if self._reported:
                return []
            self._reported = True
            raise self._error
        if not self._pending and not self._blocks:
            return []
        line = self._take(b"")
        if not line or line.isspace():
            return []
        number = self._line + 1
        value: Any = None
        try:
            value = self._loads(line)
        except ValueError:
            pass
        else:
            if isinstance(value, dict | list):
                self._line = number
                return [value]
        raise ProtocolError(
            f"NDJSON stream ended inside line {number} (truncated, no final newline): "
            f"{_excerpt(line)}",
            body=line.decode("utf-8", "replace")[:_SHOW],
        )
