"""Round-trip properties: any message and any branch survive JSON and SQLite unchanged."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionrx import Session
from lionrx.events import ToolCall, Usage
from lionrx.session import (
    AssistantResponseContent,
    Branch,
    BranchExport,
    InstructionContent,
    Message,
    SystemContent,
    ToolResultContent,
)
from lionrx.session.messages import MESSAGE_ADAPTER

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
metadata = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
texts = st.text(max_size=60)
times = st.datetimes(
    min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)
)
opt_int = st.none() | st.integers(min_value=0, max_value=10**9)

tool_calls = st.builds(
    ToolCall,
    index=st.integers(min_value=0, max_value=5),
    id=st.none() | st.text(min_size=1, max_size=10),
    name=st.none() | st.text(min_size=1, max_size=10),
    arguments=texts,
)
usages = st.none() | st.builds(
    Usage,
    input_tokens=opt_int,
    output_tokens=opt_int,
    reasoning_tokens=opt_int,
    cache_read_tokens=opt_int,
    source=st.none() | st.text(max_size=5),
)
contents = st.one_of(
    st.builds(SystemContent, system_message=texts),
    st.builds(
        InstructionContent,
        instruction=texts,
        context=json_values,
        images=st.lists(st.text(min_size=1, max_size=30), max_size=2).map(tuple),
    ),
    st.builds(
        AssistantResponseContent,
        assistant_response=texts,
        reasoning=texts,
        reasoning_signature=st.none() | texts,
        refusal=texts,
        tool_calls=st.lists(tool_calls, max_size=2).map(tuple),
        usage=usages,
        model_name=st.none() | texts,
        source=st.none() | texts,
        stop_reason=st.none() | texts,
        status=st.sampled_from(["complete", "incomplete", "in_progress"]),
        incomplete_reason=st.none() | texts,
        error=st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    ),
    st.builds(
        ToolResultContent,
        tool_call_id=texts,
        name=st.none() | texts,
        result=json_values,
        is_error=st.booleans(),
    ),
)
messages = st.builds(Message, content=contents, created_at=times, metadata=metadata)
conversation_messages = messages.filter(lambda m: not isinstance(m.content, SystemContent))


@given(messages)
@settings(max_examples=200, deadline=None)
def test_message_json_round_trip(message: Message) -> None:
    assert Message.model_validate_json(message.model_dump_json()) == message
    assert MESSAGE_ADAPTER.validate_json(MESSAGE_ADAPTER.dump_json(message)) == message
    assert Message.model_validate(json.loads(message.model_dump_json())) == message


branches = st.builds(
    Branch,
    name=st.text(min_size=1, max_size=12),
    order=st.just([]),
    system=st.none() | st.builds(Message, content=st.builds(SystemContent, system_message=texts)),
    created_at=times,
    metadata=metadata,
)


@given(branches, st.lists(conversation_messages, max_size=6))
@settings(max_examples=100, deadline=None)
def test_branch_json_round_trip(branch: Branch, msgs: list[Message]) -> None:
    branch.order = [m.id for m in msgs]
    doc = BranchExport(branch=branch, messages=msgs)
    again = BranchExport.model_validate_json(doc.model_dump_json())
    assert again == doc

    # Through a session's export / import too.
    session = Session()
    imported = session.import_branch(doc.model_dump_json())
    exported = BranchExport.model_validate_json(session.export_branch(imported))
    assert exported.messages == msgs
    assert exported.branch.order == branch.order
    assert exported.branch.system == branch.system
    assert exported.branch.metadata == branch.metadata


@st.composite
def sessions_plan(draw: st.DrawFn) -> tuple[list[Branch], list[Message], list[list[int]]]:
    bs = draw(st.lists(branches, min_size=1, max_size=3, unique_by=lambda b: b.name))
    ms = draw(st.lists(conversation_messages, max_size=8, unique_by=lambda m: m.id))
    # Which messages each branch holds (indices into ms; repeats allowed across branches).
    picks = [draw(st.lists(st.integers(0, len(ms) - 1), max_size=6)) if ms else [] for _ in bs]
    return bs, ms, picks


@given(sessions_plan())
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_session_sqlite_round_trip(
    plan: tuple[list[Branch], list[Message], list[list[int]]],
) -> None:
    bs, ms, picks = plan
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "s.db"
        with Session.open(db, recover=False) as session:
            for m in ms:
                session.add_message(m, branches=[])
            made = []
            for b, pick in zip(bs, picks, strict=True):
                branch = session.create_branch(name=b.name, system=b.system)
                for i in pick:
                    session.append_to_branch(branch, ms[i])
                made.append(branch)
            expected_branches = {
                b.name: (b.id, list(b.order), b.system, b.created_at) for b in made
            }
            expected_messages = dict(session.messages)

        with Session.open(db, recover=False) as again:
            assert dict(again.messages) == expected_messages
            got = {
                b.name: (b.id, list(b.order), b.system, b.created_at)
                for b in again.branches.values()
            }
            assert got == expected_branches


@given(st.lists(conversation_messages, max_size=10))
@settings(max_examples=100, deadline=None)
def test_anthropic_shape_alternates_and_keeps_every_text(msgs: list[Message]) -> None:
    """Any conversation: Anthropic turns alternate, and every text, tool call and tool result
    is there, in order."""
    from lionrx.session import prepare_anthropic_chat, prepare_messages_for_chat

    chat = prepare_anthropic_chat(msgs)
    roles = [m["role"] for m in chat["messages"]]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))
    assert chat["system"] is None  # system prompts live on branches, not in this list

    def pieces(blocks: Any) -> list[str]:
        if isinstance(blocks, str):
            return [blocks]
        out = []
        for block in blocks:
            if block["type"] == "text":
                out.append(block["text"])
            elif block["type"] == "tool_result":
                out.append(block["content"])
            elif block["type"] == "tool_use":
                out.append(f"tool:{block['id']}")
        return out

    got = [p for m in chat["messages"] for p in pieces(m["content"])]
    expected: list[str] = []
    for m in prepare_messages_for_chat(msgs):
        if m["role"] == "tool":
            expected.append(m["content"])
            continue
        content = m["content"]
        if isinstance(content, list):
            expected += [
                part["text"] for part in content if part["type"] == "text" and part["text"]
            ]
        elif content:
            expected.append(content)
        expected += [f"tool:{call['id']}" for call in m.get("tool_calls", ())]
    assert got == expected
