"""A chat written for OpenAI works against Anthropic: the provider converts tool results, tool
calls and image URLs to content blocks, and leaves a chat already in Anthropic's shape alone."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import MessageParam
from pydantic import TypeAdapter

from lionrx.errors import ConfigurationError
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer

# The official SDK's request types: what it would accept as ``messages=``.
SDK_MESSAGES = TypeAdapter(list[MessageParam])

OPENAI_TOOL_CHAT: list[dict[str, Any]] = [
    {"role": "system", "content": "Use tools."},
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
            },
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    {"role": "tool", "tool_call_id": "call_2", "content": "24 C"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "And this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    },
]


async def _send(server: FakeProviderServer, messages: list[dict[str, Any]]) -> dict[str, Any]:
    async with iModel(provider="anthropic", model="claude", base_url=server.url) as model:
        calling = await model.invoke(messages=messages)
    calling.raise_for_status()
    body = server.last_request.json
    assert isinstance(body, dict)
    return body


async def test_an_openai_tool_chat_is_sent_as_anthropic_blocks(
    fake_server: FakeProviderServer,
) -> None:
    body = await _send(fake_server, OPENAI_TOOL_CHAT)
    assert body["system"] == "Use tools."
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18 C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "24 C"},
                {"type": "text", "text": "And this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
            ],
        },
    ]
    SDK_MESSAGES.validate_python(body["messages"])
    roles = [turn["role"] for turn in body["messages"]]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False)), "roles alternate"


async def test_an_anthropic_chat_is_sent_unchanged(fake_server: FakeProviderServer) -> None:
    native: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Long context", "cache_control": {"type": "ephemeral"}}
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {"x": 1}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "2"}]},
    ]
    body = await _send(fake_server, native)
    assert body["messages"] == native
    SDK_MESSAGES.validate_python(body["messages"])


async def test_an_unknown_role_is_refused_before_any_request(
    fake_server: FakeProviderServer,
) -> None:
    messages = [{"role": "function", "name": "f", "content": "1"}]
    async with iModel(provider="anthropic", model="claude", base_url=fake_server.url) as model:
        calling = await model.invoke(messages=messages)
    with pytest.raises(ConfigurationError, match="cannot be sent to anthropic"):
        calling.raise_for_status()
    assert fake_server.requests == []
