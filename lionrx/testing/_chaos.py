"""Faults for the fake provider server: the ways real streams break, on demand.

A `Fault` attached to a `Script`, `Recording` or `ErrorReply` (``fault=``) makes the server
misbehave in one precise way: drop the connection at body byte k, stall at byte k for t seconds,
send only keep-alives, inject garbage lines, invalid JSON or invalid UTF-8, pad one line to an
enormous size, trickle one byte at a time, close before the headers, or answer with a wrong
content type. ``split=`` additionally cuts every frame into network writes of the given sizes.

`ChaosServer` is a `FakeProviderServer` whose default reply gets a random fault from a list (or
is replaced by a random HTTP error), for load tests; it records which fault each request got.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lionrx.testing._server import ErrorReply, FakeProviderServer, Frame, Reply

__all__ = ["ChaosServer", "Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal[
    "none",
    "drop",
    "stall",
    "keepalive_only",
    "garbage",
    "invalid_json",
    "invalid_utf8",
    "huge_line",
    "trickle",
    "close_before_headers",
    "wrong_content_type",
]

# Text fields in the providers' JSON whose string value we can corrupt or pad in place.
_TEXT_FIELDS = (b'"content":"', b'"text":"', b'"text": "', b'"thinking":"', b'"partial_json":"')


@dataclass(frozen=True)
class Fault:
    """One way for a response to go wrong. Build with the class methods."""

    kind: FaultKind = "none"
    at_byte: int | None = None
    """Body byte offset for ``drop`` and ``stall`` (bytes before it are delivered)."""
    at_frame: int = 1
    """Index (among JSON-carrying frames) for ``garbage``, ``invalid_json``, ``invalid_utf8``
    and ``huge_line``; clamped to the last one."""
    seconds: float = 0.0
    """Stall length, or how long ``keepalive_only`` lasts (``math.inf``: until the client
    leaves)."""
    interval: float = 0.05
    """Seconds between keep-alives for ``keepalive_only``."""
    content_type: str = "text/html; charset=utf-8"
    """The wrong content type for ``wrong_content_type``."""
    line: bytes | None = None
    """Garbage bytes for ``garbage`` (default: lines an SSE parser must ignore, or a non-JSON
    NDJSON line)."""
    size: int = 0
    """Padding for ``huge_line``: that many ``x`` are added to one text value."""
    delay: float = 0.0
    """Seconds between bytes for ``trickle``."""
    split: tuple[int, ...] = field(default=())
    """Network write sizes, cycled over each frame (empty: one write per frame)."""

    @classmethod
    def drop(cls, at_byte: int, **kw: Any) -> Fault:
        """Deliver ``at_byte`` body bytes, then abort the connection (no clean end)."""
        return cls("drop", at_byte=at_byte, **kw)

    @classmethod
    def stall(cls, at_byte: int, seconds: float, **kw: Any) -> Fault:
        """Deliver ``at_byte`` body bytes, go silent for ``seconds``, then continue."""
        return cls("stall", at_byte=at_byte, seconds=seconds, **kw)

    @classmethod
    def keepalive_only(cls, seconds: float = math.inf, interval: float = 0.05, **kw: Any) -> Fault:
        """After the headers send only keep-alives for ``seconds`` (then the answer)."""
        return cls("keepalive_only", seconds=seconds, interval=interval, **kw)

    @classmethod
    def garbage(cls, at_frame: int = 1, line: bytes | None = None, **kw: Any) -> Fault:
        """Insert garbage lines before frame ``at_frame``."""
        return cls("garbage", at_frame=at_frame, line=line, **kw)

    @classmethod
    def invalid_json(cls, at_frame: int = 1, **kw: Any) -> Fault:
        """Cut the JSON of frame ``at_frame`` in half (the frame stays well-framed)."""
        return cls("invalid_json", at_frame=at_frame, **kw)

    @classmethod
    def invalid_utf8(cls, at_frame: int = 1, **kw: Any) -> Fault:
        """Put the bytes ``ff fe`` at the start of a text value in frame ``at_frame``."""
        return cls("invalid_utf8", at_frame=at_frame, **kw)

    @classmethod
    def huge_line(cls, size: int = 4 * 1024 * 1024, at_frame: int = 1, **kw: Any) -> Fault:
        """Pad a text value of frame ``at_frame`` with ``size`` ``x`` (one enormous line)."""
        return cls("huge_line", at_frame=at_frame, size=size, **kw)

    @classmethod
    def trickle(cls, delay: float = 0.0, **kw: Any) -> Fault:
        """Write the body one byte at a time, ``delay`` seconds apart."""
        return cls("trickle", delay=delay, **kw)

    @classmethod
    def close_before_headers(cls) -> Fault:
        """Close the connection without sending a status line."""
        return cls("close_before_headers")

    @classmethod
    def wrong_content_type(cls, content_type: str = "text/html; charset=utf-8") -> Fault:
        """Send the body with the given Content-Type."""
        return cls("wrong_content_type", content_type=content_type)

    @classmethod
    def splitting(cls, *sizes: int) -> Fault:
        """No fault, but frames written in network pieces of ``sizes`` (cycled)."""
        return cls("none", split=tuple(sizes))

    def with_split(self, *sizes: int) -> Fault:
        """This fault, with frames written in network pieces of ``sizes``."""
        return replace(self, split=tuple(sizes))


def _char_cut(data: bytes, at: int) -> int:
    # Cut on a character boundary, so that invalid_json is not also invalid UTF-8.
    while 0 < at < len(data) and 0x80 <= data[at] < 0xC0:
        at -= 1
    return at


class FaultPlan:
    """How the server applies a fault while writing a response (internal)."""

    def __init__(self, fault: Fault | None) -> None:
        self.fault = fault or Fault()
        f = self.fault
        self.close_before_headers = f.kind == "close_before_headers"
        self.keepalive_only: float | None = f.seconds if f.kind == "keepalive_only" else None
        self.interval = f.interval
        self.trickle_delay = f.delay if f.kind == "trickle" else 0.0
        self._byte_action: tuple[int, str, float] | None = None
        if f.kind in ("drop", "stall") and f.at_byte is not None:
            self._byte_action = (max(0, f.at_byte), f.kind, f.seconds)

    def content_type(self, original: str) -> str:
        """The Content-Type to send."""
        if self.fault.kind == "wrong_content_type":
            return self.fault.content_type
        return original

    def network_pieces(self, frame: bytes) -> list[bytes]:
        """The writes for one frame."""
        if self.fault.kind == "trickle":
            return [frame[i : i + 1] for i in range(len(frame))]
        sizes = self.fault.split
        if not sizes or not frame:
            return [frame]
        out = []
        i = 0
        n = 0
        while i < len(frame):
            size = max(1, sizes[n % len(sizes)])
            out.append(frame[i : i + size])
            i += size
            n += 1
        return out

    def at(self, sent: int, length: int) -> tuple[int, str, float] | None:
        """If the byte fault falls inside the next ``length`` bytes (after ``sent``), consume it
        and return ``(bytes to write first, "drop"|"stall", seconds)``."""
        action = self._byte_action
        if action is None:
            return None
        k, what, seconds = action
        if sent <= k < sent + length:
            self._byte_action = None
            return (k - sent, what, seconds)
        return None

    def at_end(self, sent: int) -> tuple[int, str, float] | None:
        """A byte fault at or past the end of the body fires before the end."""
        action = self._byte_action
        if action is None:
            return None
        self._byte_action = None
        return (0, action[1], action[2])

    def rewrite_frames(self, frames: list[Frame], keepalive: bytes, ctype: str) -> list[Frame]:
        """Apply event-level faults (garbage, invalid JSON/UTF-8, huge line).

        The body is cut into events (SSE: after each blank line; NDJSON: after each line), the
        fault is applied to event ``at_frame``, and the result is cut again at the original
        write boundaries, pauses kept in place, so a recording keeps its network chunking.
        """
        kind = self.fault.kind
        if kind not in ("garbage", "invalid_json", "invalid_utf8", "huge_line"):
            return frames
        ndjson = "ndjson" in ctype or "json" in ctype and "event-stream" not in ctype
        sep = b"\n" if ndjson else b"\n\n"
        body = b"".join(f for f in frames if isinstance(f, bytes))
        events: list[Frame] = []
        start = 0
        while start < len(body):
            end = body.find(sep, start)
            end = len(body) if end < 0 else end + len(sep)
            events.append(body[start:end])
            start = end
        changed = self._apply(events, ndjson)
        new_body = b"".join(e for e in changed if isinstance(e, bytes))
        if new_body == body:
            return frames
        # Re-cut at the original boundaries; the last write takes whatever length changed.
        out: list[Frame] = []
        pos = 0
        last = max((i for i, f in enumerate(frames) if isinstance(f, bytes)), default=-1)
        for i, f in enumerate(frames):
            if not isinstance(f, bytes):
                out.append(f)
                continue
            if i == last:
                out.append(new_body[pos:])
                pos = len(new_body)
            else:
                piece = new_body[pos : pos + len(f)]
                out.append(piece)
                pos += len(piece)
        return out

    def _apply(self, frames: list[Frame], ndjson: bool) -> list[Frame]:
        kind = self.fault.kind
        candidates = [
            i for i, f in enumerate(frames) if isinstance(f, bytes) and b"{" in f and f.strip()
        ]
        if not candidates:
            return frames
        out = list(frames)
        if kind in ("invalid_utf8", "huge_line"):
            # The first JSON frame at or after at_frame that has a text value to touch.
            textual = [i for i in candidates if any(t in frames[i] for t in _TEXT_FIELDS)]  # type: ignore[operator]
            if not textual:
                return frames
            pick = [i for i in textual if candidates.index(i) >= self.fault.at_frame]
            idx = pick[0] if pick else textual[-1]
            frame = out[idx]
            assert isinstance(frame, bytes)
            for t in _TEXT_FIELDS:
                pos = frame.find(t)
                if pos >= 0:
                    pos += len(t)
                    insert = b"\xff\xfe" if kind == "invalid_utf8" else b"x" * self.fault.size
                    out[idx] = frame[:pos] + insert + frame[pos:]
                    break
            return out
        idx = candidates[min(self.fault.at_frame, len(candidates) - 1)]
        frame = out[idx]
        assert isinstance(frame, bytes)
        if kind == "garbage":
            line = self.fault.line
            if line is None:
                line = (
                    b"this is not json\n"
                    if ndjson
                    else b"garbage without a colon\nx-unknown-field: 1\n: a comment\nretry: soon\n"
                )
            out.insert(idx, line)
            return out
        # invalid_json: keep the framing, cut the JSON payload in half
        if ndjson:
            payload = frame.rstrip(b"\r\n")
            cut = _char_cut(payload, max(1, len(payload) // 2))
            out[idx] = payload[:cut] + b"\n"
        else:
            start = frame.find(b"data:")
            if start < 0:
                return frames
            start += 5
            end = frame.find(b"\n", start)
            end = len(frame) if end < 0 else end
            cut = _char_cut(frame, start + max(2, (end - start) // 2))
            out[idx] = frame[:cut] + b"\n\n"
        return out


class ChaosServer(FakeProviderServer):
    """A `FakeProviderServer` that answers every unqueued request with ``default`` plus a fault
    drawn at random (``random.Random(seed)``) from ``faults``; ``None`` entries mean a clean
    answer, and `ErrorReply` entries answer with that HTTP error instead of ``default``.
    ``applied`` lists the draws in request order; ``fault_counts()`` sums them."""

    def __init__(
        self,
        default: Reply | None = None,
        *,
        faults: list[Fault | ErrorReply | None] | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_bodies: bool = True,
    ) -> None:
        super().__init__(default, host=host, port=port, keep_bodies=keep_bodies)
        self.faults: list[Fault | ErrorReply | None] = (
            list(faults) if faults is not None else [None]
        )
        self.rng = random.Random(seed)
        self.applied: list[Fault | ErrorReply | None] = []

    def _next_reply(self) -> Reply:
        if self._queue:
            return self._queue.popleft()
        fault = self.rng.choice(self.faults)
        self.applied.append(fault)
        if isinstance(fault, ErrorReply):
            return fault
        return replace(self.default, fault=fault)

    def fault_counts(self) -> dict[str, int]:
        """How many requests got each fault kind (``"none"`` for clean answers, ``"http_429"``
        and so on for HTTP errors)."""
        out: dict[str, int] = {}
        for f in self.applied:
            if isinstance(f, ErrorReply):
                key = f"http_{f.status}"
            else:
                key = f.kind if f is not None else "none"
            out[key] = out.get(key, 0) + 1
        return out
