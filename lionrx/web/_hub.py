"""Streams lionrx pipelines to browsers as SSE: the in-flight registry and the HTTP side.

A `StreamHub` subscribes to a pipeline once (`start`), encodes each item as an SSE event into a
`ResumeStore`, and serves the store to any number of HTTP readers (`respond`), each from its
``Last-Event-ID``. When the last reader goes away the pipeline is disposed after ``grace``
seconds (closing the upstream connection) unless a reader comes back; `cancel` disposes it at
once. `sse_response` is the one-liner for an aiohttp handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from reactivex import Observable
from reactivex.abc import DisposableBase

from lionrx._errors import redact
from lionrx._events import Completed, Failed
from lionrx._rx import loop_scheduler
from lionrx.web._store import MemoryResumeStore, ResumeStore, ResumeUnavailable
from lionrx.web._wire import BlockSplitter, WireEncoder, default_splitter, sse_frame

__all__ = ["OutcomeCallback", "StreamHub", "default_hub", "sse_response"]

log = logging.getLogger("lionrx.web")

OutcomeCallback = Callable[[Completed | Failed], Awaitable[None] | None]
"""Called once with a stream's outcome (a cancellation is a `Failed` with `StreamCancelled`)."""

_ID_SEP = ":"
_DISCONNECT_POLL = 0.5


class _Flight:
    """One pipeline in flight: its subscription, its encoder and who is reading it."""

    def __init__(
        self,
        hub: StreamHub,
        key: str,
        encoder: WireEncoder,
        on_outcome: OutcomeCallback | None,
    ) -> None:
        self.hub = hub
        self.key = key
        self.encoder = encoder
        self.on_outcome = on_outcome
        self.subscription: DisposableBase | None = None
        self.pending: list[tuple[str, str]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.ending = False
        self.readers = 0
        self.idle: asyncio.TimerHandle | None = None
        self.ended = asyncio.get_running_loop().create_future()

    # Observer side: runs on the event loop, never blocks; the store is written by one task.
    def on_next(self, item: Any) -> None:
        if self.ending:
            return
        try:
            pairs = self.encoder.item(item)
        except Exception as exc:  # an item the wire cannot carry: end the stream, say why
            self._push(self.encoder.failed(exc))
            self._finish()
            return
        if pairs:
            self._push(pairs)
        if self.encoder.done:
            self._finish()

    def on_error(self, error: Exception) -> None:
        if not self.ending:
            self._push(self.encoder.failed(error))
            self._finish()

    def on_completed(self) -> None:
        if not self.ending:
            self._push(self.encoder.completed())
            self._finish()

    def cancel(self, reason: str) -> bool:
        if self.ending:
            return False
        # Dispose first: nothing may arrive after the cancellation event.
        self._dispose()
        self._push(self.encoder.cancelled(reason))
        self._finish()
        return True

    def _push(self, pairs: list[tuple[str, str]]) -> None:
        self.pending += pairs
        if self.flusher is None:
            self.flusher = asyncio.get_running_loop().create_task(self._flush())

    def _finish(self) -> None:
        self.ending = True
        self._stop_idle()
        self._dispose()
        if self.flusher is None:
            self.flusher = asyncio.get_running_loop().create_task(self._flush())

    def _dispose(self) -> None:
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.dispose()

    async def _flush(self) -> None:
        store = self.hub.store
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                await store.append(self.key, batch)
        except Exception as exc:
            log.error("stream %s: the resume store failed: %s", self.key, redact(str(exc)))
            self.ending = True
            self._dispose()
        finally:
            self.flusher = None
        if self.ending and not self.ended.done():
            await self._end()

    async def _end(self) -> None:
        with contextlib.suppress(Exception):
            await self.hub.store.end(self.key)
        self.hub._flights.pop(self.key, None)
        outcome = self.encoder.outcome
        if self.on_outcome is not None and outcome is not None:
            try:
                result = self.on_outcome(outcome)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("stream %s: the outcome callback failed", self.key)
        self.ended.set_result(None)

    def attach(self) -> None:
        self.readers += 1
        self._stop_idle()

    def detach(self) -> None:
        self.readers -= 1
        if self.readers == 0:
            self._start_idle()

    def _start_idle(self) -> None:
        if self.ending or self.idle is not None:
            return
        self.idle = asyncio.get_running_loop().call_later(
            self.hub.grace, self.cancel, "no client is reading the stream"
        )

    def _stop_idle(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None


class StreamHub:
    """Pipelines in flight, their resume store, and the SSE responses that read them.

    ``store``: where events wait for readers (default: a `MemoryResumeStore`). ``grace``:
    seconds a pipeline keeps running with no reader, waiting for a reconnect, before it is
    disposed (0 disposes at once). ``heartbeat``: seconds between keep-alive comments.
    ``retry_ms``: the reconnection delay announced to `EventSource`. ``splitter``: the markdown
    block splitter factory for streams started with ``blocks=True`` (default: lionrx's).
    """

    def __init__(
        self,
        store: ResumeStore | None = None,
        *,
        grace: float = 5.0,
        heartbeat: float = 15.0,
        retry_ms: int = 1000,
        splitter: Callable[[], BlockSplitter] | None = None,
    ) -> None:
        if splitter is None:
            splitter = default_splitter()
        self.store: ResumeStore = store if store is not None else MemoryResumeStore()
        self.grace = grace
        self.heartbeat = heartbeat
        self.retry_ms = retry_ms
        self.splitter: Callable[[], BlockSplitter] = splitter
        self._flights: dict[str, _Flight] = {}
        self._readers: dict[str, list[web.Request]] = {}

    def in_flight(self, key: str) -> bool:
        """True while the pipeline under ``key`` is running."""
        return key in self._flights

    async def start(
        self,
        observable: Observable[Any],
        *,
        key: str | None = None,
        blocks: bool = False,
        on_outcome: OutcomeCallback | None = None,
    ) -> str:
        """Subscribe to ``observable`` now and keep its events under a new key (returned)."""
        key = key or secrets.token_urlsafe(12)
        if _ID_SEP in key:
            raise ValueError(f"a stream key may not contain {_ID_SEP!r}")
        await self.store.create(key)
        flight = _Flight(self, key, WireEncoder(self.splitter if blocks else None), on_outcome)
        self._flights[key] = flight
        subscription = observable.subscribe(
            flight.on_next, flight.on_error, flight.on_completed, scheduler=loop_scheduler()
        )
        if flight.ending:
            subscription.dispose()
        else:
            flight.subscription = subscription
            flight._start_idle()
        return key

    async def cancel(self, key: str, reason: str = "stopped by the client") -> bool:
        """Dispose the pipeline under ``key`` now (closing its upstream connection).

        Its readers receive a final ``failed`` event (`StreamCancelled`, with the partial
        answer). Returns False when ``key`` is not in flight.
        """
        flight = self._flights.get(key)
        if flight is None or not flight.cancel(reason):
            return False
        await asyncio.shield(flight.ended)
        return True

    async def wait(self, key: str) -> None:
        """Wait until the pipeline under ``key`` has ended and its outcome is stored."""
        flight = self._flights.get(key)
        if flight is not None:
            await asyncio.shield(flight.ended)

    async def respond(
        self, request: web.Request, key: str, *, after: str | None = None
    ) -> web.StreamResponse:
        """An SSE response with the events of ``key`` after store id ``after``, live to the end.

        Event ids are ``"<key>:<store id>"``: a browser's ``Last-Event-ID`` names the stream
        and the position. If the stream or that position is no longer kept, the response ends
        with a ``failed`` event whose error type is ``ResumeUnavailable``.
        """
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache, no-transform",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        flight = self._flights.get(key)
        if flight is not None:
            flight.attach()
        readers = self._readers.setdefault(key, [])
        readers.append(request)
        try:
            await response.write(f"retry: {self.retry_ms}\n\n".encode())
            await self._pump_until_disconnect(request, response, key, after)
        except ConnectionError:
            pass  # the client went away; detaching below starts the grace period
        finally:
            readers[:] = [r for r in readers if r is not request]
            if not readers:
                self._readers.pop(key, None)
            if flight is not None:
                flight.detach()
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
        return response

    async def _pump_until_disconnect(
        self, request: web.Request, response: web.StreamResponse, key: str, after: str | None
    ) -> None:
        loop = asyncio.get_running_loop()
        last_write = loop.time()

        async def pump() -> None:
            nonlocal last_write
            try:
                async for batch in self.store.read(key, after):
                    prefix = key + _ID_SEP
                    await response.write(
                        b"".join(sse_frame(prefix + e.id, e.event, e.data) for e in batch)
                    )
                    last_write = loop.time()
            except ResumeUnavailable as exc:
                await response.write(sse_frame(None, "failed", WireEncoder.error_data(exc)))

        task = loop.create_task(pump())
        try:
            # aiohttp does not cancel handlers when the client leaves: watch the transport, so a
            # closed tab is noticed even while the pipeline is silent.
            while True:
                done, _ = await asyncio.wait({task}, timeout=_DISCONNECT_POLL)
                if done:
                    task.result()
                    return
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
                if loop.time() - last_write >= self.heartbeat:
                    last_write = loop.time()
                    await response.write(b": keep-alive\n\n")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task

    def disconnect_readers(self, key: str | None = None) -> int:
        """Close the HTTP connections reading ``key`` (all keys when None), leaving the
        pipelines running: browsers reconnect with ``Last-Event-ID`` and resume. For a
        graceful hand-over to another server process sharing the store, and for tests.
        Returns how many connections were closed."""
        keys = list(self._readers) if key is None else [key]
        closed = 0
        for k in keys:
            for request in list(self._readers.get(k, ())):
                transport = request.transport
                if transport is not None and not transport.is_closing():
                    transport.close()
                    closed += 1
        return closed

    async def aclose(self) -> None:
        """Cancel every pipeline in flight (server shutdown) and close the store."""
        for key in list(self._flights):
            await self.cancel(key, "the server is shutting down")
        await self.store.aclose()


_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamHub] = weakref.WeakKeyDictionary()


def default_hub() -> StreamHub:
    """The running loop's shared hub (in-memory store), for `sse_response` without ``hub=``."""
    loop = asyncio.get_running_loop()
    hub = _HUBS.get(loop)
    if hub is None:
        hub = _HUBS[loop] = StreamHub()
    return hub


def parse_event_id(event_id: str | None) -> tuple[str, str] | None:
    """Split a ``Last-Event-ID`` into ``(key, store id)``; None when it is not one of ours."""
    if not event_id:
        return None
    key, sep, after = event_id.rpartition(_ID_SEP)
    if not sep or not key or not after:
        return None
    return key, after


def last_event_id(request: web.Request) -> str | None:
    """The ``Last-Event-ID`` header, or a ``lastEventId`` query parameter (for manual resumes)."""
    return request.headers.get("Last-Event-ID") or request.query.get("lastEventId")


async def sse_response(
    request: web.Request,
    observable: Observable[Any],
    *,
    hub: StreamHub | None = None,
    blocks: bool = False,
    on_outcome: OutcomeCallback | None = None,
) -> web.StreamResponse:
    """Stream a lionrx pipeline (events or text) to the browser as SSE; the aiohttp one-liner.

    ``return await sse_response(request, model.stream(messages=...))``

    Each item becomes an SSE event with an id; the stream's outcome is the final event
    (``completed`` or ``failed``). A request carrying the ``Last-Event-ID`` of a stream still
    kept resumes it (``observable`` is then not subscribed: it is cold, so nothing is sent
    upstream); the client receives exactly the events after that id. When the client leaves and
    does not come back within the hub's ``grace``, the pipeline is disposed, which closes the
    upstream connection.
    """
    hub = hub if hub is not None else default_hub()
    resume = parse_event_id(last_event_id(request))
    if resume is not None:
        return await hub.respond(request, resume[0], after=resume[1])
    key = await hub.start(observable, blocks=blocks, on_outcome=on_outcome)
    return await hub.respond(request, key)
