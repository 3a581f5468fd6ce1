"""The file sink: append a stream to disk as text, JSON lines or SSE, crash-safe.

Every event is written (and by default flushed to the OS) the moment it arrives, so a process
killed mid-stream leaves everything received on disk; completion ``fsync``s off the loop.
The ``jsonl`` and ``sse`` formats are recordings that the ``replay`` provider plays back.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import os
import stat
import time
from pathlib import Path
from typing import Any, BinaryIO, Literal, overload

from reactivex import Observable
from reactivex.abc import SchedulerBase

from lionrx._errors import ConfigurationError, redact
from lionrx._events import Event, Fallback, TextDelta, dump_event
from lionrx.sinks._handle import Outcome, Sink, SinkHandle
from lionrx.sinks._tee import SinkFactory

__all__ = ["FileSink", "file", "record", "RECORDING_VERSION"]

FileFormat = Literal["text", "jsonl", "sse"]
FlushPolicy = Literal["event", "end"] | float

RECORDING_VERSION = 1
"""Version written in the header of ``jsonl`` / ``sse`` recordings."""


def _header(fmt: str) -> dict[str, Any]:
    return {
        "version": RECORDING_VERSION,
        "format": fmt,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
    }


class FileSink(Sink):
    """Writes events to an open binary file; see `file` for the formats."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        format: FileFormat = "text",
        flush: FlushPolicy = "event",
        truncate: bool = False,
        fsync: bool = True,
    ) -> None:
        if format not in ("text", "jsonl", "sse"):
            raise ConfigurationError(f"unknown file format {format!r} (text, jsonl or sse)")
        if not (flush in ("event", "end") or (isinstance(flush, int | float) and flush >= 0)):
            raise ConfigurationError(
                f"flush must be 'event', 'end' or a number of seconds, not {flush!r}"
            )
        self.path = Path(path)
        self.format = format
        self.fsync = fsync
        self._flush_every: float | None = None if isinstance(flush, str) else float(flush)
        self._flush_each = flush == "event"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered when flushing per event: each write() is one syscall into the page
        # cache, which survives the death of this process (SIGKILL included).
        self._fh: BinaryIO = open(  # noqa: SIM115 - closed in on_close
            self.path, "wb" if truncate else "ab", buffering=0 if self._flush_each else -1
        )
        # Where this stream's answer starts in the file (text format): a `fallback` restart
        # discards the answer so far, so the file is cut back to here (nothing before it).
        self._answer_start = os.fstat(self._fh.fileno()).st_size
        self._started = time.monotonic()
        self._last_flush = self._started
        self._count = 0
        if format == "jsonl":
            self._write(json.dumps({"t": 0.0, "recording": _header("jsonl")}) + "\n")
        elif format == "sse":
            self._write(f": lionrx-recording {json.dumps(_header('sse'))}\n\n")

    # -- writing ---------------------------------------------------------------------------

    def _write(self, data: str) -> None:
        self._fh.write(data.encode("utf-8"))
        if self._flush_every is not None:
            now = time.monotonic()
            if now - self._last_flush >= self._flush_every:
                self._fh.flush()
                self._last_flush = now

    def _stamp(self) -> str:
        return f"{time.monotonic() - self._started:.6f}"

    def _event_line(self, event: Event, terminal: bool) -> str:
        data = dump_event(event)
        if terminal:
            # Errors may quote a request; never let a credential reach a recording.
            data = redact(data)
        if self.format == "jsonl":
            return f'{{"t":{self._stamp()},"event":{data}}}\n'
        self._count += 1
        return f": t={self._stamp()}\nid: {self._count}\nevent: {event.kind}\ndata: {data}\n\n"

    def on_event(self, event: Event) -> None:
        if self.format == "text":
            if isinstance(event, TextDelta) and event.choice == 0:
                self._write(event.text)
            elif isinstance(event, Fallback) and event.mode == "restart":
                self._restart()
            return
        self._write(self._event_line(event, False))

    def _restart(self) -> None:
        """The next model starts the answer over: drop what this stream wrote, so the text
        file holds the answer the stream ends with (as its `Response` does). Only a regular
        file can be cut; a pipe keeps both texts."""
        self._fh.flush()
        fd = self._fh.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, self._answer_start)
            self._fh.seek(0, os.SEEK_END)

    def on_text(self, text: str) -> None:
        if self.format == "text":
            self._write(text)
        else:
            super().on_text(text)

    def on_outcome(self, outcome: Outcome) -> None:
        if self.format != "text":
            self._write(self._event_line(outcome, True))

    def on_close(self) -> asyncio.Future[None] | None:
        self._fh.flush()
        if not self.fsync:
            self._fh.close()
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._sync_close()
            return None
        return loop.run_in_executor(None, self._sync_close)

    def _sync_close(self) -> None:
        try:
            fd = self._fh.fileno()
            # Pipes and terminals (e.g. /dev/stdout) cannot be fsync'd; they need not be.
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.fsync(fd)
        finally:
            self._fh.close()


@overload
def file(
    observable: Observable[Any],
    path: str | os.PathLike[str],
    *,
    format: FileFormat = ...,
    flush: FlushPolicy = ...,
    truncate: bool = ...,
    fsync: bool = ...,
    scheduler: SchedulerBase | None = ...,
) -> SinkHandle: ...


@overload
def file(
    observable: str | os.PathLike[str],
    path: None = ...,
    *,
    format: FileFormat = ...,
    flush: FlushPolicy = ...,
    truncate: bool = ...,
    fsync: bool = ...,
    scheduler: SchedulerBase | None = ...,
) -> SinkFactory: ...


def file(
    observable: Observable[Any] | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    format: FileFormat = "text",
    flush: FlushPolicy = "event",
    truncate: bool = False,
    fsync: bool = True,
    scheduler: SchedulerBase | None = None,
) -> SinkHandle | SinkFactory:
    """Append a stream to ``path``; returns a `SinkHandle` (await it for the `Response`).

    ``file(stream, "answer.txt")`` subscribes now; ``file("answer.txt")`` (no stream) returns a
    sink factory for `tee` or ``stream.pipe(...)``.

    Formats:

    - ``text``: the answer text of choice 0, exactly as received (works on text streams too).
      Under `lionrx.operators.fallback`, a restart cuts the file back to where this answer
      began, so it ends up holding the final answer; a continuation keeps growing it.
    - ``jsonl``: a header line ``{"t": 0.0, "recording": {...}}``, then one line per event,
      ``{"t": <seconds since the sink subscribed, monotonic clock>, "event": <dump_event>}``,
      the terminal `Completed` / `Failed` included. A recording for ``iModel(provider="replay")``.
    - ``sse``: the same recording as Server-Sent Events (``event: <kind>``, ``data: <event
      JSON>``, ``id: <n>``), each preceded by a ``: t=<seconds>`` comment that SSE clients ignore
      and replay reads.

    ``flush``: ``"event"`` (default; unbuffered, each event reaches the OS at once, so a crash
    loses nothing received), ``"end"`` (buffered until the end), or seconds between flushes.
    On completion the file is flushed and, unless ``fsync=False``, ``fsync``'d in a worker
    thread. An existing file is appended to unless ``truncate=True``. Recordings never hold
    API keys: events carry none, and error messages are passed through `redact`.
    """
    if path is None:
        if isinstance(observable, Observable):
            raise TypeError("file(stream, path): the path is missing")
        target = observable

        def factory(stream: Observable[Any]) -> SinkHandle:
            return file(
                stream,
                target,
                format=format,
                flush=flush,
                truncate=truncate,
                fsync=fsync,
                scheduler=scheduler,
            )

        return factory
    if not isinstance(observable, Observable):
        raise TypeError(f"file() expects an Observable first, got {type(observable).__name__}")
    sink = FileSink(path, format=format, flush=flush, truncate=truncate, fsync=fsync)
    return SinkHandle(observable, sink, scheduler=scheduler, name=f"file:{path}")


def record(
    observable: Observable[Any],
    path: str | os.PathLike[str],
    *,
    format: Literal["jsonl", "sse"] = "jsonl",
    truncate: bool = False,
    scheduler: SchedulerBase | None = None,
) -> SinkHandle:
    """Record a stream for ``iModel(provider="replay", path=path)``: the file sink in ``jsonl``
    (or ``sse``) format, flushed per event."""
    return file(observable, path, format=format, truncate=truncate, scheduler=scheduler)
