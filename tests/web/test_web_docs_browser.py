"""The web page of the docs, run as written: its Python handler served by aiohttp, its
JavaScript in a page in headless Chromium, the answer from the fake provider server."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from web_helpers import serve

from lionrx.services import iModel
from lionrx.testing._server import FakeProviderServer, Script
from lionrx.web import client_routes

pytestmark = pytest.mark.browser

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
ANSWER = "The docs' handler streams this.\n\nA second paragraph, *with* `markup`."


def block(language: str) -> str:
    found = re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text("utf-8"), re.S | re.M)
    assert found, f"docs/web.md has no {language} block"
    return str(found[0])


async def test_the_web_page_snippets_work_together(page: Any, fake: FakeProviderServer) -> None:
    fake.queue(Script(text=ANSWER, chunk_size=5, delay=0.005))
    model = iModel(
        provider="openai", model="m", base_url=fake.openai_base_url, api_key="sk-test-1234"
    )
    scope: dict[str, Any] = {"model": model}
    exec(compile(block("python"), "docs/web.md", "exec"), scope)
    html = (
        '<!doctype html><meta charset="utf-8"><div id="answer"></div>'
        f'<script type="module">{block("js")}</script>'
    )

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/answer", scope["answer"])
    app.add_routes(client_routes())
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    try:
        async with serve(app) as url:
            await page.goto(url + "/")
            deadline = asyncio.get_running_loop().time() + 30
            while "completed" not in logged:
                assert asyncio.get_running_loop().time() < deadline, logged
                await asyncio.sleep(0.05)
            text = await page.locator("#answer").inner_text()
            code = await page.locator("#answer code").inner_text()
    finally:
        await model.aclose()
    assert (
        re.sub(r"\s+", " ", text).strip()
        == "The docs' handler streams this. A second paragraph, with markup."
    )
    assert code == "markup"
    assert fake.requests[0].json["messages"][-1]["content"] == "Hi"
    stats = [line for line in logged if line != "completed"]
    assert stats, "onStats was called"
    assert page.errors == []
