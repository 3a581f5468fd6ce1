"""One clear line per error, saying what to do: the command never shows a traceback."""

from __future__ import annotations

from lionrx._errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    LionrxError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamCancelled,
    StreamTimeout,
    redact,
)

__all__ = ["describe_error"]

_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


def _retry(delay: float | None) -> str:
    return f"retry in {delay:g}s" if delay is not None else "retry in a moment"


def describe_error(error: BaseException) -> str:
    """A one-line description of ``error`` with what to do about it (keys redacted)."""
    provider = getattr(error, "provider", None) or "the provider"
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, StreamCancelled):
        line = "stopped"
    elif isinstance(error, ConfigurationError):
        line = message
    elif isinstance(error, AuthenticationError):
        env = _KEY_ENV.get(provider)
        hint = f"check {env}" if env else "check the API key"
        line = f"{provider} rejected the API key (401): {hint}"
    elif isinstance(error, PermissionDeniedError):
        line = f"{provider} refused access (403): {message}; check the key's access to this model"
    elif isinstance(error, NotFoundError):
        line = f"{provider} answered 404 (not found): {message}; check --model and --base-url"
    elif isinstance(error, RateLimitError):
        line = f"rate limited by {provider} (429): {_retry(error.retry_after)}"
    elif isinstance(error, OverloadedError):
        line = f"{provider} is overloaded: {_retry(error.retry_after)}"
    elif isinstance(error, ServerError):
        status = f" ({error.status})" if error.status else ""
        line = f"{provider} had a server error{status}: {message}; {_retry(error.retry_after)}"
    elif isinstance(error, APIConnectionError):
        line = f"{message}: is the server running? check --base-url (or --provider local)"
    elif isinstance(error, StreamTimeout):
        line = f"{message}; raise --timeout-{error.which} if the model needs longer"
    elif isinstance(error, LionrxError):
        line = str(error)
    elif isinstance(error, OSError):
        line = f"{type(error).__name__}: {error}"
    else:
        line = f"{type(error).__name__}: {error}"
    return redact(" ".join(line.split()))
