"""Section 8 — errors in the middle of a stream keep the partial answer.

With ``--fake`` the server drops the connection half-way through; lionrx raises a typed error
(``ProtocolError``: the body ended before the end of the answer) after delivering every chunk
received, and the error's ``.partial`` holds them too. A ``StreamTimeout`` is also a
``TimeoutError``, so the notebook's ``except TimeoutError`` still works.
"""

from __future__ import annotations

import asyncio

from _common import FAKE_ANSWER, models, parser

from lionrx import iModel
from lionrx import operators as ops
from lionrx.errors import LionrxError
from lionrx.events import Failed
from lionrx.testing import Fault, Script


async def safe_stream(model: iModel, messages: list[dict[str, str]]) -> str:
    chunks: list[str] = []
    try:
        async for chunk in model.invoke_stream(messages=messages):
            chunks.append(chunk)
            print(chunk, end="", flush=True)
        print("\n\nStreaming completed successfully")
    except TimeoutError:
        print(f"\n\nTimed out after {len(chunks)} chunks; partial answer kept")
    except LionrxError as e:
        print(f"\n\nStreaming error: {type(e).__name__}: {e}")
        print(f"Received {len(chunks)} chunks before the error")
        print(f"error.partial holds the same text: {e.partial_text == ''.join(chunks)}")
    partial = "".join(chunks)
    print(f"Partial response length: {len(partial)} chars")
    return partial


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    cut = Script(text=FAKE_ANSWER, delay=0.002, fault=Fault.drop(at_byte=2500))
    async with models(args, fake_answers=[cut]) as (model,):
        messages = [{"role": "user", "content": "Explain event-driven architecture"}]
        await safe_stream(model, messages)

        # The Observable face: the failure is a value, Failed, carrying the partial Response.
        print("\nThe same with a 10 s idle timeout in the pipeline:")
        outcome: list[object] = []
        done = asyncio.get_running_loop().create_future()
        model.stream(messages=messages).pipe(ops.timeout(idle=10.0)).subscribe(
            outcome.append, done.set_exception, lambda: done.set_result(None)
        )
        await done
        last = outcome[-1]
        if isinstance(last, Failed):
            print(f"Failed: {type(last.error).__name__}; partial {len(last.partial.text)} chars")
        else:
            print(f"Completed: {len(last.response.text)} chars")


if __name__ == "__main__":
    asyncio.run(main())
