"""Turn stored messages into provider-ready chat messages (OpenAI and Anthropic shapes).

OpenAI's chat format is the neutral one (what ``iModel.stream(messages=...)`` takes); the
Anthropic shape moves the system prompt out of the list, merges consecutive turns of one role
(Anthropic requires alternation) and spells tool use and results as content blocks. Either can
be built from the same branch, so a conversation started with one provider continues with
another.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from lionrx.session.messages._message import (
    AssistantResponseContent,
    InstructionContent,
    Message,
    SystemContent,
    ToolResultContent,
)

__all__ = [
    "openai_message",
    "AnthropicChat",
    "openai_to_anthropic",
    "prepare_anthropic_chat",
    "prepare_messages_for_chat",
]

ChatItem = Message | Mapping[str, Any]


class AnthropicChat(TypedDict):
    """Keyword arguments for Anthropic's Messages API: ``client.messages.create(**chat, ...)``."""

    system: str | None
    messages: list[dict[str, Any]]


def _select(
    messages: Iterable[ChatItem] | Mapping[Any, ChatItem], progression: Any
) -> list[ChatItem]:
    """The messages in progression order (and the branch's system prompt first)."""
    if isinstance(messages, Mapping) and not _is_chat_dict(messages):
        pool: list[ChatItem] = list(messages.values())
    elif isinstance(messages, Message) or _is_chat_dict(messages):
        raise TypeError("messages must be a list of messages, not a single message")
    else:
        pool = list(messages)
    if progression is None:
        return pool
    order = getattr(progression, "order", progression)
    by_id: dict[uuid.UUID, Message] = {m.id: m for m in pool if isinstance(m, Message)}
    selected: list[ChatItem] = []
    system = getattr(progression, "system", None)
    if isinstance(system, Message):
        selected.append(system)
    for ref in order:
        key = ref.id if isinstance(ref, Message) else _as_uuid(ref)
        found = by_id.get(key)
        if found is None:
            raise KeyError(f"message {key} of the progression is not among the given messages")
        selected.append(found)
    return selected


def _is_chat_dict(item: object) -> bool:
    return isinstance(item, Mapping) and "role" in item


def _as_uuid(ref: Any) -> uuid.UUID:
    return ref if isinstance(ref, uuid.UUID) else uuid.UUID(str(ref))


def _skip(message: Message) -> bool:
    content = message.content
    if isinstance(content, AssistantResponseContent):
        # An answer still streaming is not context yet; an empty one (failed before any text)
        # has nothing to send (providers reject empty assistant turns).
        if content.status == "in_progress":
            return True
        return not (content.assistant_response or content.tool_calls or content.refusal)
    return False


def prepare_messages_for_chat(
    messages: Iterable[ChatItem] | Mapping[Any, ChatItem],
    progression: Any = None,
) -> list[dict[str, Any]]:
    """Chat messages in OpenAI's shape, ready to extend with ``{"role": "user", ...}``.

    ``messages`` is a plain list of `Message` objects (plain chat dicts pass through), or a
    mapping of them by id (``session.messages``); ``progression`` (a `Branch` or a list of
    message ids) selects and orders them, and a branch's system prompt comes first. Answers that
    are still streaming or empty are left out; incomplete answers are kept (the user saw them).
    For Anthropic's shape use `prepare_anthropic_chat`.
    """
    out: list[dict[str, Any]] = []
    for item in _select(messages, progression):
        if not isinstance(item, Message):
            out.append(dict(item))
            continue
        if _skip(item):
            continue
        out.append(_context_message(item))
    return _settle_tool_calls(out)


_INCOMPLETE = "_lionrx_incomplete"


def _context_message(message: Message) -> dict[str, Any]:
    """`openai_message`, with an answer that did not complete marked for `_settle_tool_calls`
    (its tool calls may be cut off mid-arguments and were probably never run)."""
    chat = openai_message(message)
    content = message.content
    if isinstance(content, AssistantResponseContent) and content.status != "complete":
        chat[_INCOMPLETE] = True
    return chat


def _settle_tool_calls(chat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the tool calls that were never answered: a tool call without its result right
    after it makes both OpenAI and Anthropic reject the whole request (HTTP 400). Unanswered
    means no ``tool`` result follows and the conversation went on, or the answer that made the
    call did not complete; tool calls at the very end of a complete answer are kept, for the
    caller to append their results. An assistant turn left with neither text nor tool calls is
    dropped. (The stored messages keep everything.)"""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(chat):
        incomplete = bool(item.pop(_INCOMPLETE, False))
        calls = item.get("tool_calls") if item.get("role") == "assistant" else None
        if calls:
            answered: set[str] = set()
            j = i + 1
            while j < len(chat) and chat[j].get("role") == "tool":
                answered.add(str(chat[j].get("tool_call_id")))
                j += 1
            if j < len(chat) or incomplete:
                kept = [c for c in calls if str(c.get("id")) in answered]
                if len(kept) != len(calls):
                    item = {k: v for k, v in item.items() if k != "tool_calls"}
                    if kept:
                        item["tool_calls"] = kept
                    elif not item.get("content"):
                        continue
        out.append(item)
    return out


def openai_message(message: Message) -> dict[str, Any]:
    """One message in OpenAI's chat shape."""
    content = message.content
    if isinstance(content, SystemContent):
        return {"role": "system", "content": content.system_message}
    if isinstance(content, InstructionContent):
        if not content.images:
            return {"role": "user", "content": content.rendered}
        parts: list[dict[str, Any]] = [{"type": "text", "text": content.rendered}]
        parts.extend({"type": "image_url", "image_url": {"url": url}} for url in content.images)
        return {"role": "user", "content": parts}
    if isinstance(content, AssistantResponseContent):
        text = content.assistant_response or content.refusal
        out: dict[str, Any] = {"role": "assistant", "content": text or None}
        if content.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id or f"call_{call.index}",
                    "type": "function",
                    "function": {"name": call.name or "", "arguments": call.arguments or "{}"},
                }
                for call in content.tool_calls
            ]
        return out
    assert isinstance(content, ToolResultContent)
    return {"role": "tool", "tool_call_id": content.tool_call_id, "content": content.rendered}


def prepare_anthropic_chat(
    messages: Iterable[ChatItem] | Mapping[Any, ChatItem],
    progression: Any = None,
) -> AnthropicChat:
    """The conversation in Anthropic's shape: ``{"system": ..., "messages": [...]}``.

    Same selection as `prepare_messages_for_chat`. System prompts go to ``system``; turns of
    the same role are merged into one message of content blocks (Anthropic requires user and
    assistant to alternate); tool calls become ``tool_use`` blocks and tool results
    ``tool_result`` blocks in a user turn; reasoning with a signature is sent back as a
    ``thinking`` block.
    """
    items: list[Mapping[str, Any]] = []
    for item in _select(messages, progression):
        if not isinstance(item, Message):
            items.append(item)
        elif not _skip(item):
            chat = _context_message(item)
            content = item.content
            if isinstance(content, AssistantResponseContent) and content.reasoning_signature:
                chat["_thinking"] = {
                    "type": "thinking",
                    "thinking": content.reasoning,
                    "signature": content.reasoning_signature,
                }
            items.append(chat)
    return openai_to_anthropic(_settle_tool_calls([dict(i) for i in items]))


def openai_to_anthropic(chat: Sequence[Mapping[str, Any]]) -> AnthropicChat:
    """Convert OpenAI-shaped chat messages (as `prepare_messages_for_chat` returns them, plus
    anything appended) to Anthropic's shape."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for item in chat:
        role = item.get("role")
        if role in ("system", "developer"):
            system.append(_plain_text(item.get("content")))
            continue
        if role == "tool":
            blocks: list[dict[str, Any]] = [
                {
                    "type": "tool_result",
                    "tool_use_id": str(item.get("tool_call_id", "")),
                    "content": _plain_text(item.get("content")),
                }
            ]
            role = "user"
        elif role == "assistant":
            thinking = item.get("_thinking")
            blocks = [dict(thinking)] if thinking else []
            blocks.extend(_text_blocks(item.get("content")))
            for call in item.get("tool_calls") or ():
                function = call.get("function", {})
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.get("id"),
                        "name": function.get("name", ""),
                        "input": _json_object(function.get("arguments")),
                    }
                )
        elif role == "user":
            blocks = _text_blocks(item.get("content"))
        else:
            raise ValueError(f"unknown chat role {role!r}")
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        # A lone text block reads best (and is accepted everywhere) as a plain string.
        content = turn["content"]
        if len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return {"system": "\n\n".join(s for s in system if s) or None, "messages": turns}


def _plain_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return str(content)


_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]+);base64,(?P<data>.*)$", re.DOTALL)


def _text_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            url = part.get("image_url", {}).get("url", "")
            match = _DATA_URL.match(url)
            if match:
                source = {
                    "type": "base64",
                    "media_type": match["mime"],
                    "data": match["data"],
                }
            else:
                source = {"type": "url", "url": url}
            blocks.append({"type": "image", "source": source})
        else:
            # Already Anthropic-shaped (tool_result, image, document...): keep as is.
            blocks.append(dict(part))
    return blocks


def _json_object(arguments: Any) -> Any:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not arguments:
        return {}
    try:
        value = json.loads(arguments)
    except ValueError:
        # A cut-off tool call: keep its raw text rather than lose it.
        return {"_raw_arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}
