"""An answer carrying XSS payloads renders inert: no dialog, no script, no request to the
payload's URL; in the chat page (which also sends a CSP) and in a bare page without CSP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from web_helpers import ChatServer, serve, shot

from lionrx.testing._server import Script
from lionrx.web import client_routes

pytestmark = pytest.mark.browser


def payload(base: str) -> str:
    return (
        "Here is my answer.\n\n"
        f'<script>window.__pwned = "script"; fetch("{base}/script")</script>\n\n'
        f'<img src="{base}/img.png" onerror="window.__pwned=\'img\'">\n\n'
        "<img src=x onerror=alert(1)>\n\n"
        "[click me](javascript:window.__pwned='link')\n\n"
        "[tab trick](java\tscript:alert(2)) and "
        "[data](data:text/html,<script>alert(3)</script>)\n\n"
        '<a href="javascript:alert(4)">raw link</a> <svg onload=alert(5)></svg>\n\n'
        f"![tracker]({base}/tracker.png)\n\n"
        f'<iframe src="{base}/frame"></iframe>\n\n'
        "<javascript:alert(6)>\n\n"
        f"- item with **bold** and [a safe link]({base}/not-clicked)\n\n"
        "```html\n<script>alert(7)</script>\n```\n"
    )


class PayloadServer:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.Response(text="pwned")


async def assert_inert(page: Any, root: str, hits: list[str], dialogs: list[str]) -> None:
    await page.wait_for_timeout(300)
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert await page.evaluate("window.__pwned === undefined")
    found = await page.evaluate(
        """(root) => {
            const r = document.querySelector(root);
            return {
              dangerous: [...r.querySelectorAll("script, img, iframe, svg, object, embed")].length,
              hrefs: [...r.querySelectorAll("a")].map((a) => a.protocol),
              handlers: [...r.querySelectorAll("*")].filter(
                (e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length,
              text: r.innerText,
            };
        }""",
        root,
    )
    assert found["dangerous"] == 0
    assert found["handlers"] == 0
    assert set(found["hrefs"]) <= {"http:", "https:"}
    assert "<script>" in found["text"], "the payload is shown as text"
    assert "[image: tracker]" in found["text"]
    # Clicking the would-be javascript: link does nothing.
    for link in await page.get_by_text("click me").all():
        await link.click()
    await page.wait_for_timeout(100)
    assert await page.evaluate("window.__pwned === undefined")
    assert dialogs == []
    assert hits == [], f"the page fetched the payload's URLs: {hits}"


async def test_xss_payload_in_the_chat_page_is_inert(page: Any, chat: ChatServer) -> None:
    evil = PayloadServer()
    async with serve(evil.app) as base:
        text = payload(base)
        chat.fake.queue(Script(text=text, chunk_size=7, delay=0.005))
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if r.url.startswith(base) else None)
        await page.goto(chat.url + "/")
        await page.wait_for_selector("body[data-ready=true]")
        await page.fill("#prompt", "show me a payload")
        await page.keyboard.press("Enter")
        box = page.locator('.answer[data-status="complete"]')
        await box.wait_for()
        key = await box.get_attribute("data-key")
        assert await page.evaluate("(k) => window.lionrxChat.views[k].text()", key) == text
        await assert_inert(page, ".answer .body", evil.hits, dialogs)
        await page.screenshot(path=shot("chat-xss"), full_page=True)
        # Rendered again from the stored history: still inert.
        await page.reload()
        await page.wait_for_selector("body[data-ready=true]")
        await page.locator('.answer[data-status="complete"]').wait_for()
        await assert_inert(page, ".answer .body", evil.hits, dialogs)
        assert requests == []


async def test_renderer_is_inert_without_csp(page: Any) -> None:
    """The renderer itself is safe: here no Content-Security-Policy backs it up."""

    async def bare(request: web.Request) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=(
                '<!doctype html><meta charset="utf-8">'
                '<div id="out"><div id="tail"></div><div id="blocks"></div></div>'
                '<script type="module">import * as lx from "/static/lionrx.js";'
                "window.lx = lx; document.body.dataset.ready = 1;</script>"
            ),
        )

    app = web.Application()
    app.router.add_get("/", bare)
    app.add_routes(client_routes("/static"))
    evil = PayloadServer()
    async with serve(app) as url, serve(evil.app) as base:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
        await page.goto(url + "/")
        await page.wait_for_selector("body[data-ready]", state="attached")
        csp = await page.evaluate("document.querySelector('meta[http-equiv]')")
        assert csp is None
        text = payload(base)
        # As a pending tail (redrawn per chunk), then as committed blocks.
        await page.evaluate(
            """(text) => {
                const view = new window.lx.StreamView(document.getElementById("tail"));
                for (let i = 0; i < text.length; i += 5) {
                  view.push(text.slice(i, i + 5));
                  view.render();
                }
                view.finish();
                const blocks = new window.lx.StreamView(document.getElementById("blocks"));
                blocks.push(text);
                let end = 0;
                for (const part of text.split(/(?<=\\n\\n)/)) {
                  end += part.length;
                  blocks.commit(end);
                }
                blocks.finish();
            }""",
            text,
        )
        await assert_inert(page, "#out", evil.hits, dialogs)
        hrefs = await page.evaluate(
            "[...document.querySelectorAll('a')].map((a) => a.getAttribute('href'))"
        )
        assert hrefs and all(h.startswith(base) for h in hrefs)
        assert await page.evaluate(
            "['javascript:alert(1)', 'java\\tscript:x', 'data:text/html,x', 'vbscript:x', '/rel',"
            " 'https://example.com/a'].map(window.lx.safeHref)"
        ) == [None, None, None, None, None, "https://example.com/a"]
