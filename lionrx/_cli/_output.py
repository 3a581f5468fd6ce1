"""What the command shows: the console sink with one-line errors, JSON lines, Ctrl-C handling."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any, Literal, TextIO

from reactivex import Observable

from lionrx._cli._errors import describe_error
from lionrx._errors import redact
from lionrx._events import Event, Failed, dump_event
from lionrx.sinks import ConsoleSink, SinkHandle
from lionrx.sinks._handle import Outcome, Sink

__all__ = ["CliConsole", "JsonLines", "LineReader", "interrupts", "show", "show_json"]

_RED = "\x1b[31m"
_RESET = "\x1b[0m"


class CliConsole(ConsoleSink):
    """The console sink, with the command's failure line (what to do) and no empty stats."""

    def _failure_line(self, outcome: Failed, label: str | None) -> str:
        prefix = f"[{label}] " if label else ""
        kept = len(outcome.partial.text)
        detail = describe_error(outcome.error)
        kept_note = f" ({kept} characters kept)" if kept else ""
        line = f"{prefix}{'■' if detail == 'stopped' else '✗'} {detail}{kept_note}"
        return f"{_RED}{line}{_RESET}" if self.live else line

    def on_outcome(self, outcome: Outcome) -> None:
        if isinstance(outcome, Failed):
            # A failure before any text: the error line says it all; zero stats are noise.
            keep, self.stats = self.stats, self.stats and outcome.partial.chunks > 0
            try:
                super().on_outcome(outcome)
            finally:
                self.stats = keep
        else:
            super().on_outcome(outcome)


def show(
    observable: Observable[Any],
    *,
    mode: Literal["raw", "sentence", "markdown"] = "raw",
    stats: bool = True,
    progress: Literal["dots", "line"] | None = None,
    labels: Literal["auto", "lines", "columns", "none"] = "auto",
    stream: TextIO | None = None,
) -> SinkHandle:
    """Subscribe the command's console to a stream (as `lionrx.sinks.console` does)."""
    sink = CliConsole(
        stream if stream is not None else sys.stdout,
        mode=mode,
        stats=stats,
        progress=progress,
        labels=labels,
    )
    source = observable
    if progress is not None:
        from lionrx.operators import progress_tap

        every = 10 if progress == "dots" else 1
        source = observable.pipe(progress_tap(sink.on_progress, every=every))
    return SinkHandle(source, sink, name="console")


class JsonLines(Sink):
    """Every event as one JSON line (the terminal `Completed` / `Failed` included)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _write(self, event: Event) -> None:
        self.stream.write(redact(dump_event(event)) + "\n")
        self.stream.flush()

    def on_event(self, event: Event) -> None:
        self._write(event)

    def on_outcome(self, outcome: Outcome) -> None:
        self._write(outcome)


def show_json(observable: Observable[Any], stream: TextIO | None = None) -> SinkHandle:
    """Subscribe a JSON-lines printer to a stream."""
    return SinkHandle(observable, JsonLines(stream or sys.stdout), name="json")


@contextlib.contextmanager
def interrupts(callback: Callable[[], None]) -> Iterator[bool]:
    """Route Ctrl-C (SIGINT) to ``callback`` on the running loop while inside the block.

    Yields whether the handler could be installed (not on Windows or outside the main thread).
    """
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        yield False
        return
    try:
        yield True
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        # Leave Ctrl-C as Python's KeyboardInterrupt for whatever runs after the block.
        signal.signal(signal.SIGINT, signal.default_int_handler)


class LineReader:
    """Reads lines from stdin without blocking the event loop (a terminal or a pipe).

    ``readline`` returns None at end of input. ``interrupt()`` makes a pending ``readline``
    return ``""`` at once (Ctrl-C at the prompt).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        source = stream if stream is not None else sys.stdin
        self.fd = source.fileno()
        self._buffer = b""
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self.interrupted = False
        """True when the last ``readline`` was cut short by `interrupt`."""

    def interrupt(self) -> None:
        self.interrupted = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait_readable(self) -> bool:
        """Wait until the fd has data; False when it cannot be watched (a regular file)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(None)

        try:
            loop.add_reader(self.fd, ready)
        except (PermissionError, OSError, ValueError):
            return False  # regular files are always readable and not selectable
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None
            loop.remove_reader(self.fd)
        return True

    async def readline(self) -> str | None:
        self.interrupted = False
        while b"\n" not in self._buffer and not self._eof:
            await self._wait_readable()
            if self.interrupted:
                return ""
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                self._eof = True
            self._buffer += data
        if b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            return line.decode("utf-8", errors="replace")
        if self._buffer:
            line, self._buffer = self._buffer, b""
            return line.decode("utf-8", errors="replace")
        return None
