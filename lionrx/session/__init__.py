"""Sessions: conversations as branches of messages, models by name, optional SQLite storage."""

from lionrx.session._branch import Branch
from lionrx.session._services import ServiceRegistry
from lionrx.session._session import BranchExport, MessageStore, Session
from lionrx.session._store import SCHEMA_VERSION
from lionrx.session.messages import (
    AssistantResponseContent,
    InstructionContent,
    Message,
    MessageRole,
    SystemContent,
    ToolResultContent,
)
from lionrx.session.messages.utils import prepare_anthropic_chat, prepare_messages_for_chat

__all__ = [
    "SCHEMA_VERSION",
    "AssistantResponseContent",
    "Branch",
    "BranchExport",
    "InstructionContent",
    "Message",
    "MessageRole",
    "MessageStore",
    "ServiceRegistry",
    "Session",
    "SystemContent",
    "ToolResultContent",
    "prepare_anthropic_chat",
    "prepare_messages_for_chat",
]
