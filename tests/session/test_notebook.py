"""The lionpride streaming notebook's sections 4 and 5, as written (``lionpride`` -> ``lionrx``),
against the fake provider server over real sockets, in both OpenAI and Anthropic shapes.

The notebook builds ``iModel(provider=..., model=...)`` with no URL or key: the environment
(``OPENAI_BASE_URL``, ``ANTHROPIC_BASE_URL``) points it at the fake server.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from lionrx import Session
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script


@pytest.fixture
def env(server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> FakeProviderServer:
    monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
    # A local server needs no key (and a real one must not leak into tests).
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return server


def _notebook_model(provider: str) -> iModel:
    if provider == "anthropic":
        return iModel(
            provider="anthropic",
            endpoint="messages",
            model="claude-3-5-sonnet-20241022",
            temperature=0.7,
        )
    return iModel(provider="openai", model="gpt-4o-mini", temperature=0.7)


# -- section 4, as written ------------------------------------------------------------------


async def stream_with_context(provider: str) -> tuple[Session, Any]:
    """Stream responses while maintaining conversation context"""
    session = Session()
    model = _notebook_model(provider)  # the notebook: iModel(provider="anthropic", ...)
    session.services.register(model)

    branch = session.create_branch(name="streaming-chat")

    # Turn 1: Build context using communicate()
    from lionrx.operations import communicate

    print("User: Tell me about Python decorators\n")

    first_response = await communicate(
        session=session,
        branch=branch,
        parameters={
            "instruction": "Tell me about Python decorators in 2 sentences",
            "imodel": model.name,
        },
    )

    print(f"Assistant: {first_response}\n")

    # Turn 2: Streaming follow-up with context
    print("User: Can you show me a practical example?\n")
    print("Assistant: ", end="", flush=True)

    # Get conversation history for streaming
    from lionrx.session.messages.utils import prepare_messages_for_chat

    messages = [session.messages[msg_id] for msg_id in branch.order]
    chat_messages = list(prepare_messages_for_chat(messages=messages, progression=branch))

    # Add new instruction
    chat_messages.append({"role": "user", "content": "Can you show me a practical example?"})

    # Stream response
    full_response = []
    async for chunk in model.invoke_stream(
        model="claude-3-5-sonnet-20241022", messages=chat_messages
    ):
        full_response.append(chunk)
        print(chunk, end="", flush=True)

    print("\n")

    # Save streamed response to branch
    from lionrx.session.messages import AssistantResponseContent, Message

    response_message = Message(
        content=AssistantResponseContent(assistant_response="".join(full_response))
    )
    session.add_message(response_message, branches=branch)

    print(f"✅ Conversation has {len(branch.order)} messages")

    await model.aclose()  # not in the notebook: tests close their HTTP sessions
    return session, branch


async def test_section_4_stream_with_context(
    env: FakeProviderServer, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = "Decorators wrap a function to add behaviour. They use the @ syntax."
    second = "@timer\ndef work():\n    ...\nwraps work with timing."
    env.queue(Script(text=first), Script(text=second, chunk_size=5))

    session, branch = await stream_with_context(provider)

    out = capsys.readouterr().out
    assert f"Assistant: {first}\n" in out
    assert f"Assistant: {second}\n" in out
    assert "✅ Conversation has 3 messages" in out
    assert [session.messages[i].role.value for i in branch.order] == [
        "user",
        "assistant",
        "assistant",
    ]
    assert session.messages[branch.order[1]].content.assistant_response == first
    assert session.messages[branch.order[2]].content.assistant_response == second

    # The streamed follow-up carried the first turn as context, in the provider's own shape.
    assert len(env.requests) == 2
    body = env.requests[1].json
    if provider == "anthropic":
        assert env.requests[1].path == "/v1/messages"
        assert "system" not in body
    else:
        assert env.requests[1].path == "/v1/chat/completions"
    assert body["messages"] == [
        {"role": "user", "content": "Tell me about Python decorators in 2 sentences"},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "Can you show me a practical example?"},
    ]


# -- section 5, as written ------------------------------------------------------------------


class StreamingChat:
    """Reusable streaming chat pattern"""

    def __init__(self, model: iModel):
        self.model = model
        self.session = Session()
        self.session.services.register(model)
        self.branch = self.session.create_branch(name="main")

    async def chat(self, user_input: str, show_stats: bool = True) -> str:
        """Send message and stream response"""
        from lionrx.session.messages import AssistantResponseContent, InstructionContent, Message
        from lionrx.session.messages.utils import prepare_messages_for_chat

        # Display user message
        print(f"\n👤 User: {user_input}")
        print("🤖 Assistant: ", end="", flush=True)

        # Get conversation history
        messages = [self.session.messages[msg_id] for msg_id in self.branch.order]
        chat_messages = list(prepare_messages_for_chat(messages=messages, progression=self.branch))

        # Add new message
        chat_messages.append({"role": "user", "content": user_input})

        # Stream response with stats
        start_time = time.time()
        first_token_time = None
        chunks = []

        async for chunk in self.model.invoke_stream(
            model=self.model.backend.config.model, messages=chat_messages
        ):
            if first_token_time is None:
                first_token_time = time.time() - start_time

            chunks.append(chunk)
            print(chunk, end="", flush=True)

        total_time = time.time() - start_time
        full_response = "".join(chunks)

        print()  # Newline

        if show_stats:
            print(
                f"\n📊 Stats: {len(chunks)} chunks | "
                f"First token: {first_token_time:.2f}s | "
                f"Total: {total_time:.2f}s"
            )

        # Save to conversation
        user_msg = Message(content=InstructionContent(instruction=user_input))
        response_msg = Message(content=AssistantResponseContent(assistant_response=full_response))

        self.session.add_message(user_msg, branches=self.branch)
        self.session.add_message(response_msg, branches=self.branch)

        return full_response

    def history(self) -> None:
        """Display conversation history"""
        print("\n" + "=" * 60)
        print("CONVERSATION HISTORY")
        print("=" * 60)

        for msg_id in self.branch.order:
            msg = self.session.messages[msg_id]
            role = "👤" if msg.role.value == "user" else "🤖"

            if hasattr(msg.content, "instruction"):
                content = msg.content.instruction
            elif hasattr(msg.content, "assistant_response"):
                content = msg.content.assistant_response
            else:
                content = str(msg.content)

            preview = content[:100] + "..." if len(content) > 100 else content
            print(f"{role} {msg.role.value}: {preview}\n")


async def test_section_5_streaming_chat(
    env: FakeProviderServer, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [
        "Async lets one thread wait on many I/O operations at once.",
        "async def main():\n    await asyncio.sleep(1)",
        "Forgetting to await, and blocking calls inside coroutines. " * 3,
    ]
    env.queue(*(Script(text=a, delay=0.002) for a in answers))

    # Create streaming chat instance
    model = _notebook_model(provider)  # the notebook: iModel(provider="openai", ...)
    chat = StreamingChat(model)

    # Have a multi-turn conversation
    replies = [
        await chat.chat("What are the key benefits of async programming?"),
        await chat.chat("Can you give me a code example?"),
        await chat.chat("What are common mistakes to avoid?"),
    ]

    # Show history
    chat.history()
    await model.aclose()

    assert replies == answers
    out = capsys.readouterr().out
    assert out.count("📊 Stats: ") == 3
    assert "CONVERSATION HISTORY" in out
    assert "👤 user: What are common mistakes to avoid?" in out
    assert f"🤖 assistant: {answers[2][:100]}..." in out  # the long answer is previewed
    assert len(chat.branch.order) == 6
    assert [chat.session.messages[i].role.value for i in chat.branch.order] == [
        "user",
        "assistant",
    ] * 3

    # Each turn sent the whole conversation so far; the third saw both earlier turns.
    third = env.requests[2].json["messages"]
    assert [m["role"] for m in third] == ["user", "assistant", "user", "assistant", "user"]
    assert third[1]["content"] == answers[0]
    assert third[3]["content"] == answers[1]


# -- section 5, the lionrx way: the StreamingChat pattern with history() ---------------------


class RecordedStreamingChat:
    """Section 5's pattern with lionrx's recording: the turn is recorded by the history sink
    (complete, or incomplete with the reason), optionally persisted in SQLite."""

    def __init__(self, model: iModel, path: Any = None) -> None:
        from lionrx.sinks import history

        self.model = model
        self.session = Session.open(path) if path else Session()
        self.session.services.register(model)
        self.branch = self.session.branches.get("main") or self.session.create_branch(name="main")
        self.history = history

    async def chat(self, user_input: str) -> str:
        from lionrx.session.messages import InstructionContent, Message
        from lionrx.session.messages.utils import prepare_messages_for_chat
        from lionrx.sinks import Sink, SinkHandle, tee

        class Printer(Sink):
            def on_event(self, event: Any) -> None:
                if event.kind == "text":
                    print(event.text, end="", flush=True)

        print(f"\n👤 User: {user_input}\n🤖 Assistant: ", end="", flush=True)
        self.session.add_message(
            Message(content=InstructionContent(instruction=user_input)), branches=self.branch
        )
        chat_messages = prepare_messages_for_chat(self.session.messages, self.branch)
        stream = self.model.stream(messages=chat_messages)
        recorded, printed = tee(
            stream,
            self.history(self.session, self.branch),
            lambda obs: SinkHandle(obs, Printer()),
        )
        response = await recorded
        await printed
        print(f"\n📊 {response.chunks} chunks | first text {response.time_to_first_text:.3f}s")
        return response.text

    async def chat_streamed(self, user_input: str, stop_after: int | None = None) -> str:
        """The same turn through ``session.stream`` (which records with the history sink)."""
        from contextlib import aclosing

        from lionrx import to_async_iterable

        got: list[str] = []
        stream = self.session.stream(self.branch, user_input, imodel=self.model.name)
        # aclosing: leaving the loop early disposes the stream now, not when the generator is
        # garbage-collected.
        async with aclosing(to_async_iterable(stream)) as events:
            async for event in events:
                if event.kind == "text":
                    got.append(event.text)
                    if stop_after is not None and len(got) >= stop_after:
                        break  # the user stops reading: the turn is recorded as cancelled
        return "".join(got)


async def test_streaming_chat_with_history_sink(
    env: FakeProviderServer, provider: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from lionrx.session import AssistantResponseContent

    env.queue(
        Script(text="Async overlaps waiting.", delay=0.001),
        Script(text="await asyncio.gather(a(), b())", chunk_size=3),
        Script(text="word " * 100, delay=0.005),
    )
    db = tmp_path / "chat.db"
    model = _notebook_model(provider)
    chat = RecordedStreamingChat(model, db)
    assert await chat.chat("Benefits of async?") == "Async overlaps waiting."
    assert await chat.chat_streamed("Example?") == "await asyncio.gather(a(), b())"
    partial = await chat.chat_streamed("Mistakes?", stop_after=3)
    chat.session.close()
    await model.aclose()
    assert partial == "word word word"
    assert "🤖 Assistant: Async overlaps waiting." in capsys.readouterr().out

    # The conversation, including the cut-off third answer, survives a restart.
    with Session.open(db) as again:
        branch = again.branches["main"]
        contents = [again.messages[i].content for i in branch.order]
        assert [again.messages[i].role.value for i in branch.order] == ["user", "assistant"] * 3
        answers = [c for c in contents if isinstance(c, AssistantResponseContent)]
        assert [a.status for a in answers] == ["complete", "complete", "incomplete"]
        assert answers[2].incomplete_reason == "cancelled"
        assert answers[2].assistant_response.startswith(partial)
    # The third request carried the first two turns.
    sent = env.requests[2].json["messages"]
    assert [m["content"] for m in sent if m["role"] == "assistant"] == [
        "Async overlaps waiting.",
        "await asyncio.gather(a(), b())",
    ]
