"""Section 7 — buffered streaming: join chunks before showing them, by hand and with the
``buffer`` operator (by count, by time, or whichever comes first)."""

from __future__ import annotations

import asyncio

from _common import models, parser

from lionrx import operators as ops
from lionrx import to_async_iterable


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--size", type=int, default=10, help="chunks per flush")
    args = p.parse_args()
    async with models(args) as (model,):
        messages = [{"role": "user", "content": "Explain the benefits of microservices"}]

        print(f"By hand, flushing every {args.size} chunks:")
        buffer: list[str] = []
        by_hand: list[str] = []
        total = 0
        async for chunk in model.invoke_stream(messages=messages):
            buffer.append(chunk)
            total += 1
            if len(buffer) >= args.size:
                by_hand.append("".join(buffer))
                print(by_hand[-1], end="", flush=True)
                buffer = []
        if buffer:
            by_hand.append("".join(buffer))
            print(by_hand[-1], end="", flush=True)
        print(f"\nBuffered {total} chunks into {len(by_hand)} writes")

        print(f"\nWith ops.buffer(count={args.size}, seconds=0.25):")
        pipeline = model.stream(messages=messages).pipe(
            ops.text(), ops.buffer(count=args.size, seconds=0.25)
        )
        pieces: list[str] = []
        async for piece in to_async_iterable(pipeline):
            pieces.append(piece)
            print(piece, end="", flush=True)
        print(f"\nSame text both ways: {''.join(pieces) == ''.join(by_hand)}")
        print(f"{len(pieces)} flushes")


if __name__ == "__main__":
    asyncio.run(main())
