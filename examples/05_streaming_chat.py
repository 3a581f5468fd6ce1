"""Section 5 — a reusable streaming chat: history kept in a session branch, stats per turn, and
a ``history()`` view. Pass ``--db chat.db`` to keep the conversation in SQLite across runs."""

from __future__ import annotations

import asyncio
import time

from _common import models, parser

from lionrx import Session, iModel
from lionrx.session.messages import AssistantResponseContent, InstructionContent, Message
from lionrx.session.messages.utils import prepare_messages_for_chat


class StreamingChat:
    """The notebook's pattern: one model, one session, one branch."""

    def __init__(self, model: iModel, session: Session) -> None:
        self.model = model
        self.session = session
        self.session.services.register(model)
        self.branch = self.session.create_branch(name="main")

    async def chat(self, user_input: str, show_stats: bool = True) -> str:
        print(f"\nUser: {user_input}")
        print("Assistant: ", end="", flush=True)
        history = [self.session.messages[msg_id] for msg_id in self.branch.order]
        chat = list(prepare_messages_for_chat(messages=history, progression=self.branch))
        chat.append({"role": "user", "content": user_input})

        start = time.perf_counter()
        first: float | None = None
        chunks: list[str] = []
        async for chunk in self.model.invoke_stream(
            model=self.model.backend.config.model, messages=chat
        ):
            if first is None:
                first = time.perf_counter() - start
            chunks.append(chunk)
            print(chunk, end="", flush=True)
        total = time.perf_counter() - start
        answer = "".join(chunks)
        print()
        if show_stats:
            print(
                f"Stats: {len(chunks)} chunks | first token: {first or total:.2f}s | "
                f"total: {total:.2f}s"
            )
        self.session.add_message(
            Message(content=InstructionContent(instruction=user_input)), branches=self.branch
        )
        self.session.add_message(
            Message(content=AssistantResponseContent(assistant_response=answer)),
            branches=self.branch,
        )
        return answer

    def history(self) -> None:
        print("\n" + "=" * 60 + "\nCONVERSATION HISTORY\n" + "=" * 60)
        for msg_id in self.branch.order:
            msg = self.session.messages[msg_id]
            if hasattr(msg.content, "instruction"):
                content = msg.content.instruction
            elif hasattr(msg.content, "assistant_response"):
                content = msg.content.assistant_response
            else:
                content = str(msg.content)
            preview = content[:100] + "..." if len(content) > 100 else content
            print(f"{msg.role.value}: {preview}")


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--db", default=None, help="SQLite file to keep the conversation in")
    args = p.parse_args()
    answers = [
        "Async code keeps one thread busy while others wait on I/O.",
        "```python\nawait asyncio.gather(fetch(a), fetch(b))\n```",
        "Forgetting to await, and blocking the loop with time.sleep().",
    ]
    session = Session.open(args.db) if args.db else Session()
    try:
        async with models(args, fake_answers=answers) as (model,):
            chat = StreamingChat(model, session)
            await chat.chat("What are the key benefits of async programming?")
            await chat.chat("Can you give me a code example?")
            await chat.chat("What are common mistakes to avoid?")
            chat.history()
    finally:
        session.close()


if __name__ == "__main__":
    asyncio.run(main())
