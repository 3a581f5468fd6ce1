"""Provider-ready chat messages from a conversation (lionpride's import path)."""

from lionrx.session.messages._chat import (
    AnthropicChat,
    openai_to_anthropic,
    prepare_anthropic_chat,
    prepare_messages_for_chat,
)

__all__ = [
    "AnthropicChat",
    "openai_to_anthropic",
    "prepare_anthropic_chat",
    "prepare_messages_for_chat",
]
