"""The part every HTTP provider shares: one aiohttp session, the request/response loop, and the
mapper protocol that turns decoded body items into events.

A provider only says how to build its request and how to map its wire items; the mapper is an
I/O-free object (``feed(item) -> events``, ``done``, ``end()``) so it can be tested on bytes alone.
"""

from __future__ import annotations

import abc
import asyncio
import json
import os
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from typing import Any, ClassVar, Protocol

import aiohttp
from pydantic import SecretStr

from lionrx._errors import ConfigurationError, LionrxError, ProtocolError, register_secret
from lionrx._events import Event
from lionrx._json import loads
from lionrx._transport import Decoder, RetryPolicy, post_stream, request_id_from
from lionrx.providers._base import Provider, ProviderConfig

__all__ = [
    "BodyMapper",
    "COMMENT",
    "HTTPProvider",
    "Mapper",
    "SSEItems",
    "WholeBody",
    "WireTap",
    "env_or",
]

_REPLAYABLE_WIRES = frozenset({"openai", "anthropic"})
"""Providers whose raw SSE body the replay provider decodes (``lionrx.providers._replay``)."""


class Mapper(Protocol):
    """Turns one response's decoded items into events (stateful, one per request)."""

    done: bool
    """True once the provider's end of answer was seen; the body need not be read further."""

    def feed(self, item: Any) -> list[Event]:
        """Events for one decoded item (an SSE event, an NDJSON object, a whole JSON body)."""
        ...

    def end(self) -> list[Event]:
        """The body ended: final events, or `ProtocolError` if the answer was cut off."""
        ...


class WholeBody:
    """A 'decoder' for non-streaming answers: collects the body and yields it once, whole."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, data: bytes) -> list[Any]:
        self._parts.append(data)
        return []

    def close(self) -> list[Any]:
        return [b"".join(self._parts)]


def env_or(value: str | None, *names: str) -> str | None:
    """``value`` if given, else the first set environment variable among ``names``."""
    if value:
        return value
    for name in names:
        found = os.environ.get(name)
        if found:
            return found
    return None


def _checked_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, else `ConfigurationError` (before any request:
    retrying a URL that cannot work is pointless)."""
    from urllib.parse import urlsplit

    try:
        split = urlsplit(url)
        valid = split.scheme in ("http", "https") and bool(split.hostname)
        _ = split.port  # raises for a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise ConfigurationError(
            f"base_url {url!r} is not an http(s) URL such as http://127.0.0.1:8080/v1"
        )
    return url


class HTTPProvider(Provider, abc.ABC):
    """Base of the HTTP providers: session handling and the shared request loop."""

    api_key_env: ClassVar[tuple[str, ...]] = ()
    """Environment variables holding the API key, in order of preference."""
    default_base_url: ClassVar[str]
    base_url_env: ClassVar[tuple[str, ...]] = ()
    """Environment variables that set the base URL, as in the official client."""
    requires_key_for: ClassVar[tuple[str, ...]] = ()
    """Hosts that need an API key (a local compatible server usually does not)."""
    param_ranges: ClassVar[Mapping[str, tuple[float, float]]] = {}
    """Numeric request parameters and their allowed ranges, checked before any request."""
    client_options: ClassVar[frozenset[str]] = frozenset({"retry", "wire_log"})
    """``retry=RetryPolicy(...)`` tunes retries (it takes precedence over ``max_retries``);
    ``wire_log="answer.sse"`` appends each response body's raw bytes to a file (see `WireTap`),
    which ``iModel(provider="replay", path=...)`` plays back through this provider's decoder."""

    def __init__(self, config: ProviderConfig) -> None:
        key = config.api_key.get_secret_value() if config.api_key is not None else None
        key = env_or(key, *self.api_key_env)
        register_secret(key)
        update: dict[str, Any] = {"base_url": _checked_url(self.resolve_base_url(config.base_url))}
        if key is not None and config.api_key is None:
            update["api_key"] = SecretStr(key)
        if config.endpoint is None:
            update["endpoint"] = self.default_endpoint()
        super().__init__(config.model_copy(update=update))
        self.validate_params(self.config.request_defaults)
        self.source: str | None = None
        """Label put on every event (the iModel's name)."""
        policy = self.config.options.get("retry")
        if policy is not None and not isinstance(policy, RetryPolicy):
            raise ConfigurationError("retry= must be a lionrx RetryPolicy", provider=self.name)
        self.retry: RetryPolicy = policy or RetryPolicy(max_retries=self.config.max_retries)
        wire_log = self.config.options.get("wire_log")
        if wire_log is not None and self.name not in _REPLAYABLE_WIRES:
            raise ConfigurationError(
                f"wire_log= records raw SSE bodies that replay can read (openai, anthropic); "
                f"{self.name} is not one of them (for ollama's NDJSON, record events with "
                "lionrx.sinks.file(path, format='jsonl'))",
                provider=self.name,
            )
        self.wire_log: str | os.PathLike[str] | None = wire_log
        self._session: aiohttp.ClientSession | None = None
        self._owns_session = True
        self._closer: AsyncGenerator[None, None] | None = None

    # -- configuration --------------------------------------------------------------------------

    @classmethod
    def resolve_base_url(cls, base_url: str | None) -> str:
        """``base_url`` (or its environment variable, or the default) normalised."""
        return (env_or(base_url, *cls.base_url_env) or cls.default_base_url).rstrip("/")

    @classmethod
    @abc.abstractmethod
    def default_endpoint(cls) -> str:
        """The endpoint used when none is given."""

    def validate_params(self, params: dict[str, Any]) -> None:
        """Raise `ConfigurationError` for parameters the provider would reject."""
        for key, (low, high) in self.param_ranges.items():
            value = params.get(key)
            if value is None:
                continue
            if not isinstance(value, int | float) or not low <= value <= high:
                raise ConfigurationError(
                    f"{key}={value!r} is out of range for {self.name} (allowed {low}..{high})",
                    provider=self.name,
                )

    def api_key(self) -> str | None:
        """The key as text, for building headers only."""
        return self.config.api_key.get_secret_value() if self.config.api_key else None

    def require_key(self) -> str | None:
        key = self.api_key()
        base = self.config.base_url or ""
        if key is None and any(host in base for host in self.requires_key_for):
            names = " or ".join(self.api_key_env)
            raise ConfigurationError(
                f"no API key for {self.name}: pass api_key= or set {names}", provider=self.name
            )
        return key

    # -- session ------------------------------------------------------------------------------

    def attach_session(self, session: aiohttp.ClientSession) -> None:
        """Use a caller's session (shared between models); the caller closes it."""
        self._session = session
        self._owns_session = False
        self._closer = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session for requests on the running loop, created on first use."""
        session = self._session
        if session is not None and self._owns_session and not session.closed:
            if session._loop is not asyncio.get_running_loop():
                # Made on a loop that is gone (a previous asyncio.run, another test): it cannot
                # be used here; mark it closed without touching the dead loop.
                session.detach()
        if session is None or (self._owns_session and session.closed):
            session = aiohttp.ClientSession()
            self._session = session
            self._owns_session = True
            self._closer = _session_closer(session)
        return session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        closer, self._closer = self._closer, None
        if closer is not None:
            await closer.aclose()  # closes the session it guards
        elif session is not None and self._owns_session and not session.closed:
            await session.close()

    # -- one request ----------------------------------------------------------------------------

    @abc.abstractmethod
    def build_request(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(url, headers, JSON body) for one call; raises `ConfigurationError` when invalid."""

    @abc.abstractmethod
    def mapper(self, streaming: bool) -> Mapper:
        """A fresh mapper for one response."""

    @abc.abstractmethod
    def stream_decoder(self) -> Decoder:
        """The incremental decoder of the streaming body."""

    stream_media_types: ClassVar[tuple[str, ...]] = ("text/event-stream",)

    async def events(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> AsyncGenerator[Event, None]:
        params = dict(params)
        self.validate_params(params)
        url, headers, body = self.build_request(messages, params)
        streaming = bool(body.get("stream", True))
        mapper = self.mapper(streaming)
        seen: list[Mapping[str, str]] = []
        started = time.monotonic()

        wire_log = self.wire_log
        tap: WireTap | None = None

        def decoder_for(media_type: str) -> Decoder:
            nonlocal tap
            decoder = self.stream_decoder() if streaming else WholeBody()
            if wire_log is None or not streaming:
                # No tap: the plain decoder, so the per-chunk path costs nothing extra.
                return decoder
            # The replay provider picks the mapper by this name (OpenAI has two wire formats).
            wire = f"{self.name}-responses" if url.endswith("/responses") else self.name
            tap = WireTap(wire_log, decoder, wire, started)
            return tap

        items = post_stream(
            self.session,
            url,
            body=body,
            headers=headers,
            decoder_factory=decoder_for,
            accept=self.stream_media_types if streaming else ("application/json",),
            provider=self.name,
            timeout=self.config.timeout,
            retry=self.retry,
            on_headers=seen.append,
        )
        try:
            async for item in items:
                out = mapper.feed(item)
                for event in out:
                    yield event
                if mapper.done:
                    await _drain(items)
                    return
            for event in mapper.end():
                yield event
        except LionrxError as exc:
            if exc.request_id is None and seen:
                # Mid-stream errors rarely repeat the id; the response headers have it.
                exc.request_id = request_id_from(seen[-1])
            if exc.provider is None:
                exc.provider = self.name
            raise
        finally:
            await items.aclose()
            if tap is not None:
                tap.close_file()


def _session_closer(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """A started async generator whose only job is to close ``session`` when it is finalised.

    A model that is never closed (``model = iModel(...)`` in a script or notebook) must not leak
    its connections or make aiohttp warn "Unclosed client session" at exit. The running loop
    tracks every started async generator and finalises it in the two moments that matter:
    when it is garbage-collected (the model was dropped: the loop schedules ``aclose()``), and
    at loop shutdown (``asyncio.run`` awaits ``loop.shutdown_asyncgens()``, which closes the ones
    still alive, e.g. a module-level model). The generator holds the session, not the provider,
    so it never keeps a model alive. Must be called on the loop thread, inside the running loop.
    """

    async def guard() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if not session.closed:
                await session.close()

    closer = guard()
    # Step it to its first ``yield`` without awaiting: this registers it with the running loop
    # (the firstiter hook) so that the loop finalises it; nothing here suspends.
    step = closer.asend(None)
    try:
        step.send(None)
    except StopIteration:
        pass
    return closer


DRAIN_SECONDS = 0.5
"""How long to wait for the body's end after the provider's end of answer."""


async def _drain(items: AsyncGenerator[Any, None]) -> None:
    """Read to the end of a body whose answer is complete, so that the connection goes back
    to the pool; a server that keeps the body open gets the connection closed instead."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in items:
                pass
    except (TimeoutError, LionrxError):
        pass


class BodyMapper:
    """A `Mapper` for a whole non-streaming JSON body: parses it and maps it in one go."""

    __slots__ = ("_map", "_provider", "done")

    def __init__(self, map_body: Callable[[Any], list[Event]], provider: str) -> None:
        self._map = map_body
        self._provider = provider
        self.done = False

    def feed(self, item: Any) -> list[Event]:
        self.done = True
        return self._map(parse_json_item(item, self._provider, loads))

    def end(self) -> list[Event]:
        return []


def parse_json_item(data: str | bytes, provider: str, loads: Any) -> Any:
    """Parse one data line / body as JSON, or raise `ProtocolError` quoting the line."""
    try:
        return loads(data)
    except ValueError as exc:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        shown = text if len(text) <= 200 else text[:200] + "..."
        raise ProtocolError(
            f"invalid JSON from {provider} in data line {shown!r}: {exc}", provider=provider
        ) from None


def cut_off(provider: str, expected: str) -> ProtocolError:
    """The error for a body that ended before the provider's end of answer."""
    return ProtocolError(
        f"the {provider} response ended before its end of answer ({expected}): the stream was "
        "cut off",
        provider=provider,
    )


def items_of(value: Any) -> Iterable[Any]:
    """``value`` if it is a list, else nothing (tolerates nulls in provider JSON)."""
    return value if isinstance(value, list) else ()


class _Comment:
    """Stands for 'the server sent SSE comments here' (keep-alives); it has no ``data``."""

    __slots__ = ()
    event = "comment"
    data = None


COMMENT = _Comment()


class SSEItems:
    """The SSE decoder, plus a `COMMENT` item where keep-alive comments arrived."""

    __slots__ = ("_decoder",)

    def __init__(self) -> None:
        from lionrx._sse import SSEDecoder

        self._decoder = SSEDecoder()

    def feed(self, data: bytes) -> list[Any]:
        decoder = self._decoder
        before = decoder.comments
        events: list[Any] = decoder.feed(data)
        if decoder.comments != before:
            # One keep-alive per network chunk is enough: comments carry no content.
            events.insert(0, COMMENT)
        return events

    def close(self) -> list[Any]:
        return list(self._decoder.close())


WIRE_HEADER = b": lionrx-wire "
"""Starts each recording in a wire log (an SSE comment, so the file stays valid SSE)."""


class WireTap:
    """A decoder wrapper that appends every body chunk, byte-exact, to a file before decoding.

    The body read with ``iter_any()`` in `lionrx._transport.post_stream` passes through
    ``feed``; only the body is written (never the request, its headers or the API key). Each
    recording starts with a ``: lionrx-wire {"wire": ..., "created": ...}`` comment line, and a
    ``: t=<seconds since the request started>`` comment is inserted before a chunk only when
    the bytes written so far end at an event boundary (a blank line), so the file stays valid
    SSE and SSE clients ignore the stamps. Every write is flushed (what was received survives a
    crash or a dropped connection); the file is appended to, one recording per request, and
    the replay provider plays such a file as a cassette (successive calls, successive
    recordings).
    """

    def __init__(
        self, path: str | os.PathLike[str], inner: Decoder, wire: str, started: float
    ) -> None:
        self.inner = inner
        self.started = started
        self._file = open(path, "ab")  # noqa: SIM115 - closed by close_file() / close()
        header = json.dumps({"wire": wire, "created": time.time()}).encode()
        # A previous recording cut mid-line must not swallow this one's header line.
        lead = b"\n" if self._file.tell() and not _ends_with_newline(path) else b""
        self._file.write(lead + WIRE_HEADER + header + b"\n")
        self._file.flush()
        self._tail = b"\n\n"  # the start of the body is an event boundary

    def feed(self, data: bytes) -> Iterable[Any]:
        if data:
            file = self._file
            if not file.closed:
                tail = self._tail
                if tail.endswith((b"\n\n", b"\r\r", b"\r\n\r\n")):
                    stamp = time.monotonic() - self.started
                    file.write(b": t=%.6f\n" % stamp)
                file.write(data)
                file.flush()
                self._tail = (tail + data)[-4:]
        return self.inner.feed(data)

    def close(self) -> Iterable[Any]:
        self.close_file()
        return self.inner.close()

    def close_file(self) -> None:
        """Flush, fsync and close the file (idempotent; also run when the request stops)."""
        file = self._file
        if not file.closed:
            file.flush()
            try:
                os.fsync(file.fileno())
            finally:
                file.close()


def _ends_with_newline(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
