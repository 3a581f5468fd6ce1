"""Messages of a conversation: one `Message` envelope around one typed content.

Contents are frozen pydantic models discriminated on ``kind``; the message's role follows from
its content. An assistant answer records how it ended (``status``): a streamed answer that was
cut off is kept, marked ``incomplete`` with the reason, never passed off as complete.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from lionrx._events import Response, ToolCall, Usage

__all__ = [
    "AssistantResponseContent",
    "Content",
    "InstructionContent",
    "Message",
    "MessageRole",
    "MessageStatus",
    "SystemContent",
    "ToolResultContent",
    "MESSAGE_ADAPTER",
]


class MessageRole(StrEnum):
    """Who speaks: ``msg.role.value`` is the chat role name."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


MessageStatus = Literal["complete", "incomplete", "in_progress"]
"""How an assistant answer ended: ``in_progress`` while it streams (and, once the process that
wrote it is gone, turned into ``incomplete`` with reason ``interrupted``)."""


class _ContentBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SystemContent(_ContentBase):
    """The system prompt."""

    kind: Literal["system"] = "system"
    system_message: str
    """The system prompt's text."""

    @property
    def rendered(self) -> str:
        """The text sent to a provider."""
        return self.system_message


class InstructionContent(_ContentBase):
    """A user turn: an instruction, optional context and images."""

    kind: Literal["instruction"] = "instruction"
    instruction: str
    """What the user asks."""
    context: Any = None
    """Extra material the model should use (any JSON value), rendered after the instruction."""
    images: tuple[str, ...] = ()
    """Image URLs (``https://...`` or ``data:image/png;base64,...``)."""

    @property
    def rendered(self) -> str:
        """The text sent to a provider: the instruction, then the context (as JSON if not a
        string)."""
        if self.context is None or self.context == "" or self.context == []:
            return self.instruction
        if isinstance(self.context, str):
            context = self.context
        else:
            context = json.dumps(self.context, ensure_ascii=False, indent=2, default=str)
        return f"{self.instruction}\n\nContext:\n{context}"


class AssistantResponseContent(_ContentBase):
    """An assistant answer, with everything the stream delivered and how it ended."""

    kind: Literal["assistant_response"] = "assistant_response"
    assistant_response: str = ""
    """The answer text (the partial text when ``status`` is not ``complete``)."""
    reasoning: str = ""
    """The model's reasoning text, when it streamed any."""
    reasoning_signature: str | None = None
    """Anthropic's signature over the reasoning, needed to send a thinking block back."""
    refusal: str = ""
    """A refusal, when the provider sent one instead of (or besides) text."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Tool calls the model made."""
    usage: Usage | None = None
    """Token usage, when reported."""
    model_name: str | None = None
    """The model that answered (as the provider reported it, else the iModel's name)."""
    source: str | None = None
    """The stream label the answer came from (the iModel's name or a merge label)."""
    stop_reason: str | None = None
    """The provider's stop reason (``stop``, ``end_turn``, ``max_tokens``...)."""
    status: MessageStatus = "complete"
    """``complete``, ``incomplete`` (cut off: see ``incomplete_reason``) or ``in_progress``."""
    incomplete_reason: str | None = None
    """Why the answer is incomplete: ``cancelled``, ``timeout``, ``error``, ``interrupted``..."""
    error: dict[str, Any] | None = None
    """The failure that cut the answer off (`lionrx.errors.error_to_dict` form; never a key)."""

    @property
    def rendered(self) -> str:
        """The text sent back to a provider as this turn."""
        return self.assistant_response

    @property
    def is_complete(self) -> bool:
        """True only for an answer that ended normally."""
        return self.status == "complete"

    @classmethod
    def from_response(
        cls,
        response: Response,
        *,
        status: MessageStatus = "complete",
        incomplete_reason: str | None = None,
        error: dict[str, Any] | None = None,
        model_name: str | None = None,
    ) -> AssistantResponseContent:
        """Build the content from a stream's (final or partial) `Response`."""
        return cls(
            assistant_response=response.text,
            reasoning=response.reasoning,
            reasoning_signature=response.reasoning_signature,
            refusal=response.refusal,
            tool_calls=response.tool_calls,
            usage=response.usage,
            model_name=response.model or model_name or response.source,
            source=response.source,
            stop_reason=response.stop_reason,
            status=status,
            incomplete_reason=incomplete_reason,
            error=error,
        )


class ToolResultContent(_ContentBase):
    """The result of a tool call, sent back to the model."""

    kind: Literal["tool_result"] = "tool_result"
    tool_call_id: str
    """The id of the call this answers (``ToolCall.id``)."""
    name: str | None = None
    """The tool's name."""
    result: Any = None
    """The tool's output (any JSON value; strings are sent as they are)."""
    is_error: bool = False
    """True when the tool failed and ``result`` describes the failure."""

    @property
    def rendered(self) -> str:
        """The result as text."""
        if isinstance(self.result, str):
            return self.result
        return json.dumps(self.result, ensure_ascii=False, default=str)


Content = Annotated[
    SystemContent | InstructionContent | AssistantResponseContent | ToolResultContent,
    Field(discriminator="kind"),
]
"""Any message content."""

_ROLES: dict[str, MessageRole] = {
    "system": MessageRole.SYSTEM,
    "instruction": MessageRole.USER,
    "assistant_response": MessageRole.ASSISTANT,
    "tool_result": MessageRole.TOOL,
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Message(BaseModel):
    """One message: ``id``, ``role`` (from the content), ``content``, ``created_at``,
    ``metadata``. Frozen: an update (a streamed answer growing) is a new `Message` with the same
    id, put back into the session with ``session.update_message``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    """Unique id; branches refer to messages by it."""
    role: MessageRole = MessageRole.USER
    """The chat role; always the one the content implies."""
    content: Content
    """What the message says."""
    created_at: dt.datetime = Field(default_factory=_now)
    """When the message was created (timezone-aware, UTC)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form JSON-safe data."""

    @model_validator(mode="before")
    @classmethod
    def _role_from_content(cls, data: Any) -> Any:
        if isinstance(data, dict) and "content" in data:
            content = data["content"]
            kind = (
                content.get("kind") if isinstance(content, dict) else getattr(content, "kind", None)
            )
            role = _ROLES.get(str(kind))
            if role is not None:
                given = data.get("role")
                if given is not None and MessageRole(given) is not role:
                    raise ValueError(
                        f"role {MessageRole(given).value!r} does not match a {kind} content "
                        f"(role {role.value!r})"
                    )
                data = {**data, "role": role}
        return data

    @model_validator(mode="after")
    def _utc(self) -> Message:
        if self.created_at.tzinfo is None:
            object.__setattr__(self, "created_at", self.created_at.replace(tzinfo=dt.UTC))
        return self

    @property
    def text(self) -> str:
        """The content as the text a provider would receive."""
        return self.content.rendered

    def to_chat(self) -> dict[str, Any]:
        """This message as one OpenAI-shaped chat message (what ``iModel`` accepts)."""
        from lionrx.session.messages._chat import openai_message

        return openai_message(self)

    def with_content(self, content: Any) -> Message:
        """A copy with new content (same id, creation time and metadata)."""
        return Message(
            id=self.id, content=content, created_at=self.created_at, metadata=self.metadata
        )


MESSAGE_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)
"""Dumps and loads messages as JSON."""
