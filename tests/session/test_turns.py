"""Streamed and non-streamed turns over real sockets: `Session.stream`, `communicate`, forks,
and what gets recorded when an answer completes, fails or is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from lionrx import Completed, Failed, LionrxError, Session
from lionrx.errors import APIConnectionError, ServerError
from lionrx.operations import communicate
from lionrx.services import iModel
from lionrx.session import (
    AssistantResponseContent,
    InstructionContent,
    Message,
    prepare_messages_for_chat,
)
from lionrx.sinks import Sink, SinkHandle
from lionrx.testing import ErrorReply, FakeProviderServer, Fault, Script

ModelFactory = Callable[..., iModel]


def _answer(session: Session, branch_name: str, index: int = -1) -> AssistantResponseContent:
    branch = session.branches[branch_name]
    content = session.messages[branch.order[index]].content
    assert isinstance(content, AssistantResponseContent)
    return content


class _Seen(Sink):
    """Records what the caller's subscription sees, and the branch at the terminal event."""

    def __init__(self, session: Session, branch: str) -> None:
        self.session = session
        self.branch = branch
        self.order_at_outcome: list[str] = []

    def on_outcome(self, outcome: Completed | Failed) -> None:
        branch = self.session.branches[self.branch]
        self.order_at_outcome = [self.session.messages[i].role.value for i in branch.order]


async def test_stream_turn_records_instruction_and_answer(
    server: FakeProviderServer, make_model: ModelFactory, provider: str
) -> None:
    session = Session()
    model = make_model(provider, name="m")
    session.services.register(model)
    branch = session.create_branch(name="chat", system="Be brief.")
    server.queue(Script(text="Hello there. How can I help?", usage=(11, 7)))

    seen = _Seen(session, "chat")
    response = await SinkHandle(session.stream(branch, "Hi!", imodel="m"), seen)

    assert response.text == "Hello there. How can I help?"
    # The history sink subscribes first: the answer is in the branch when the caller sees
    # the terminal event.
    assert seen.order_at_outcome == ["user", "assistant"]
    answer = _answer(session, "chat")
    assert answer.status == "complete" and answer.is_complete
    assert answer.assistant_response == response.text
    assert answer.usage is not None and answer.usage.output_tokens == 7
    assert answer.source == "m"
    assert answer.stop_reason in ("stop", "end_turn")
    body = server.requests[0].json
    if provider == "anthropic":
        assert body["system"] == "Be brief."
        assert body["messages"] == [{"role": "user", "content": "Hi!"}]
    else:
        assert body["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi!"},
        ]


async def test_stream_turn_failure_keeps_partial_marked_incomplete(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    session = Session()
    session.services.register(make_model("openai", name="m", max_retries=0))
    text = "One sentence arrives. Then the connection drops before the rest is sent."
    server.queue(Script(text=text, chunk_size=4, fault=Fault.drop(at_byte=700)))

    handle = SinkHandle(session.stream(None, "go", imodel="m"), Sink())
    with pytest.raises(LionrxError) as caught:
        await handle

    partial = caught.value.partial
    assert partial is not None and partial.text and text.startswith(partial.text)
    assert partial.text != text
    answer = _answer(session, "default")
    assert answer.status == "incomplete" and not answer.is_complete
    assert answer.incomplete_reason == "error"
    assert answer.assistant_response == partial.text
    assert answer.error is not None and answer.error["type"] == type(caught.value).__name__
    # The cut-off answer is still context for the next turn: the user saw it.
    chat = prepare_messages_for_chat(session.messages, session.default_branch)
    assert chat[-1] == {"role": "assistant", "content": partial.text}


async def test_stream_turn_cancelled_by_dispose(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    session = Session()
    session.services.register(make_model("openai", name="m"))
    server.queue(Script(text="word " * 200, delay=0.01))
    texts: list[str] = []
    subscription = session.stream(None, "long please", imodel="m").subscribe(
        on_next=lambda e: texts.append(e.text) if e.kind == "text" else None
    )
    while len(texts) < 5:
        await asyncio.sleep(0.01)
    subscription.dispose()

    answer = _answer(session, "default")
    assert answer.status == "incomplete"
    assert answer.incomplete_reason == "cancelled"
    assert answer.error is not None and answer.error["type"] == "StreamCancelled"
    assert answer.assistant_response.startswith("".join(texts))
    # Disposal closed the HTTP connection.
    for _ in range(100):
        if server.disconnects:
            break
        await asyncio.sleep(0.01)
    assert server.disconnects == 1


async def test_communicate_turns_build_context(
    server: FakeProviderServer, make_model: ModelFactory, provider: str
) -> None:
    session = Session()
    model = make_model(provider)
    session.services.register(model)
    branch = session.create_branch(name="b")
    server.queue(Script(text="Paris."), Script(text="About 2 million."))

    first = await communicate(
        session=session,
        branch=branch,
        parameters={"instruction": "Capital of France?", "imodel": model.name},
    )
    second = await communicate(
        session,
        branch,
        {"instruction": "Population?", "imodel": model.name, "context": {"unit": "people"}},
        temperature=0.2,
    )

    assert (first, second) == ("Paris.", "About 2 million.")
    assert len(branch.order) == 4
    body = server.requests[1].json
    assert body["temperature"] == 0.2
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"].startswith("Population?\n\nContext:\n")
    assert '"unit": "people"' in body["messages"][2]["content"]


async def test_communicate_failure_raises_and_records(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    session = Session()
    model = make_model("openai", max_retries=0)
    session.services.register(model)
    server.queue(ErrorReply(500, {"error": {"message": "boom", "type": "server_error"}}))

    with pytest.raises(ServerError):
        await communicate(session=session, parameters={"instruction": "hi", "imodel": model.name})

    branch = session.default_branch
    assert [session.messages[i].role.value for i in branch.order] == ["user", "assistant"]
    answer = _answer(session, "default")
    assert answer.status == "incomplete" and answer.incomplete_reason == "error"
    assert answer.assistant_response == ""
    # An empty failed answer is not sent back as context.
    assert prepare_messages_for_chat(session.messages, branch) == [
        {"role": "user", "content": "hi"}
    ]


async def test_communicate_connection_refused(make_model: ModelFactory) -> None:
    session = Session()
    model = make_model("openai", base_url="http://127.0.0.1:9/v1", max_retries=0)
    session.services.register(model)
    with pytest.raises(APIConnectionError):
        await communicate(session=session, parameters={"instruction": "hi", "imodel": model.name})
    assert _answer(session, "default").status == "incomplete"


async def test_fork_continues_from_shared_history(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    session = Session()
    model = make_model("openai")
    session.services.register(model)
    main = session.create_branch(name="main", system="sys")
    server.queue(Script(text="A1"), Script(text="A2"), Script(text="B2"))
    await communicate(session, main, {"instruction": "Q1", "imodel": model.name})
    await communicate(session, main, {"instruction": "Q2", "imodel": model.name})

    fork = main.fork(at=main.order[1], name="alt")
    assert fork.order == main.order[:2] and fork.system == main.system
    assert session.fork_branch("main").order == main.order
    await communicate(session, fork, {"instruction": "Q2b", "imodel": model.name})

    assert len(main.order) == 4 and len(fork.order) == 4
    assert fork.order[:2] == main.order[:2]
    assert fork.order[2:] != main.order[2:]
    sent = server.requests[2].json["messages"]
    assert [m["content"] for m in sent] == ["sys", "Q1", "A1", "Q2b"]
    with pytest.raises(ValueError, match="not in branch"):
        main.fork(at=fork.order[3])


async def test_continue_branch_with_another_provider(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    session = Session()
    gpt = make_model("openai", name="gpt")
    claude = make_model("anthropic", name="claude")
    session.services.register(gpt)
    session.services.register(claude)
    branch = session.create_branch(name="b", system="You are terse.")
    server.queue(Script(text="Hi."), Script(text="Still here."))
    await communicate(session, branch, {"instruction": "Hello", "imodel": "gpt"})
    await communicate(session, branch, {"instruction": "Still there?", "imodel": "claude"})

    body = server.requests[1].json
    assert server.requests[1].path == "/v1/messages"
    assert body["system"] == "You are terse."
    assert body["messages"] == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Still there?"},
    ]
    answers = [
        session.messages[i] for i in branch.order if session.messages[i].role.value == "assistant"
    ]
    assert [m.content.source for m in answers] == ["gpt", "claude"]  # type: ignore[union-attr]


async def test_stream_needs_a_model(make_model: ModelFactory) -> None:
    session = Session()
    with pytest.raises(ValueError, match="0 models are registered"):
        session.stream(None, "hi")
    session.services.register(make_model("openai", name="a"))
    session.services.register(make_model("openai", name="b"))
    with pytest.raises(ValueError, match="2 models are registered"):
        session.stream(None, "hi")
    with pytest.raises(ValueError, match="no model named 'c'"):
        session.stream(None, "hi", imodel="c")
    with pytest.raises(TypeError, match="instruction"):
        await communicate(session, None, {"imodel": "a"})


async def test_instruction_message_object_and_images(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    from lionrx.session import InstructionContent

    session = Session()
    session.services.register(make_model("openai", name="m"))
    message = Message(
        content=InstructionContent(instruction="What is this?", images=("https://x/cat.png",))
    )
    await SinkHandle(session.stream(None, message), Sink())
    assert session.default_branch.order[0] == message.id
    assert server.requests[0].json["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
    ]


async def test_tool_conversation_continued_with_anthropic(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    """A branch holding OpenAI-style tool use is sent to an Anthropic model as tool_use and
    tool_result blocks, with the roles merged to alternate."""
    from lionrx.events import ToolCall
    from lionrx.session import InstructionContent, ToolResultContent

    session = Session()
    claude = make_model("anthropic", name="claude")
    session.services.register(claude)
    branch = session.create_branch(name="b", system="Use tools.")
    call = ToolCall(index=0, id="toolu_1", name="weather", arguments='{"city": "Oslo"}')
    for content in (
        InstructionContent(instruction="Weather in Oslo?"),
        AssistantResponseContent(assistant_response="Checking.", tool_calls=(call,)),
        ToolResultContent(tool_call_id="toolu_1", result={"temp": -3}),
    ):
        session.add_message(Message(content=content), branches=branch)
    server.queue(Script(text="It is -3 °C."))

    answer = await communicate(session, branch, {"instruction": "Thanks!", "imodel": "claude"})

    assert answer == "It is -3 °C."
    body = server.requests[0].json
    assert body["system"] == "Use tools."
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": '{"temp": -3}'},
                {"type": "text", "text": "Thanks!"},
            ],
        },
    ]


async def test_history_of_merged_multi_model_stream(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    """Two models streaming at once over real sockets: one message per model label, each
    ending its own way."""
    import reactivex

    from lionrx.sinks import history

    session = Session()
    fast = make_model("openai", name="fast")
    claude = make_model("anthropic", name="claude")
    down = make_model("openai", name="down", base_url="http://127.0.0.1:9/v1", max_retries=0)
    server.queue(
        Script(text="one two three", delay=0.002), Script(text="uno dos tres", delay=0.002)
    )
    question = [{"role": "user", "content": "count"}]
    merged = reactivex.merge(
        fast.stream(messages=question),
        claude.stream(messages=question),
        down.stream(messages=question),
    )

    handle = history(session, "default", merged)
    with pytest.raises(APIConnectionError):
        await handle

    contents = [session.messages[i].content for i in session.default_branch.order]
    by_source = {c.source: c for c in contents if isinstance(c, AssistantResponseContent)}
    assert len(contents) == 3 and set(by_source) == {"fast", "claude", "down"}
    assert {by_source["fast"].assistant_response, by_source["claude"].assistant_response} == {
        "one two three",
        "uno dos tres",
    }
    assert by_source["fast"].status == by_source["claude"].status == "complete"
    assert by_source["down"].status == "incomplete"
    assert by_source["down"].error is not None
    assert by_source["down"].error["type"] == "APIConnectionError"
    assert set(handle.outcomes) == {"fast", "claude", "down"}


async def test_timeout_is_recorded_as_timeout(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    """A stalled server: the timeout operator in the turn's pipe fails the stream, the partial
    answer is recorded with reason ``timeout`` and the connection is closed."""
    from lionrx import operators
    from lionrx.errors import StreamTimeout

    session = Session()
    session.services.register(make_model("openai", name="m"))
    server.queue(
        Script(
            text="Before the stall. After it.",
            chunk_size=6,
            fault=Fault.stall(at_byte=900, seconds=30),
        )
    )
    stream = session.stream(None, "hi", imodel="m", pipe=[operators.timeout(idle=0.3)])
    with pytest.raises(StreamTimeout):
        await SinkHandle(stream, Sink())
    answer = _answer(session, "default")
    assert (answer.status, answer.incomplete_reason) == ("incomplete", "timeout")
    text = answer.assistant_response
    assert (
        text
        and "Before the stall. After it.".startswith(text)
        and text != "Before the stall. After it."
    )
    assert answer.error is not None and answer.error["which"] == "idle"
    for _ in range(100):
        if server.disconnects:
            break
        await asyncio.sleep(0.01)
    assert server.disconnects == 1

    # communicate(timeout=...) does the same for the whole answer.
    server.queue(Script(text="slow " * 50, delay=0.05))
    with pytest.raises(StreamTimeout):
        await communicate(session, None, {"instruction": "again", "imodel": "m", "timeout": 0.3})
    answer = _answer(session, "default")
    assert (answer.status, answer.incomplete_reason) == ("incomplete", "timeout")
    assert answer.error is not None and answer.error["which"] == "total"


async def test_history_with_merge_labeled_into_branches(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    """Section 6's parallel models, recorded: each label into its own branch."""
    from lionrx import operators
    from lionrx.sinks import history

    session = Session()
    gpt, claude = make_model("openai"), make_model("anthropic")
    server.default = Script(text="same answer", delay=0.002)
    question = [{"role": "user", "content": "hi"}]
    branches = {"gpt": session.create_branch("gpt"), "claude": session.create_branch("claude")}
    merged = operators.merge_labeled(
        {"gpt": gpt.stream(messages=question), "claude": claude.stream(messages=question)}
    )
    await history(session, branches, merged)
    for label, branch in branches.items():
        [mid] = branch.order
        content = session.messages[mid].content
        assert isinstance(content, AssistantResponseContent)
        assert (content.source, content.assistant_response, content.status) == (
            label,
            "same answer",
            "complete",
        )


async def test_imodel_takes_messages_directly(
    server: FakeProviderServer, make_model: ModelFactory
) -> None:
    session = Session()
    model = make_model("openai")
    branch = session.create_branch("b")
    session.add_message(Message(content=InstructionContent(instruction="Hi")), branches=branch)
    server.queue(Script(text="Hello"))
    chunks = [c async for c in model.invoke_stream(messages=branch.messages)]
    assert "".join(chunks) == "Hello"
    assert server.requests[0].json["messages"] == [{"role": "user", "content": "Hi"}]
