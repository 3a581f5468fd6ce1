"""Whole sentences for a speech engine: ``sentence_chunk`` hands each sentence over the moment
its end is certain — not at "Dr." or "0.5", never inside a code block — and the rest at the end.
Here the "speech engine" prints each sentence on its own line with its time of arrival."""

from __future__ import annotations

import asyncio
import time

from _common import models, parser

from lionrx import operators as ops
from lionrx import to_async_iterable


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    async with models(args) as (model,):
        messages = [{"role": "user", "content": "Describe streams in three sentences."}]
        start = time.perf_counter()
        pipeline = model.stream(messages=messages).pipe(ops.text(), ops.sentence_chunk())
        count = 0
        async for sentence in to_async_iterable(pipeline):
            count += 1
            print(f"[speak {time.perf_counter() - start:5.2f}s] {sentence.strip()!r}")
        print(f"{count} utterances")


if __name__ == "__main__":
    asyncio.run(main())
