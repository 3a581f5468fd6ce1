"""Section 1 — basic streaming: print each chunk the moment it arrives.

Two faces of the same stream: the ``invoke_stream`` async loop (lionpride's API) and the
Observable pipeline (``model.stream()``) ending in the console sink.
"""

from __future__ import annotations

import asyncio

from _common import models, parser

from lionrx import sinks


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    async with models(args) as (model,):
        messages = [{"role": "user", "content": "Write a haiku about coding"}]

        print("Assistant: ", end="", flush=True)
        chunks: list[str] = []
        async for chunk in model.invoke_stream(messages=messages):
            chunks.append(chunk)
            print(chunk, end="", flush=True)
        print()
        answer = "".join(chunks)
        print(f"\nReceived {len(chunks)} chunks ({len(answer)} chars)")

        # The same answer as an Observable of typed events, shown by a sink.
        print("\nAgain, as a pipeline:")
        response = await sinks.console(model.stream(messages=messages), stats=True)
        print(f"Pipeline answer: {len(response.text)} chars, stop reason {response.stop_reason}")


if __name__ == "__main__":
    asyncio.run(main())
