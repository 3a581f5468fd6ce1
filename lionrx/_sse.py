"""Incremental, I/O-free Server-Sent Events decoder (WHATWG HTML §9.2.5-9.2.6).

Bytes go in with `SSEDecoder.feed` in any split; dispatched `ServerSentEvent`s come out. The
transport only drives it. Cost is linear in the bytes however they are split: each byte is
decoded once and scanned for line ends once; a partial line is kept as a list of pieces and
joined once when its end arrives.
"""

from __future__ import annotations

from codecs import utf_8_decode
from typing import NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent"]

_COMPACT = 256  # unterminated-line pieces kept before folding them into one block


class ServerSentEvent(NamedTuple):
    """One dispatched event (a NamedTuple: it is built once per event on the hot path)."""

    event: str = "message"
    """The event type: the last ``event:`` field of the block, or ``"message"``."""
    data: str = ""
    """The ``data:`` lines of the block joined with LF."""
    id: str = ""
    """The last event ID string at dispatch time (persists across events; ``""`` if unset)."""
    retry: int | None = None
    """The last valid ``retry:`` value in this event's block, or None."""


_new_event = tuple.__new__


def _parse_retry(value: str) -> int | None:
    # int() alone accepts "+5", " 5", "1_0" and non-ASCII digits; SSE wants ASCII digits only.
    if value and value.isascii() and value.isdigit():
        return int(value)
    return None


class SSEDecoder:
    """Turns an SSE byte stream, fed in any split, into `ServerSentEvent`s.

    - `feed(data)` returns the events completed by ``data`` (often none, sometimes several).
    - `close()` ends the stream. Per the spec an event without its final blank line is
      discarded, so it returns ``[]``; it then resets the per-connection state (partial line,
      BOM, buffers) so the decoder can read a reconnection. ``last_event_id`` and
      ``reconnection_time`` persist, as they do for an ``EventSource``.

    Comments (lines starting with ``:``, the keep-alives servers send) produce no event; the
    decoder counts them in ``comments`` instead. A transport that wants to surface keep-alives
    compares ``comments`` before and after `feed` (an int compare per chunk, nothing per event).
    ``last_comment`` holds the text of the latest one, without its leading colon.

    Invalid UTF-8 becomes U+FFFD and never raises (WHATWG UTF-8 decode).
    """

    __slots__ = (
        "_blocks",
        "_bom",
        "_cr",
        "_data",
        "_event",
        "_pending",
        "_raw",
        "_retry",
        "comments",
        "last_comment",
        "last_event_id",
        "reconnection_time",
    )

    def __init__(self) -> None:
        self.last_event_id = ""
        """The last event ID buffer: what a reconnect sends as ``Last-Event-ID``."""
        self.reconnection_time: int | None = None
        """The last valid ``retry:`` value of the stream in milliseconds, or None."""
        self.comments = 0
        """How many comment lines have been seen in total."""
        self.last_comment = ""
        self._reset()

    def _reset(self) -> None:
        self._raw = b""  # undecoded tail: an incomplete UTF-8 sequence (at most 3 bytes)
        self._bom = True  # still at offset 0: a leading U+FEFF is stripped once
        self._cr = False  # the last text ended in CR: a following LF belongs to it
        self._pending: list[str] = []  # pieces of the current unterminated line
        self._blocks: list[str] = []  # earlier pieces of it, folded (see `feed`)
        self._data: list[str] = []  # data buffer as a list of values (joined with LF)
        self._event = ""
        self._retry: int | None = None

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode ``data`` and return the events it completes, in order."""
        if self._raw:
            data = self._raw + data
        text, used = utf_8_decode(data, "replace", False)
        self._raw = data[used:] if used != len(data) else b""
        if not text:
            return []
        if self._bom:
            self._bom = False
            if text[0] == "\ufeff":
                text = text[1:]
                if not text:
                    return []
        if self._cr:
            self._cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            # A CR at the very end may be the first half of a CRLF split across chunks:
            # it ends the line now, and a LF opening the next chunk is skipped.
            self._cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        elif "\n" not in text:
            pending = self._pending
            pending.append(text)
            if len(pending) >= _COMPACT:
                # Tiny chunks of a long line: fold them into one block now and then, so memory
                # stays ~1x the line; every character is copied at most twice (linear).
                self._blocks.append("".join(pending))
                pending.clear()
            return []
        lines = text.split("\n")
        tail = lines.pop()
        pending = self._pending
        if pending or self._blocks:
            pending.append(lines[0])
            if self._blocks:
                self._blocks.extend(pending)
                pending = self._blocks
            lines[0] = "".join(pending)
            self._blocks = []
            self._pending.clear()
        if tail:
            self._pending.append(tail)
        return self._lines(lines)

    def close(self) -> list[ServerSentEvent]:
        """End of stream: discard the unterminated event (spec) and reset for a reconnection."""
        self._reset()
        return []

    def _lines(self, lines: list[str]) -> list[ServerSentEvent]:
        out: list[ServerSentEvent] = []
        data = self._data
        # The block state lives in locals for the loop and is stored back once at the end.
        event_type = self._event
        retry = self._retry
        last_id = self.last_event_id
        for line in lines:
            # The hot cases first: provider streams are almost only "data: ...", blank and
            # "event: ..." lines.
            if line.startswith("data: "):
                data.append(line[6:])
                continue
            if not line:
                # Blank line: dispatch. The ID persists; data, type and block retry reset.
                if data:
                    # tuple.__new__ directly: the NamedTuple's __new__ adds a Python-level call.
                    out.append(
                        _new_event(
                            ServerSentEvent,
                            (
                                event_type or "message",
                                "\n".join(data),  # one value: returns it, no copy
                                last_id,
                                retry,
                            ),
                        )
                    )
                    data.clear()
                event_type = ""
                retry = None
                continue
            if line.startswith("event: "):
                event_type = line[7:]
                continue
            colon = line.find(":")
            if colon == 0:
                self.comments += 1
                self.last_comment = line[1:]
                continue
            if colon < 0:
                name, value = line, ""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value.startswith(" "):
                    value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event_type = value
            elif name == "id":
                if "\0" not in value:
                    last_id = value
            elif name == "retry":
                parsed = _parse_retry(value)
                if parsed is not None:
                    retry = parsed
                    self.reconnection_time = parsed
        self._event = event_type
        self._retry = retry
        self.last_event_id = last_id
        return out
