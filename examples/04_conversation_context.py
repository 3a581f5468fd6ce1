"""Section 4 — streaming with conversation context: a first turn with ``communicate()``, then a
streamed follow-up built from the branch's history, saved back to the branch."""

from __future__ import annotations

import asyncio

from _common import models, parser

from lionrx import Session
from lionrx.operations import communicate
from lionrx.session.messages import AssistantResponseContent, InstructionContent, Message
from lionrx.session.messages.utils import prepare_messages_for_chat


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    answers = [
        "Decorators wrap a function to add behaviour. They are applied with the @ syntax.",
        "Here is one:\n\n```python\ndef shout(f):\n    return lambda: f().upper()\n```",
    ]
    async with models(args, fake_answers=answers, wire="anthropic") as (model,):
        session = Session()
        session.services.register(model)
        branch = session.create_branch(name="streaming-chat")

        print("User: Tell me about Python decorators\n")
        first = await communicate(
            session=session,
            branch=branch,
            parameters={
                "instruction": "Tell me about Python decorators in 2 sentences",
                "imodel": model.name,
            },
        )
        print(f"Assistant: {first}\n")

        print("User: Can you show me a practical example?\n")
        print("Assistant: ", end="", flush=True)
        messages = [session.messages[msg_id] for msg_id in branch.order]
        chat = list(prepare_messages_for_chat(messages=messages, progression=branch))
        chat.append({"role": "user", "content": "Can you show me a practical example?"})
        parts: list[str] = []
        async for chunk in model.invoke_stream(messages=chat):
            parts.append(chunk)
            print(chunk, end="", flush=True)
        print("\n")

        # Save both sides of the streamed turn, so the next turn sees them.
        question = Message(content=InstructionContent(instruction=chat[-1]["content"]))
        reply = Message(content=AssistantResponseContent(assistant_response="".join(parts)))
        session.add_message(question, branches=branch)
        session.add_message(reply, branches=branch)
        print(f"Conversation has {len(branch.order)} messages")
        for msg_id in branch.order:
            print(f"  {session.messages[msg_id].role.value}")


if __name__ == "__main__":
    asyncio.run(main())
