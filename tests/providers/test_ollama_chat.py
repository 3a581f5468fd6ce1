"""A chat written for OpenAI works against Ollama's native ``/api/chat``: content parts become
a string plus base64 ``images``, tool-call arguments become objects; a native chat is unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from lionrx.errors import ConfigurationError
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer

OPENAI_CHAT: list[dict[str, Any]] = [
    {"role": "system", "content": "Use tools."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in "},
            {"type": "text", "text": "this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "look", "arguments": '{"zoom": 2}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": ""}},
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
]


async def _send(server: FakeProviderServer, messages: list[dict[str, Any]]) -> list[Any]:
    async with iModel(provider="ollama", model="llama3.2", base_url=server.url) as model:
        calling = await model.invoke(messages=messages)
    calling.raise_for_status()
    body = server.last_request.json
    assert isinstance(body, dict)
    return list(body["messages"])


async def test_an_openai_chat_is_sent_in_ollamas_shape(fake_server: FakeProviderServer) -> None:
    sent = await _send(fake_server, OPENAI_CHAT)
    assert sent[0] == OPENAI_CHAT[0]
    assert sent[1] == {
        "role": "user",
        "content": "What is in this picture?",
        "images": ["iVBORw0KGgo="],
    }
    calls = sent[2]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == [{"zoom": 2}, {}]
    assert [c["function"]["name"] for c in calls] == ["look", "noop"]
    assert sent[3] == OPENAI_CHAT[3]
    assert OPENAI_CHAT[2]["tool_calls"][0]["function"]["arguments"] == '{"zoom": 2}'  # not mutated


async def test_a_native_ollama_chat_is_sent_unchanged(fake_server: FakeProviderServer) -> None:
    native: list[dict[str, Any]] = [
        {"role": "user", "content": "look", "images": ["aGVsbG8="]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "look", "arguments": {"zoom": 2}}}],
        },
        {"role": "tool", "content": "a cat", "tool_name": "look"},
    ]
    assert await _send(fake_server, native) == native


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ({"type": "image_url", "image_url": {"url": "https://x/cat.png"}}, "base64 data"),
        ({"type": "input_audio", "input_audio": {}}, "cannot take a 'input_audio'"),
    ],
)
async def test_what_ollama_cannot_take_is_refused_before_any_request(
    fake_server: FakeProviderServer, part: dict[str, Any], message: str
) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}]
    async with iModel(provider="ollama", model="m", base_url=fake_server.url) as model:
        calling = await model.invoke(messages=messages)
    with pytest.raises(ConfigurationError, match=message):
        calling.raise_for_status()
    assert fake_server.requests == []
