"""Messages and their provider shapes: roles, rendering, OpenAI and Anthropic chat lists."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from lionrx import Session
from lionrx.events import ToolCall, Usage
from lionrx.session import (
    AssistantResponseContent,
    InstructionContent,
    Message,
    MessageRole,
    SystemContent,
    ToolResultContent,
    prepare_anthropic_chat,
    prepare_messages_for_chat,
)
from lionrx.session.messages.utils import openai_to_anthropic
from lionrx.testing import FakeProviderServer


def test_roles_follow_content() -> None:
    assert Message(content=SystemContent(system_message="s")).role is MessageRole.SYSTEM
    assert Message(content=InstructionContent(instruction="i")).role.value == "user"
    assert Message(content=AssistantResponseContent()).role.value == "assistant"
    assert Message(content=ToolResultContent(tool_call_id="c")).role.value == "tool"
    with pytest.raises(ValidationError, match="does not match"):
        Message(role="assistant", content=InstructionContent(instruction="i"))
    msg = Message(content=InstructionContent(instruction="i"))
    assert msg.created_at.tzinfo is not None and isinstance(msg.id, uuid.UUID)
    naive = Message(content=InstructionContent(instruction="i"), created_at=dt.datetime(2024, 1, 1))
    assert naive.created_at.tzinfo is dt.UTC
    with pytest.raises(ValidationError):
        msg.metadata = {}  # type: ignore[misc]


def test_rendering() -> None:
    assert InstructionContent(instruction="Q").rendered == "Q"
    assert InstructionContent(instruction="Q", context="ctx").rendered == "Q\n\nContext:\nctx"
    assert '"k": [\n    1\n  ]' in InstructionContent(instruction="Q", context={"k": [1]}).rendered
    assert ToolResultContent(tool_call_id="c", result={"a": 1}).rendered == '{"a": 1}'
    assert ToolResultContent(tool_call_id="c", result="ok").rendered == "ok"


def _conversation() -> tuple[Session, list[Message]]:
    session = Session()
    branch = session.create_branch(name="b", system="sys")
    call = ToolCall(index=0, id="call_1", name="weather", arguments='{"city": "Oslo"}')
    msgs = [
        Message(
            content=InstructionContent(
                instruction="Weather?", images=("data:image/png;base64,iVBORw0KGgo=",)
            )
        ),
        Message(
            content=AssistantResponseContent(
                assistant_response="Let me check.",
                reasoning="need tool",
                reasoning_signature="sig",
                tool_calls=(call,),
                usage=Usage(input_tokens=1, output_tokens=2),
            )
        ),
        Message(content=ToolResultContent(tool_call_id="call_1", name="weather", result={"t": 3})),
        Message(content=InstructionContent(instruction="And tomorrow?")),
        Message(content=AssistantResponseContent(assistant_response="", status="incomplete")),
        Message(content=AssistantResponseContent(assistant_response="Cold", status="incomplete")),
        Message(
            content=AssistantResponseContent(assistant_response="stream", status="in_progress")
        ),
    ]
    for m in msgs:
        session.add_message(m, branches=branch)
    return session, msgs


def test_openai_shape() -> None:
    session, msgs = _conversation()
    branch = session.branches["b"]
    chat = prepare_messages_for_chat(messages=msgs, progression=branch)
    assert chat == [
        {"role": "system", "content": "sys"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"t": 3}'},
        {"role": "user", "content": "And tomorrow?"},
        {"role": "assistant", "content": "Cold"},
    ]
    # The same from the session's store, from ids, and with dicts appended by the notebook.
    assert prepare_messages_for_chat(session.messages, branch) == chat
    assert prepare_messages_for_chat(session.messages, branch.order) == chat[1:]
    assert prepare_messages_for_chat([*msgs, {"role": "user", "content": "x"}])[-1] == {
        "role": "user",
        "content": "x",
    }
    assert [m.to_chat() for m in msgs[:1]] == [chat[1]]


def test_prepare_errors() -> None:
    session, msgs = _conversation()
    with pytest.raises(KeyError, match="not among the given messages"):
        prepare_messages_for_chat(messages=msgs[:2], progression=session.branches["b"])
    with pytest.raises(TypeError, match="list of messages"):
        prepare_messages_for_chat(msgs[0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown chat role"):
        openai_to_anthropic([{"role": "robot", "content": "x"}])


def test_anthropic_shape() -> None:
    session, msgs = _conversation()
    chat = prepare_anthropic_chat(session.messages, session.branches["b"])
    assert chat["system"] == "sys"
    assert chat["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "need tool", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            # The tool result and the next instruction merge into one user turn.
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": '{"t": 3}'},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
        {"role": "assistant", "content": "Cold"},
    ]
    roles = [m["role"] for m in chat["messages"]]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))


def test_openai_to_anthropic_merges_and_keeps_cut_tool_calls() -> None:
    chat = openai_to_anthropic(
        [
            {"role": "system", "content": "a"},
            {"role": "developer", "content": [{"type": "text", "text": "b"}]},
            {"role": "user", "content": "1"},
            {"role": "user", "content": "2"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "t", "function": {"name": "f", "arguments": '{"x": '}},
                ],
            },
            {"role": "assistant", "content": ""},
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "https://i/x.png"}}],
            },
        ]
    )
    assert chat == {
        "system": "a\n\nb",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "1"}, {"type": "text", "text": "2"}],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "t",
                        "name": "f",
                        "input": {"_raw_arguments": '{"x": '},
                    },
                ],
            },
            {
                "role": "user",
                "content": [{"type": "image", "source": {"type": "url", "url": "https://i/x.png"}}],
            },
        ],
    }


async def test_shapes_accepted_by_official_sdks(server: FakeProviderServer) -> None:
    """The official clients send our lists unchanged (they are the reference shapes)."""
    import anthropic
    import openai

    session, _ = _conversation()
    branch = session.branches["b"]

    oa = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test-00000000")
    chat = prepare_messages_for_chat(session.messages, branch)
    await oa.chat.completions.create(model="gpt-4o-mini", messages=chat)  # type: ignore[arg-type]
    await oa.close()
    assert server.requests[-1].json["messages"] == chat

    an = anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="sk-ant-test-0000")
    achat = prepare_anthropic_chat(session.messages, branch)
    await an.messages.create(
        model="claude-3-5-sonnet-20241022",
        max_tokens=64,
        system=achat["system"] or "",
        messages=achat["messages"],  # type: ignore[arg-type]
    )
    await an.close()
    sent = server.requests[-1].json
    assert sent["system"] == "sys" and sent["messages"] == achat["messages"]


def test_unanswered_tool_calls_are_not_sent_as_context() -> None:
    """Providers reject a history with a tool call that has no result right after it (HTTP 400
    on OpenAI and Anthropic). Calls that were answered, or that end the list (the caller appends
    their results), are sent; calls of an answer that did not complete are not. The stored
    messages keep everything."""
    session = Session()
    branch = session.create_branch(name="t")
    done = ToolCall(index=0, id="call_ok", name="weather", arguments='{"city": "Oslo"}')
    unanswered = ToolCall(index=1, id="call_lost", name="time", arguments="{}")
    cut = ToolCall(index=0, id="call_cut", name="weather", arguments='{"ci')
    ran = ToolCall(index=0, id="call_ran", name="time", arguments="{}")
    msgs = [
        Message(content=InstructionContent(instruction="Weather and time?")),
        Message(content=AssistantResponseContent(tool_calls=(done, unanswered))),
        Message(content=ToolResultContent(tool_call_id="call_ok", result="3 C")),
        Message(content=InstructionContent(instruction="Never mind the time.")),
        Message(content=AssistantResponseContent(tool_calls=(unanswered,))),
        Message(content=InstructionContent(instruction="Stop.")),
        Message(
            content=AssistantResponseContent(
                assistant_response="Checking", tool_calls=(cut,), status="incomplete"
            )
        ),
        Message(
            content=AssistantResponseContent(tool_calls=(ran,), status="incomplete")
        ),  # stopped after a whole call, which was run anyway: sent with its result
        Message(content=ToolResultContent(tool_call_id="call_ran", result="ok")),
        Message(content=InstructionContent(instruction="Again?")),
        Message(content=AssistantResponseContent(tool_calls=(done,))),
    ]
    for m in msgs:
        session.add_message(m, branches=branch)

    chat = prepare_messages_for_chat(session.messages, branch)
    assert [(m["role"], [c["id"] for c in m.get("tool_calls", ())]) for m in chat] == [
        ("user", []),
        ("assistant", ["call_ok"]),
        ("tool", []),
        ("user", []),
        ("user", []),  # the answer made only of an unanswered call is left out
        ("assistant", []),  # the cut-off answer's text stays, its cut call does not
        ("assistant", ["call_ran"]),
        ("tool", []),
        ("user", []),
        ("assistant", ["call_ok"]),  # the last call: its result is for the caller to append
    ]
    assert chat[5]["content"] == "Checking"

    anthropic = prepare_anthropic_chat(session.messages, branch)["messages"]
    uses = [b["id"] for m in anthropic if isinstance(m["content"], list) for b in m["content"]
            if b["type"] == "tool_use"]  # fmt: skip
    results = [b["tool_use_id"] for m in anthropic if isinstance(m["content"], list)
               for b in m["content"] if b["type"] == "tool_result"]  # fmt: skip
    assert uses == ["call_ok", "call_ran", "call_ok"] and results == ["call_ok", "call_ran"]
    roles = [m["role"] for m in anthropic]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))
    # An unanswered call of an answer that did not complete is dropped even at the end.
    tail = prepare_messages_for_chat([msgs[0], msgs[6]])
    assert tail == [
        {"role": "user", "content": "Weather and time?"},
        {"role": "assistant", "content": "Checking"},
    ]
    # Nothing is lost from the store.
    stored = session.messages[msgs[6].id].content
    assert isinstance(stored, AssistantResponseContent) and stored.tool_calls == (cut,)
