"""Section 6 — several models streaming at once: ``asyncio.gather`` over ``invoke_stream``
loops, then the same with one ``merge_labeled`` Observable that tags every event with its model."""

from __future__ import annotations

import asyncio
import time

from _common import models, parser

from lionrx import iModel
from lionrx import operators as ops
from lionrx.events import Completed, Failed, TextDelta


async def stream_one(model: iModel, question: str, label: str) -> str:
    start = time.perf_counter()
    parts: list[str] = []
    async for chunk in model.invoke_stream(messages=[{"role": "user", "content": question}]):
        parts.append(chunk)
    print(f"[{label}] complete: {len(parts)} chunks in {time.perf_counter() - start:.2f}s")
    return "".join(parts)


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    answers = [
        "1. Consistency. 2. Small surface. 3. Clear errors.",
        "- Predictable names\n- Versioning\n- Good docs",
    ]
    question = "What makes a good API design? Answer in 3 bullet points."
    async with models(args, ("gpt", "claude"), fake_answers=answers) as (gpt, claude):
        results = await asyncio.gather(
            stream_one(gpt, question, "GPT"), stream_one(claude, question, "Claude")
        )
        for label, text in zip(("GPT", "Claude"), results, strict=True):
            print(f"\n{label} ({len(text)} chars):\n{text}")

        # One Observable for both: events tagged with their label, every outcome kept.
        messages = [{"role": "user", "content": question}]
        merged = ops.merge_labeled(
            {"gpt": gpt.stream(messages=messages), "claude": claude.stream(messages=messages)}
        )
        texts: dict[str, list[str]] = {"gpt": [], "claude": []}
        outcomes: list[str] = []
        # Which models had sent text when the first one finished: both, if they ran at once.
        before_first_end: set[str] = set()
        done = asyncio.get_running_loop().create_future()

        def on_next(event: object) -> None:
            if isinstance(event, TextDelta) and event.source is not None:
                texts[event.source].append(event.text)
                if not outcomes:
                    before_first_end.add(event.source)
            elif isinstance(event, Completed | Failed):
                outcomes.append(f"{event.source}:{event.kind}")

        merged.subscribe(on_next, done.set_exception, lambda: done.set_result(None))
        await done
        print(f"\nmerge_labeled outcomes: {sorted(outcomes)}")
        print(f"streaming at once: {sorted(before_first_end)} had sent text when one finished")
        for (label, parts), text in zip(texts.items(), results, strict=True):
            joined = "".join(parts)
            print(f"{label}: {len(joined)} chars, same as invoke_stream: {joined == text}")


if __name__ == "__main__":
    asyncio.run(main())
