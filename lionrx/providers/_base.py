"""What every provider implements: turn a chat request into an async stream of events.

A provider yields non-terminal events (`TextDelta`, `Usage`, `Finish`...) and either returns at
the provider's end of answer or raises a `LionrxError`. The shared core around it (iModel) adds
labels, timing, the `Response` and exactly one terminal outcome. HTTP providers share the
transport (retries, error mapping, cancellation); in-process providers (local, replay) yield
events directly.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from lionrx._errors import ConfigurationError
from lionrx._events import Event

__all__ = ["Provider", "ProviderConfig", "get_provider", "provider_names", "register_provider"]


class ProviderConfig(BaseModel):
    """The resolved configuration of one model (``model.backend.config``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    """Provider name: ``openai``, ``anthropic``, ``ollama``, ``local``, ``replay``..."""
    model: str | None = None
    """Model name sent to the provider."""
    endpoint: str | None = None
    """Provider endpoint (``chat/completions``, ``messages``, ``chat``)."""
    base_url: str | None = None
    """Server root, meaning what it means in each official client."""
    api_key: SecretStr | None = Field(default=None, repr=False)
    """API key; never shown in a repr, log or error."""
    timeout: float | None = 600.0
    """Seconds allowed for connecting and for each wait for data (as in the official SDKs),
    None for no limit. For deadlines on the whole answer use `lionrx.operators.timeout`."""
    max_retries: int = 2
    """Retries before the response starts (connect errors, 429, 5xx, 529)."""
    request_defaults: dict[str, Any] = Field(default_factory=dict)
    """Body parameters sent with every request (temperature, max_tokens, ...)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Client-side options a provider consumes itself (e.g. ``path`` for replay)."""


class Provider(abc.ABC):
    """Base of every provider. Subclasses set ``name`` and implement `events`."""

    name: ClassVar[str]
    client_options: ClassVar[frozenset[str]] = frozenset()
    """iModel keyword arguments this provider consumes itself instead of sending them."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config

    @abc.abstractmethod
    def events(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> AsyncIterator[Event]:
        """Stream one answer: non-terminal events, then return; raise `LionrxError` on failure.

        ``params`` are the request parameters (defaults merged with per-call overrides).
        Closing the iterator (``aclose``) must release the connection or stop generation.
        """

    async def aclose(self) -> None:
        """Release resources held across calls (HTTP session, model)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.config.model!r})"


_REGISTRY: dict[str, type[Provider]] = {}


def register_provider(cls: type[Provider]) -> type[Provider]:
    """Class decorator: make ``iModel(provider=cls.name)`` use ``cls``."""
    _REGISTRY[cls.name] = cls
    return cls


def get_provider(name: str) -> type[Provider]:
    """The provider class registered under ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigurationError(f"unknown provider {name!r} (known: {known})") from None


def provider_names() -> list[str]:
    """Names of all registered providers."""
    return sorted(_REGISTRY)
