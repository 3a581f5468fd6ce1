"""Race and fallback across models.

``race``: ask two models, keep whichever produces text first, and close the other's connection.
``fallback``: when a model fails mid-answer, continue with the next one, handing it the text so
far as an assistant prefix, so the reader's text keeps growing instead of starting over.
With ``--fake`` the first model is slow (race) and breaks half-way (fallback).
"""

from __future__ import annotations

import asyncio

from _common import models, parser

from lionrx import operators as ops
from lionrx.events import Completed, Failed, TextDelta
from lionrx.testing import Fault, Script


async def collect(observable: object) -> list[object]:
    items: list[object] = []
    done = asyncio.get_running_loop().create_future()
    observable.subscribe(  # type: ignore[attr-defined]
        items.append, done.set_exception, lambda: done.set_result(None)
    )
    await done
    return items


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    text = "The cat sat on the mat. It purred. Then it slept for hours."
    slow_and_broken = Script(text=text, delay=0.01, first_delay=0.3, fault=Fault.drop(at_byte=900))
    quick = Script(text=text, delay=0.002)
    async with models(args, ("primary", "backup"), fake_answers=[slow_and_broken, quick]) as (
        primary,
        backup,
    ):
        messages = [{"role": "user", "content": "Tell me about a cat in three sentences."}]

        events = await collect(
            ops.race(primary.stream(messages=messages), backup.stream(messages=messages))
        )
        winner = next(e.source for e in events if isinstance(e, TextDelta))
        print(f"race winner: {winner}")

        def continue_with_backup(prefix: str) -> object:
            history = list(messages)
            if prefix:
                history.append({"role": "assistant", "content": prefix})
            return backup.stream(messages=history)

        events = await collect(
            ops.fallback(primary.stream(messages=messages), continue_with_backup)
        )
        before: list[str] = []  # the primary's text, up to its failure
        after: list[str] = []  # the backup's continuation
        current = before
        for event in events:
            mode = ops.fallback_mode(event)
            if mode:
                print(f"\n-- {event.source} failed; fallback mode: {mode} --")  # type: ignore[attr-defined]
                current = after
            elif isinstance(event, TextDelta):
                current.append(event.text)
                print(event.text, end="", flush=True)
        last = events[-1]
        print()
        if isinstance(last, Completed):
            kept = "".join(before)
            print(f"kept the primary's partial {kept!r}: {last.response.text.startswith(kept)}")
            print(f"answer = partial + continuation: {last.response.text == kept + ''.join(after)}")
            print(f"fallback completed: {len(last.response.text)} chars in total")
        elif isinstance(last, Failed):
            print(f"fallback failed: {last.error}")


if __name__ == "__main__":
    asyncio.run(main())
