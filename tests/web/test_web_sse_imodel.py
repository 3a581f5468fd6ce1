"""sse_response over the real path: iModel → fake provider (aiohttp, 127.0.0.1) → browser-side
SSE reader. Disconnect closes the provider connection; resume loses and repeats nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web
from web_helpers import read_sse, serve

from lionrx.services import iModel
from lionrx.testing._server import FakeProviderServer, Script
from lionrx.web import StreamHub, sse_response

KEY = "sk-canary-web-0123456789abcdef"


def model_for(fake: FakeProviderServer) -> iModel:
    return iModel(
        provider="openai", model="m", name="m", base_url=fake.openai_base_url, api_key=KEY
    )


def app_streaming(model: iModel, hub: StreamHub, *, text_only: bool = False) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        stream = model.stream(messages=[{"role": "user", "content": "hi"}])
        if text_only:
            from reactivex import operators as ops

            from lionrx.events import TextDelta

            stream = stream.pipe(
                ops.filter(lambda e: isinstance(e, TextDelta)), ops.map(lambda e: e.text)
            )
        return await sse_response(request, stream, hub=hub)

    app = web.Application()
    app.router.add_get("/chat", handler)
    return app


async def test_streams_a_real_answer_and_ends_with_completed(fake: FakeProviderServer) -> None:
    fake.queue(Script(text="Hello from a real stream.", chunk_size=4, usage=(5, 6)))
    async with model_for(fake) as model:
        async with serve(app_streaming(model, StreamHub())) as url:
            async with aiohttp.ClientSession() as session:
                result = await read_sse(session, url + "/chat")
    kinds = [e.event for e in result.events]
    assert kinds[0] == "start" and kinds[-1] == "completed"
    assert "usage" in kinds and "finish" in kinds
    assert result.text() == "Hello from a real stream."
    final = json.loads(result.final.data)
    assert final["response"]["usage"]["output_tokens"] == 6
    raw = "".join(e.data for e in result.events)
    assert KEY not in raw


async def test_closing_the_page_closes_the_provider_connection(fake: FakeProviderServer) -> None:
    fake.queue(Script(text=" ".join(["word"] * 500), chunk_size=5, delay=0.02))
    outcomes: list[Any] = []
    hub = StreamHub(grace=0.0)
    async with model_for(fake) as model:

        async def handler(request: web.Request) -> web.StreamResponse:
            stream = model.stream(messages=[{"role": "user", "content": "hi"}])
            return await sse_response(request, stream, hub=hub, on_outcome=outcomes.append)

        app = web.Application()
        app.router.add_get("/chat", handler)
        async with serve(app) as url:
            async with aiohttp.ClientSession() as session:
                part = await read_sse(session, url + "/chat", stop_after=8)
            assert part.text().startswith("word")
            await fake.wait_for_disconnect(timeout=5)
            await fake.wait_idle(timeout=5)
            for _ in range(100):
                if outcomes:
                    break
                await asyncio.sleep(0.02)
    assert type(outcomes[0].error).__name__ == "StreamCancelled"
    assert outcomes[0].partial.text.startswith(part.text())


async def test_resume_over_the_real_path_is_exact(fake: FakeProviderServer) -> None:
    words = " ".join(f"w{i}" for i in range(300))
    fake.queue(Script(text=words, chunk_size=7, delay=0.005))
    hub = StreamHub(grace=5.0)
    async with model_for(fake) as model:
        async with serve(app_streaming(model, hub, text_only=True)) as url:
            async with aiohttp.ClientSession() as session:
                parts = [await read_sse(session, url + "/chat", stop_after=10)]
                while parts[-1].final.event != "completed":
                    parts.append(
                        await read_sse(
                            session,
                            url + "/chat",
                            last_event_id=parts[-1].last_event_id,
                            stop_after=15,
                        )
                    )
    assert len(parts) > 3
    assert "".join(p.text() for p in parts) == words
    assert len(fake.requests) == 1
    assert fake.disconnects == 0, "resuming must not disturb the upstream request"
