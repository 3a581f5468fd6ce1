"""Providers: each turns a chat request into a stream of lionrx events.

HTTP providers (``openai``, ``anthropic``, ``ollama``) share one transport; in-process providers
(``local``, ``replay``) are registered lazily so a missing optional dependency never breaks
``import lionrx``.
"""

from __future__ import annotations

import importlib

from lionrx._transport import RetryPolicy
from lionrx.providers._anthropic import AnthropicProvider
from lionrx.providers._base import (
    Provider,
    ProviderConfig,
    get_provider,
    provider_names,
    register_provider,
)
from lionrx.providers._ollama import OllamaProvider
from lionrx.providers._openai import OpenAIProvider

__all__ = [
    "AnthropicProvider",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderConfig",
    "RetryPolicy",
    "get_provider",
    "provider_names",
    "register_provider",
]

for _optional in ("lionrx.providers._local", "lionrx.providers._replay"):
    try:
        importlib.import_module(_optional)
    except ImportError:
        # Optional providers (llama.cpp, replay) register themselves when importable.
        pass
