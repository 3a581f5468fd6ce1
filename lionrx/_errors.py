"""lionrx's exceptions: one `LionrxError` base, typed by what went wrong.

Every error may carry ``partial``: the `Response` accumulated before it happened, so nothing
already received is lost. Messages never contain API keys (see `redact`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lionrx._events import Response

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "LionrxError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "ProtocolError",
    "ProviderStreamError",
    "RateLimitError",
    "ServerError",
    "StreamCancelled",
    "StreamTimeout",
    "error_from_dict",
    "error_to_dict",
    "redact",
]

_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,})"
)
_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a credential so that `redact` removes it wherever it would appear."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """Remove known API keys and key-shaped strings from text."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return _KEY_PATTERNS.sub("***", text)


class LionrxError(Exception):
    """Base of every lionrx error.

    Attributes: ``message``; ``status`` (HTTP status or None); ``request_id``; ``provider``;
    ``partial`` (the `Response` received before the error, if any).
    """

    retryable: bool = False
    """Whether sending the same request again may succeed (connect errors, 429, 5xx, 529)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        provider: str | None = None,
        body: Any = None,
        partial: Response | None = None,
    ) -> None:
        self.message = redact(message)
        self.status = status
        self.request_id = request_id
        self.provider = provider
        self.body = body
        self.partial = partial
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        extra = []
        if self.status is not None:
            extra.append(f"status {self.status}")
        if self.provider:
            extra.append(self.provider)
        if self.request_id:
            extra.append(f"request {self.request_id}")
        if extra:
            parts.append(f"({', '.join(extra)})")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"

    @property
    def partial_text(self) -> str:
        """Text received before the error ('' when none)."""
        return self.partial.text if self.partial is not None else ""


class ConfigurationError(LionrxError, ValueError):
    """Invalid settings, detected before any request is sent."""


class APIConnectionError(LionrxError):
    """The server could not be reached, or the connection broke before a response."""

    retryable = True


class APIStatusError(LionrxError):
    """The provider answered with an HTTP error status."""


class BadRequestError(APIStatusError):
    """HTTP 400/422: the request was invalid."""


class AuthenticationError(APIStatusError):
    """HTTP 401: missing or invalid API key."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403."""


class NotFoundError(APIStatusError):
    """HTTP 404: unknown model or endpoint."""


class RateLimitError(APIStatusError):
    """HTTP 429. ``retry_after`` is the delay in seconds the provider asked for, if any."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class OverloadedError(APIStatusError):
    """HTTP 529 / 503, or a mid-stream ``overloaded_error``: try later."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """HTTP 5xx."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderStreamError(LionrxError):
    """The provider reported an error in the middle of a stream (after HTTP 200)."""

    def __init__(self, message: str, *, error_type: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.error_type = error_type


class ProtocolError(LionrxError):
    """The response broke the protocol: invalid JSON in a data line, a wrong content type,
    invalid UTF-8, or a body that ended before the provider's end of answer."""


class StreamTimeout(LionrxError, TimeoutError):
    """A deadline expired. ``which`` is ``"first"``, ``"idle"`` or ``"total"``."""

    def __init__(self, message: str, *, which: str, seconds: float, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.which = which
        self.seconds = seconds


class StreamCancelled(LionrxError):
    """The stream was stopped by its consumer (disposal, ``break``, task cancellation)."""


_BY_NAME: dict[str, type[LionrxError]] = {
    cls.__name__: cls
    for cls in (
        LionrxError,
        ConfigurationError,
        APIConnectionError,
        APIStatusError,
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        RateLimitError,
        OverloadedError,
        ServerError,
        ProviderStreamError,
        ProtocolError,
        StreamTimeout,
        StreamCancelled,
    )
}


def error_to_dict(error: BaseException) -> dict[str, Any]:
    """A JSON-safe description of an exception (type, message, status...); never a key."""
    out: dict[str, Any] = {"type": type(error).__name__, "message": redact(str(error))}
    if isinstance(error, LionrxError):
        out["message"] = error.message
        for attr in ("status", "request_id", "provider", "retry_after", "which", "seconds"):
            value = getattr(error, attr, None)
            if value is not None:
                out[attr] = value
        if isinstance(error, ProviderStreamError) and error.error_type:
            out["error_type"] = error.error_type
        if error.retryable != type(error).retryable:
            # Set per instance (a spent quota's 429 is not retryable): kept when it differs.
            out["retryable"] = error.retryable
    return out


def error_from_dict(data: dict[str, Any]) -> BaseException:
    """Rebuild an exception from `error_to_dict` output (unknown types become `LionrxError`)."""
    cls = _BY_NAME.get(str(data.get("type")), LionrxError)
    message = str(data.get("message", ""))
    common = {k: data.get(k) for k in ("status", "request_id", "provider")}
    error: LionrxError
    if cls is StreamTimeout:
        error = StreamTimeout(
            message,
            which=str(data.get("which", "total")),
            seconds=float(data.get("seconds", 0)),
            **common,
        )
    elif cls in (RateLimitError, OverloadedError, ServerError):
        error = cls(message, retry_after=data.get("retry_after"), **common)
    elif cls is ProviderStreamError:
        error = ProviderStreamError(message, error_type=data.get("error_type"), **common)
    else:
        error = cls(message, **common)
    if isinstance(data.get("retryable"), bool):
        error.retryable = data["retryable"]
    return error
