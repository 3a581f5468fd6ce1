"""Record a stream to a file, then replay it as a model: the same events, with the original
timing, ten times faster, or all at once — handy for demos and tests without a provider."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from _common import models, parser

from lionrx import iModel, sinks


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--out", default=None, help="recording file (default: a temporary file)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.out or Path(tmp) / "answer.jsonl")
        async with models(args) as (model,):
            messages = [{"role": "user", "content": "Say something worth keeping."}]
            original = await sinks.record(model.stream(messages=messages), path)
        print(f"recorded {original.chunks} chunks to {path.name}")

        async with iModel(provider="replay", path=str(path), speed=10) as replayed:
            start = time.perf_counter()
            calling = await replayed.invoke(messages=messages)
            took = time.perf_counter() - start
        calling.raise_for_status()
        again = calling.execution.response
        assert again is not None
        print(f"replayed at 10x in {took:.3f}s (original {original.total_time or 0:.3f}s)")
        print(f"same text: {again.text == original.text}")
        print(f"same stop reason: {again.stop_reason == original.stop_reason}")


if __name__ == "__main__":
    asyncio.run(main())
