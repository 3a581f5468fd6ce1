"""Where an answer in flight waits for a reconnecting browser: one bounded log per stream.

A `ResumeStore` keeps the SSE events of each stream under a key, hands out increasing ids and
lets any number of readers replay from an id and then follow new events until the stream ends.
`MemoryResumeStore` is the default (one server process); the interface is shaped after Redis
Streams (``XADD`` with ``MAXLEN``, ``XREAD BLOCK``, ``EXPIRE``) so that a store shared by several
server processes can implement it.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from lionrx._errors import LionrxError

__all__ = ["MemoryResumeStore", "ResumeStore", "ResumeUnavailable", "StoredEvent"]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One SSE event as kept by a store."""

    id: str
    """Store-assigned id, increasing within a stream (opaque to callers)."""
    event: str
    """The SSE event name (``text``, ``completed``, ``failed``...)."""
    data: str
    """The event's JSON payload."""


class ResumeUnavailable(LionrxError):
    """The stream, or the position a reader asked to resume from, is no longer kept."""


class ResumeStore(abc.ABC):
    """A bounded, append-only log of SSE events per stream key."""

    @abc.abstractmethod
    async def create(self, key: str) -> None:
        """Start an empty log under ``key`` (a new stream in flight)."""

    @abc.abstractmethod
    async def append(self, key: str, events: Iterable[tuple[str, str]]) -> str | None:
        """Append ``(event, data)`` pairs in order; return the id of the last one (None if none)."""

    @abc.abstractmethod
    async def end(self, key: str) -> None:
        """Mark the log complete: readers stop after its last event. It is kept for a while."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool:
        """True while ``key`` is kept (in flight, or ended within the retention time)."""

    @abc.abstractmethod
    def read(self, key: str, after: str | None = None) -> AsyncIterator[list[StoredEvent]]:
        """The events after id ``after`` (all when None), then new ones as they are appended,
        until the log ends; in batches (never empty) of whatever is available at once.

        Raises `ResumeUnavailable` when ``key`` is unknown, or when events after ``after`` were
        already dropped from the bounded log (resuming there would lose text).
        """

    async def aclose(self) -> None:
        """Release the store's resources."""
        return None


@dataclass(slots=True)
class _Log:
    items: list[StoredEvent] = field(default_factory=list)
    first_seq: int = 1
    """Sequence number of ``items[0]``."""
    next_seq: int = 1
    size: int = 0
    """Bytes of data held."""
    ended: bool = False
    ended_at: float = 0.0
    waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def wait(self) -> asyncio.Future[None]:
        if self.waiter is None:
            self.waiter = asyncio.get_running_loop().create_future()
        return self.waiter


def _parse_seq(after: str | None) -> int:
    if after is None or after == "":
        return 0
    try:
        seq = int(after)
    except ValueError:
        raise ResumeUnavailable(f"not an event id of this store: {after!r}") from None
    if seq < 0:
        raise ResumeUnavailable(f"not an event id of this store: {after!r}")
    return seq


class MemoryResumeStore(ResumeStore):
    """Keeps logs in this process, each bounded by event count and bytes.

    ``max_events`` / ``max_bytes`` bound one stream's log: the oldest events are dropped first
    (a reader that needs them gets `ResumeUnavailable` instead of a gap). ``max_streams`` bounds
    how many logs are kept (ended ones are evicted first, oldest first); ``retention`` is how long
    an ended log stays readable, in seconds.
    """

    def __init__(
        self,
        *,
        max_events: int = 100_000,
        max_bytes: int = 16 * 1024 * 1024,
        max_streams: int = 1000,
        retention: float = 120.0,
    ) -> None:
        if max_events < 1 or max_bytes < 1 or max_streams < 1:
            raise ValueError("max_events, max_bytes and max_streams must be positive")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.max_streams = max_streams
        self.retention = retention
        self._logs: dict[str, _Log] = {}

    def __len__(self) -> int:
        self._expire()
        return len(self._logs)

    def _expire(self) -> None:
        if not self._logs:
            return
        now = time.monotonic()
        dead = [
            k for k, log in self._logs.items() if log.ended and now - log.ended_at > self.retention
        ]
        for key in dead:
            del self._logs[key]

    async def create(self, key: str) -> None:
        self._expire()
        if key in self._logs:
            raise ValueError(f"stream {key!r} already exists")
        while len(self._logs) >= self.max_streams:
            # Prefer evicting a finished stream; a stream in flight goes only when all are live.
            victim = next((k for k, log in self._logs.items() if log.ended), None)
            if victim is None:
                victim = next(iter(self._logs))
            self._logs.pop(victim).wake()
        self._logs[key] = _Log()

    def _log(self, key: str) -> _Log:
        log = self._logs.get(key)
        if log is None:
            raise ResumeUnavailable(f"stream {key!r} is not kept (unknown, expired or evicted)")
        return log

    async def append(self, key: str, events: Iterable[tuple[str, str]]) -> str | None:
        log = self._log(key)
        if log.ended:
            raise ValueError(f"stream {key!r} has ended")
        last: str | None = None
        items = log.items
        for event, data in events:
            last = str(log.next_seq)
            items.append(StoredEvent(last, event, data))
            log.next_seq += 1
            log.size += len(data)
        if last is None:
            return None
        if len(items) > self.max_events or log.size > self.max_bytes:
            self._trim(log)
        log.wake()
        return last

    def _trim(self, log: _Log) -> None:
        # Drop in batches of at least 1/8 of the log so trimming costs O(1) amortised per event.
        items = log.items
        excess = max(len(items) - self.max_events, 0)
        drop = excess + (len(items) // 8 if excess else 0)
        size = log.size
        for item in items[:drop]:
            size -= len(item.data)
        while size > self.max_bytes and drop < len(items) - 1:
            size -= len(items[drop].data)
            drop += 1
        if drop:
            del items[:drop]
            log.first_seq += drop
            log.size = size

    async def end(self, key: str) -> None:
        log = self._logs.get(key)
        if log is None or log.ended:
            return
        log.ended = True
        log.ended_at = time.monotonic()
        log.wake()

    async def exists(self, key: str) -> bool:
        self._expire()
        return key in self._logs

    async def read(self, key: str, after: str | None = None) -> AsyncIterator[list[StoredEvent]]:
        self._expire()
        log = self._log(key)
        pos = _parse_seq(after)
        if pos >= log.next_seq:
            raise ResumeUnavailable(f"event id {after!r} is ahead of stream {key!r}")
        while True:
            if pos < log.next_seq - 1:
                if pos + 1 < log.first_seq:
                    raise ResumeUnavailable(
                        f"events after {pos} of stream {key!r} were dropped from the bounded log"
                    )
                batch = log.items[pos + 1 - log.first_seq :]
                pos = log.next_seq - 1
                yield batch
                continue
            if log.ended:
                return
            # Shielded: the future is shared by all readers, one reader's cancellation must not
            # cancel it for the others.
            await asyncio.shield(log.wait())
            if self._logs.get(key) is not log:
                raise ResumeUnavailable(f"stream {key!r} was evicted while being read")
