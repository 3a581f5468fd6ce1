"""Section 3 — progress while a long answer streams: the notebook's dots, then a proper
progress value from the ``progress_tap`` operator (chunks, words, rate, time to first chunk)."""

from __future__ import annotations

import asyncio

from _common import models, parser

from lionrx import operators as ops
from lionrx import sinks


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    async with models(args) as (model,):
        messages = [{"role": "user", "content": "Explain how transformers work in detail"}]

        print("Generating response", end="", flush=True)
        received: list[str] = []
        async for chunk in model.invoke_stream(messages=messages):
            received.append(chunk)
            if len(received) % 10 == 0:
                print(".", end="", flush=True)
        words = len("".join(received).split())
        print(f"\nReceived {len(received)} chunks (~{words} words)")

        # The operator way: a side channel of Progress values, the stream itself unchanged.
        reports: list[ops.Progress] = []
        pipeline = model.stream(messages=messages).pipe(ops.progress_tap(reports.append, every=10))
        response = await sinks.console(pipeline, stream=_Null())
        last = reports[-1]
        print(
            f"progress_tap: {len(reports)} reports; final: {last.chunks} chunks, "
            f"{last.words} words, {last.characters} chars"
        )
        print(f"answer length: {len(response.text)} chars")


class _Null:
    """A write-only stream that drops output (the console sink needs somewhere to write)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


if __name__ == "__main__":
    asyncio.run(main())
