"""Which model the command talks to: flags, then environment, then the embedded local model.

Order: ``--fake`` (lionrx's fake provider server, in-process); ``--provider`` or
``LIONRX_PROVIDER``; ``--base-url`` alone means an OpenAI-compatible server; ``OPENAI_API_KEY``;
``ANTHROPIC_API_KEY``; else the local model, and the command says so in one line.
``--model`` may name the provider too: ``openai:gpt-4o-mini``, ``local:/models/x.gguf``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lionrx._errors import ConfigurationError, LionrxError
from lionrx._transport import RetryPolicy
from lionrx.providers import get_provider, provider_names
from lionrx.services import iModel

__all__ = [
    "AnnouncedRetry",
    "DEFAULT_FAKE_TEXT",
    "DEFAULT_MODELS",
    "ModelChoice",
    "ModelFactory",
    "parse_model_spec",
]

DEFAULT_MODELS: dict[str, str | None] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "ollama": "llama3.2",
    "local": None,
}
"""The model used when ``--model`` is not given."""

_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_BASE_ENV = {"openai": "OPENAI_BASE_URL", "anthropic": "ANTHROPIC_BASE_URL"}

DEFAULT_FAKE_TEXT = (
    "Streams flow chunk by chunk. Each token arrives, and the reader sees it at once. "
    "The answer grows on screen until the last word lands."
)


_RETRY_HINT = re.compile(r"[:;] retry in (?:[\d.]+s|a moment)$")


@dataclass(frozen=True)
class AnnouncedRetry(RetryPolicy):
    """The transport's retry policy, saying on stderr what it waits for when the wait is
    long enough to notice (a server's ``retry-after``): an interactive command must not sit
    silent through it. Short backoffs pass without a word; the final error is one line."""

    announce_from: float = 1.0
    """Waits shorter than this (seconds) are not announced."""

    def delay(self, attempt: int, error: LionrxError | None) -> float:
        seconds = super().delay(attempt, error)
        if error is not None and seconds >= self.announce_from:
            from lionrx._cli._errors import describe_error

            reason = _RETRY_HINT.sub("", describe_error(error))
            print(
                f"lionrx: {reason}: retrying in {seconds:.1f}s "
                f"({attempt + 1} of {self.max_retries}; Ctrl-C stops)",
                file=sys.stderr,
                flush=True,
            )
        return seconds


@dataclass(frozen=True)
class ModelChoice:
    """A resolved provider and model, with the notice to print (if any)."""

    provider: str
    model: str | None
    base_url: str | None = None
    notice: str | None = None


def parse_model_spec(spec: str | None) -> tuple[str | None, str | None]:
    """``"openai:gpt-4o"`` → ``("openai", "gpt-4o")``; ``"gpt-4o"`` → ``(None, "gpt-4o")``.

    Only a known provider name counts as a prefix, so Ollama tags (``llama3.2:1b``) and paths
    keep their colons.
    """
    if not spec:
        return None, None
    head, sep, tail = spec.partition(":")
    if sep and head in provider_names() and head != "replay":
        return head, tail or None
    if spec in provider_names() and spec != "replay":
        return spec, None
    return None, spec


def choose_provider(
    provider: str | None, base_url: str | None, env: os._Environ[str] | dict[str, str]
) -> tuple[str, str | None]:
    """(provider, notice) from the flags and the environment."""
    chosen = provider or env.get("LIONRX_PROVIDER") or None
    if chosen:
        return chosen, None
    if base_url:
        return "openai", None
    if env.get("OPENAI_API_KEY"):
        return "openai", None
    if env.get("ANTHROPIC_API_KEY"):
        return "anthropic", None
    from lionrx.providers._local import DEFAULT_MODEL_NAME

    return "local", (
        f"lionrx: no API key configured (OPENAI_API_KEY, ANTHROPIC_API_KEY): "
        f"using the local model {DEFAULT_MODEL_NAME} (--provider to choose)"
    )


def _check_key(provider: str, base_url: str | None, env: os._Environ[str] | dict[str, str]) -> None:
    name = _KEY_ENV.get(provider)
    if name is None or env.get(name) or base_url or env.get(_BASE_ENV[provider]):
        return
    raise ConfigurationError(
        f"no API key for {provider}: set {name} (or --base-url for a compatible server, "
        "or --provider local for the embedded model)",
        provider=provider,
    )


@dataclass
class ModelFactory:
    """Builds the models of one command run from its flags; closes them at the end."""

    provider: str | None = None
    base_url: str | None = None
    fake_base_url: str | None = None
    """Set when ``--fake``: every model is an OpenAI-compatible model on the fake server."""
    defaults: dict[str, Any] = field(default_factory=dict)
    """Request parameters for every model (temperature, max_tokens, seed)."""
    max_retries: int = 2
    """Retries before an answer starts (HTTP providers)."""
    announce_retries: bool = False
    """Say on stderr when a request waits to be retried (the command line does)."""
    env: os._Environ[str] | dict[str, str] = field(default_factory=lambda: os.environ)
    built: list[iModel] = field(default_factory=list)
    notice: str | None = None
    """The one-line notice of the last choice (local model by default), not yet printed."""

    def choose(self, spec: str | None = None) -> ModelChoice:
        """Resolve ``--model SPEC`` (with the factory's ``--provider``) to a provider/model."""
        if self.fake_base_url is not None:
            _, model = parse_model_spec(spec)
            return ModelChoice("openai", model or "fake-model", self.fake_base_url)
        spec_provider, model = parse_model_spec(spec)
        provider, notice = (
            (spec_provider, None)
            if spec_provider
            else choose_provider(self.provider, self.base_url, self.env)
        )
        if provider not in provider_names():
            known = ", ".join(n for n in provider_names() if n != "replay")
            raise ConfigurationError(f"unknown provider {provider!r} (choose from: {known})")
        if model is None:
            model = DEFAULT_MODELS.get(provider)
        _check_key(provider, self.base_url, self.env)
        return ModelChoice(provider, model, self.base_url, notice)

    def build(self, spec: str | None = None, *, name: str | None = None) -> iModel:
        """An `iModel` for ``--model SPEC``; its notice (if any) is left in ``notice``."""
        choice = self.choose(spec)
        kwargs: dict[str, Any] = dict(self.defaults)
        if self.fake_base_url is not None:
            kwargs["api_key"] = "fake-key"
        if choice.base_url and choice.provider != "local":
            kwargs["base_url"] = choice.base_url
        if self.announce_retries and "retry" in get_provider(choice.provider).client_options:
            kwargs["retry"] = AnnouncedRetry(max_retries=self.max_retries)
        label = name or choice.model or choice.provider
        model = iModel(
            provider=choice.provider,
            model=choice.model,
            name=label,
            max_retries=self.max_retries,
            **kwargs,
        )
        self.built.append(model)
        if choice.notice:
            self.notice = choice.notice
        return model

    def build_many(self, specs: Sequence[str]) -> list[iModel]:
        """One model per spec, labelled uniquely (``a``, ``a#2`` for a repeated spec)."""
        models: list[iModel] = []
        seen: dict[str, int] = {}
        for spec in specs:
            _, model_name = parse_model_spec(spec)
            base = model_name or spec
            count = seen.get(base, 0) + 1
            seen[base] = count
            models.append(self.build(spec, name=base if count == 1 else f"{base}#{count}"))
        return models

    async def aclose(self) -> None:
        """Close every model built (HTTP sessions, loaded local models)."""
        built, self.built = self.built, []
        for model in built:
            await model.aclose()
