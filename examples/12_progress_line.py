"""A live progress line for long answers: the console sink fed by ``progress_tap`` shows chunks,
words, rate and elapsed time while the answer streams, then the stats line."""

from __future__ import annotations

import asyncio

from _common import models, parser

from lionrx import sinks


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    async with models(args) as (model,):
        messages = [{"role": "user", "content": "Write a long answer about rivers."}]
        response = await sinks.console(
            model.stream(messages=messages), progress="line", progress_every=5, stats=True
        )
        print(f"\n{response.chunks} chunks, {len(response.text.split())} words")


if __name__ == "__main__":
    asyncio.run(main())
