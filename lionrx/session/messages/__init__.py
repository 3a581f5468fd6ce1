"""Conversation messages: `Message` and its typed contents."""

from lionrx.session.messages._message import (
    MESSAGE_ADAPTER,
    AssistantResponseContent,
    Content,
    InstructionContent,
    Message,
    MessageRole,
    MessageStatus,
    SystemContent,
    ToolResultContent,
)

__all__ = [
    "MESSAGE_ADAPTER",
    "AssistantResponseContent",
    "Content",
    "InstructionContent",
    "Message",
    "MessageRole",
    "MessageStatus",
    "SystemContent",
    "ToolResultContent",
]
