"""Section 2 — streaming versus waiting: time to the first token against the whole answer."""

from __future__ import annotations

import asyncio
import time

from _common import models, parser


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    async with models(args) as (model,):
        messages = [{"role": "user", "content": "Explain async/await in Python in 2 paragraphs"}]

        print("NON-STREAMING: wait for the complete answer")
        start = time.perf_counter()
        calling = await model.invoke(messages=messages)
        waited = time.perf_counter() - start
        answer = calling.execution.response.data if calling.execution.response else ""
        print(f"status={calling.execution.status.value} waited {waited:.2f}s")
        print(answer[:200] + ("..." if len(answer) > 200 else ""))

        print("\nSTREAMING: tokens as they are generated")
        start = time.perf_counter()
        first: float | None = None
        chunks: list[str] = []
        async for chunk in model.invoke_stream(messages=messages):
            if first is None:
                first = time.perf_counter() - start
            chunks.append(chunk)
            print(chunk, end="", flush=True)
        total = time.perf_counter() - start
        first = first if first is not None else total
        print(f"\n\nFirst token after {first:.3f}s; total {total:.2f}s")
        print(f"Perceived speed-up: {waited / max(first, 1e-6):.1f}x")
        print(f"Same text both ways: {''.join(chunks) == answer}")


if __name__ == "__main__":
    asyncio.run(main())
