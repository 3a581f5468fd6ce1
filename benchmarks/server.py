"""The benchmark's provider server: pre-encoded OpenAI / Anthropic streams of N chunks.

Run as a separate process by ``benchmarks/run.py`` (so that serving costs the measured client
nothing on its core). The request's ``model`` field selects the stream:
``"n=<chunks>;mode=<bulk|trickle|latency>;group=<events per write>;id=<latency key>"``.

- ``bulk``: the whole pre-encoded body in 64 KB writes (measures the client, not the server).
- ``trickle``: ``group`` events per write, yielding to the loop between writes (many streams).
- ``latency``: the first text event, flushed; its flush time recorded under the request's
  ``id`` parameter; a short pause; then the rest. ``GET /timings`` returns the records.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from functools import lru_cache

from aiohttp import web

WORDS = (
    "Streams carry text from the model to the reader one small piece at a time and every "
    "piece counts Dr. Smith said so in version 1.2 of the notes. The answer keeps going until "
    "the end arrives? Yes it does! Each sentence ends with a period and a space."
).split()


def words(n: int) -> list[str]:
    return [WORDS[i % len(WORDS)] + " " for i in range(n)]


def _openai_chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    obj = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench-model",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


@lru_cache(maxsize=32)
def openai_events(n: int) -> tuple[bytes, ...]:
    texts = words(n)
    events = [_openai_chunk({"role": "assistant", "content": texts[0], "refusal": None})]
    events += [_openai_chunk({"content": t}) for t in texts[1:]]
    events.append(_openai_chunk({}, "stop"))
    usage = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "bench-model",
        "choices": [],
        "usage": {"prompt_tokens": 5, "completion_tokens": n, "total_tokens": n + 5},
    }
    events.append(b"data: " + json.dumps(usage, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return tuple(events)


def _sse(name: str, obj: dict[str, object]) -> bytes:
    return (
        f"event: {name}\ndata: ".encode()
        + json.dumps(obj, separators=(",", ":")).encode()
        + (b"\n\n")
    )


@lru_cache(maxsize=32)
def anthropic_events(n: int) -> tuple[bytes, ...]:
    texts = words(n)
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "bench-model",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1},
        },
    }
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    events = [_sse("message_start", start), _sse("content_block_start", block)]
    events += [
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
        )
        for t in texts
    ]
    events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    events.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": n},
            },
        )
    )
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return tuple(events)


@lru_cache(maxsize=32)
def bulk_body(shape: str, n: int) -> tuple[bytes, ...]:
    events = openai_events(n) if shape == "openai" else anthropic_events(n)
    body = b"".join(events)
    return tuple(body[i : i + 65536] for i in range(0, len(body), 65536))


# Index of the first text event of each shape (latency mode times its flush).
FIRST = {"openai": 0, "anthropic": 2}
TIMINGS: dict[str, float] = {}


def _params(model: str) -> dict[str, str]:
    out = {}
    for part in model.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


async def _serve(request: web.Request, shape: str) -> web.StreamResponse:
    body = await request.json()
    params = _params(str(body.get("model", "")))
    n = int(params.get("n", "1000"))
    mode = params.get("mode", "bulk")
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    if mode == "bulk":
        for piece in bulk_body(shape, n):
            await response.write(piece)
    elif mode == "trickle":
        group = int(params.get("group", "8"))
        events = openai_events(n) if shape == "openai" else anthropic_events(n)
        for i in range(0, len(events), group):
            await response.write(b"".join(events[i : i + group]))
            await asyncio.sleep(0)
    else:  # latency
        events = openai_events(n) if shape == "openai" else anthropic_events(n)
        first = FIRST[shape]
        await asyncio.sleep(0.002)  # the client is now waiting for the body, idle
        await response.write(b"".join(events[: first + 1]))  # write() drains to the kernel
        TIMINGS[params.get("id", "")] = time.perf_counter()
        await asyncio.sleep(0.003)
        await response.write(b"".join(events[first + 1 :]))
    await response.write_eof()
    return response


async def openai_handler(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "openai")


async def anthropic_handler(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "anthropic")


async def timings(request: web.Request) -> web.Response:
    data = dict(TIMINGS)
    TIMINGS.clear()
    return web.json_response(data)


async def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", openai_handler)
    app.router.add_post("/v1/messages", anthropic_handler)
    app.router.add_get("/timings", timings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(port, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
