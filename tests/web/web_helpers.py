"""Shared helpers for the web tests: serve an aiohttp app on 127.0.0.1 and read SSE from it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from lionrx.services import iModel
from lionrx.sse import ServerSentEvent, SSEDecoder
from lionrx.testing._server import FakeProviderServer
from lionrx.web import StreamHub
from lionrx.web._app import HUB


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 and a free port; yield its root URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class SSEResult:
    events: list[ServerSentEvent] = field(default_factory=list)
    retry: int | None = None
    last_event_id: str = ""
    comments: int = 0

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(e.data) for e in self.events]

    def text(self) -> str:
        return "".join(json.loads(e.data)["text"] for e in self.events if e.event == "text")

    @property
    def final(self) -> ServerSentEvent:
        return self.events[-1]


async def read_sse(
    session: aiohttp.ClientSession,
    url: str,
    *,
    last_event_id: str | None = None,
    stop_after: int | None = None,
    method: str = "GET",
) -> SSEResult:
    """Read an SSE response; stop (closing the connection) after ``stop_after`` events."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    decoder = SSEDecoder()
    result = SSEResult()
    async with session.request(method, url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        async for chunk in resp.content.iter_any():
            for event in decoder.feed(chunk):
                result.events.append(event)
                if stop_after is not None and len(result.events) >= stop_after:
                    result.retry = decoder.reconnection_time
                    result.last_event_id = decoder.last_event_id
                    resp.close()
                    return result
        decoder.close()
    result.retry = decoder.reconnection_time
    result.last_event_id = decoder.last_event_id
    result.comments = decoder.comments
    return result


ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class ChatServer:
    url: str
    app: web.Application
    fake: FakeProviderServer
    models: list[iModel]
    session_path: Path

    @property
    def hub(self) -> StreamHub:
        return self.app[HUB]


def shot(name: str) -> str:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")
