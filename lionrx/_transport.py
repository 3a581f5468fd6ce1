"""Shared HTTP for every HTTP provider: POST a JSON body over aiohttp, map error statuses to typed
errors, retry only before the response starts, and hand the body to an incremental decoder.

The body is read with ``iter_any()`` (never line by line, so multi-megabyte lines work) and fed to
an I/O-free decoder; closing the returned generator closes the connection at once, so the server
sees the disconnect as soon as the consumer stops.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import math
import random
import re
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from lionrx._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    LionrxError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProtocolError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    StreamTimeout,
    redact,
)

__all__ = [
    "Decoder",
    "RetryPolicy",
    "error_from_response",
    "parse_retry_after",
    "post_stream",
    "request_id_from",
    "retry_delay_from",
]

MAX_RETRY_AFTER = 120.0
"""Server-requested delays above this are not honoured (the official SDKs use the same cap)."""


class Decoder(Protocol):
    """An incremental, I/O-free body decoder (SSE, NDJSON, whole JSON)."""

    def feed(self, data: bytes) -> Iterable[Any]: ...

    def close(self) -> Iterable[Any]: ...


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a request that has not started answering.

    Delays: the server's ``retry-after`` (or reset header) when it is within ``max_retry_after``,
    else ``initial_backoff * 2**attempt`` capped at ``max_backoff``, minus up to ``jitter`` of it.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = MAX_RETRY_AFTER
    jitter: float = 0.25

    def backoff(self, attempt: int) -> float:
        """The jittered exponential delay before retry number ``attempt`` (0-based)."""
        delay = min(self.initial_backoff * (2**attempt), self.max_backoff)
        return float(delay * (1 - self.jitter * random.random()))

    def delay(self, attempt: int, error: LionrxError | None) -> float:
        """Seconds to wait before retry ``attempt`` after ``error``."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None and 0 < retry_after <= self.max_retry_after:
            return float(retry_after)
        return self.backoff(attempt)


# --------------------------------------------------------------------------- retry-after parsing

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_GO_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PROSE_DELAY = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s|seconds?)\b", re.IGNORECASE)


def _finite_positive(value: float, cap: float) -> float | None:
    if math.isfinite(value) and 0 < value <= cap:
        return value
    return None


def parse_retry_after(
    headers: Mapping[str, str], *, now: float | None = None, cap: float = MAX_RETRY_AFTER
) -> float | None:
    """The delay the server asked for via ``retry-after-ms`` or ``retry-after`` (seconds or an
    HTTP date), or None when absent, unparseable, not positive, or above ``cap``.

    Same order and rules as openai-python's ``_parse_retry_after_header``.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ms = lower.get("retry-after-ms")
    if raw_ms:
        try:
            return _finite_positive(float(raw_ms) / 1000.0, cap)
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if not raw:
        return None
    try:
        return _finite_positive(float(raw), cap)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        when = email.utils.mktime_tz(parsed)
    except (ValueError, OverflowError, TypeError):
        return None
    current = time.time() if now is None else now
    return _finite_positive(when - current, cap)


def _go_duration(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    total = 0.0
    pos = 0
    for match in _GO_DURATION.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) else None


def _rfc3339(text: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def retry_delay_from(
    headers: Mapping[str, str],
    message: str = "",
    *,
    now: float | None = None,
    cap: float = MAX_RETRY_AFTER,
) -> float | None:
    """The best retry hint of a 429/5xx response, in seconds.

    In order: ``retry-after-ms`` / ``retry-after``; the provider's prose ("Please try again in
    8.764s", the hint most specific to this error); OpenAI's ``x-ratelimit-reset-*`` (Go
    durations) and Anthropic's ``anthropic-ratelimit-*-reset`` (RFC 3339 times), taking the
    longest so that every exhausted limit has reset.
    """
    delay = parse_retry_after(headers, now=now, cap=cap)
    if delay is not None:
        return delay
    match = _PROSE_DELAY.search(message)
    if match:
        value = float(match.group(1))
        if match.group(2).lower() == "ms":
            value /= 1000.0
        hinted = _finite_positive(value, cap)
        if hinted is not None:
            return hinted
    current = time.time() if now is None else now
    resets: list[float] = []
    for name, header in headers.items():
        key = name.lower()
        if key.startswith("x-ratelimit-reset-"):
            seconds = _go_duration(header)
            if seconds is not None:
                resets.append(seconds)
        elif key.startswith("anthropic-ratelimit-") and key.endswith("-reset"):
            when = _rfc3339(header)
            if when is not None:
                resets.append(when - current)
    # Every exhausted limit must reset: the longest wait counts, and none if it exceeds the cap.
    return _finite_positive(max(resets), cap) if resets else None


# --------------------------------------------------------------------------- error mapping


def request_id_from(headers: Mapping[str, str], body: Any = None) -> str | None:
    """The provider's request id: ``x-request-id`` / ``request-id`` header, or ``request_id``."""
    lower = {k.lower(): v for k, v in headers.items()}
    rid = lower.get("x-request-id") or lower.get("request-id")
    if rid:
        return rid
    if isinstance(body, dict) and isinstance(body.get("request_id"), str):
        return str(body["request_id"])
    return None


def _try_json(raw: bytes) -> Any:
    import json

    try:
        return json.loads(raw)
    except ValueError:
        return None


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    """(message, type, code) from the error envelopes of OpenAI, Anthropic and Ollama."""
    if not isinstance(body, dict):
        return None, None, None
    err = body.get("error")
    if isinstance(err, str):
        return err, None, None
    if isinstance(err, dict):
        message = err.get("message")
        return (
            str(message) if message is not None else None,
            str(err["type"]) if err.get("type") is not None else None,
            str(err["code"]) if err.get("code") is not None else None,
        )
    message = body.get("message") or body.get("detail")
    return (str(message) if message is not None else None), None, None


def _redact_json(value: Any) -> Any:
    """``value`` (a parsed error body) with keys removed from every string in it: providers
    echo a wrong key back in their message."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body_bytes: bytes,
    *,
    provider: str | None = None,
    now: float | None = None,
    cap: float = MAX_RETRY_AFTER,
) -> APIStatusError:
    """The typed error for an HTTP error response (any body: JSON envelope or not)."""
    import json

    text = body_bytes.decode("utf-8", errors="replace")
    body: Any
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    message, etype, code = _error_fields(body)
    if message is None:
        snippet = " ".join(text.split())[:500]
        message = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status} with an empty body"
    rid = request_id_from(headers, body)
    kw: dict[str, Any] = {
        "status": status,
        "request_id": rid,
        "provider": provider,
        "body": _redact_json(body) if body is not None else redact(text[:2000]),
    }
    retry_after = retry_delay_from(headers, message, now=now, cap=cap)
    error: APIStatusError
    if status == 429:
        error = RateLimitError(message, retry_after=retry_after, **kw)
        # A spent quota is a 429 too, but waiting does not help.
        error.retryable = not (code == "insufficient_quota" or etype == "insufficient_quota")
        return error
    if status in (529, 503) or etype == "overloaded_error":
        error = OverloadedError(message, retry_after=retry_after, **kw)
    elif status >= 500:
        error = ServerError(message, retry_after=retry_after, **kw)
    elif status in (400, 422):
        error = BadRequestError(message, **kw)
    elif status == 401:
        error = AuthenticationError(message, **kw)
    elif status == 403:
        error = PermissionDeniedError(message, **kw)
    elif status == 404:
        error = NotFoundError(message, **kw)
    else:
        error = APIStatusError(message, **kw)
    if status in (408, 409):
        # Request timeout / lock conflict: the official SDKs retry these too.
        error.retryable = True
    return error


# --------------------------------------------------------------------------- content type


def _media_type(content_type: str | None) -> str:
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def check_content_type(
    content_type: str | None, accepted: tuple[str, ...], status: int | None = None
) -> None:
    """Raise `ProtocolError` naming the header unless its MIME essence is one of ``accepted``
    (and the status, when it is not 200: a 204 or 202 has no answer in it)."""
    essence = _media_type(content_type)
    if essence not in accepted:
        shown = content_type if content_type else "(missing)"
        where = f" on HTTP {status}" if status is not None and status != 200 else ""
        raise ProtocolError(
            f"unexpected Content-Type {shown!r}{where}: expected {' or '.join(accepted)}",
            status=status if where else None,
        )


# --------------------------------------------------------------------------- the request


def _discard(
    response: aiohttp.ClientResponse, protocol: Any, session: aiohttp.ClientSession
) -> None:
    """Close the response's connection, even if aiohttp already pooled it at the body's end."""
    released = response.connection is None
    response.close()
    if not released or protocol is None:
        return
    # aiohttp hands a connection back to its pool as soon as the body's end is parsed, which
    # can be before a failure is noticed. Only a connection still idle in the pool is closed
    # (checked and closed without an await between, so no other request can have taken it).
    pool = getattr(session.connector, "_conns", None)
    try:
        idle = pool is not None and any(
            entry[0] is protocol for entries in pool.values() for entry in entries
        )
    except (AttributeError, TypeError, IndexError):
        idle = False
    if idle:
        protocol.close()


def _request_error(exc: aiohttp.ClientError, provider: str, url: str) -> LionrxError:
    """The typed error for a request that got no usable response head, worded by what happened:
    only a failed connect says "could not connect"."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return ConfigurationError(f"cannot send to {provider}: {detail}", provider=provider)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"could not connect to {provider} at {url}: {detail}", provider=provider
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        # aiohttp's HTTP parser rejected what the server sent (a bad status line, a body after
        # a 204, malformed headers): the server answered, but not in HTTP. Retrying the same
        # server is unlikely to help.
        return ProtocolError(
            f"{provider} at {url} sent an invalid HTTP response: {detail}", provider=provider
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError(
            f"{provider} at {url} closed the connection before answering: {detail}",
            provider=provider,
        )
    return APIConnectionError(
        f"the request to {provider} at {url} failed: {detail}", provider=provider
    )


@functools.cache
def _user_agent() -> str:
    from lionrx import __version__

    return f"lionrx/{__version__} aiohttp/{aiohttp.__version__}"


async def post_stream(
    session: aiohttp.ClientSession,
    url: str,
    *,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    decoder_factory: Callable[[str], Decoder],
    accept: tuple[str, ...],
    provider: str,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
    on_headers: Callable[[Mapping[str, str]], Any] | None = None,
) -> AsyncGenerator[Any, None]:
    """POST ``body`` as JSON and yield what the decoder makes of the response body.

    ``decoder_factory(media_type)`` builds the decoder once the response's type is known (so a
    JSON answer to a non-streaming request can get a whole-body decoder); ``accept`` lists the
    media types allowed. Retries (per ``retry``) happen only before the body is read. Closing the
    generator closes the connection. ``on_headers`` is called with the successful response's
    headers before the body is read.
    """
    policy = retry or RetryPolicy()
    # Like the official SDKs, the timeout bounds connecting and each wait for data, not the
    # whole answer: a long answer that keeps streaming is not cut off.
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    request_headers = {"User-Agent": _user_agent(), **headers}
    attempt = 0
    while True:
        try:
            response = await session.post(
                url, json=body, headers=request_headers, timeout=client_timeout
            )
        except TimeoutError as exc:
            error: LionrxError = StreamTimeout(
                f"no response from {provider} within {timeout} s",
                which="first",
                seconds=timeout or 0.0,
                provider=provider,
            )
            error.retryable = True
            cause: BaseException = exc
        except aiohttp.ClientError as exc:
            error = _request_error(exc, provider, url)
            cause = exc
        else:
            if response.status < 400:
                break
            try:
                raw = await response.read()
            except (TimeoutError, aiohttp.ClientError):
                raw = b""
            finally:
                response.release()
            error = error_from_response(
                response.status,
                response.headers,
                raw,
                provider=provider,
                cap=policy.max_retry_after,
            )
            cause = error
            retry_after = getattr(error, "retry_after", None)
            if retry_after is None and "retry-after" in {k.lower() for k in response.headers}:
                # The server asked for a wait longer than we honour: do not hammer it.
                error.retryable = False
        if attempt >= policy.max_retries or not error.retryable:
            if cause is not error:
                raise error from cause
            raise error
        await sleep(policy.delay(attempt, error))
        attempt += 1

    finished = False
    # The connection's protocol, kept even if aiohttp pools it at the body's end (see _discard).
    connection = response.connection
    protocol = (
        connection.protocol if connection is not None else getattr(response, "_protocol", None)
    )
    try:
        if on_headers is not None:
            on_headers(response.headers)
        content_type = response.headers.get("Content-Type")
        if _media_type(content_type) == "application/json" and "application/json" not in accept:
            # Some servers answer a streaming request with a JSON error body and status 200.
            raw = await response.content.read(1 << 20)
            message, etype, _ = _error_fields(_try_json(raw))
            if message is not None:
                raise ProviderStreamError(
                    message,
                    error_type=etype,
                    provider=provider,
                    request_id=request_id_from(response.headers),
                )
        check_content_type(content_type, accept, response.status)
        decoder = decoder_factory(_media_type(content_type))
        try:
            async for chunk in response.content.iter_any():
                for item in decoder.feed(chunk):
                    yield item
            tail = decoder.close()
        except TimeoutError:
            raise StreamTimeout(
                f"{provider} sent nothing for {timeout} s in the middle of its response",
                which="idle",
                seconds=timeout or 0.0,
                provider=provider,
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise ProtocolError(
                f"the {provider} response body was cut off: {exc}", provider=provider
            ) from exc
        except aiohttp.ClientError as exc:
            raise APIConnectionError(
                f"connection to {provider} broke mid-response: {type(exc).__name__}: {exc}",
                provider=provider,
            ) from exc
        for item in tail:
            yield item
        finished = True
    finally:
        if finished:
            response.release()
        else:
            # Stopped early (consumer left, error, cancel): drop the connection now so the
            # server stops generating, instead of draining it back into the pool.
            _discard(response, protocol, session)
