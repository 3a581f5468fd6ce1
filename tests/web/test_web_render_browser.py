"""lionrx.js renders markdown blocks into the expected safe DOM (a bare page, no chat app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from web_helpers import serve

from lionrx.web import client_routes

pytestmark = pytest.mark.browser

BARE = (
    '<!doctype html><meta charset="utf-8"><div id="out"></div>'
    '<script type="module">import * as lx from "/lionrx/lionrx.js";'
    "window.lx = lx; document.body.dataset.ready = 1;</script>"
)


@pytest.fixture
async def bare(page: Any) -> AsyncIterator[Any]:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=BARE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    app.add_routes(client_routes())
    async with serve(app) as url:
        await page.goto(url + "/")
        await page.wait_for_selector("body[data-ready]", state="attached")
        yield page


async def render(page: Any, text: str) -> str:
    return str(
        await page.evaluate(
            """(text) => {
                const out = document.getElementById("out");
                out.replaceChildren(window.lx.renderMarkdown(text));
                return out.innerHTML;
            }""",
            text,
        )
    )


async def test_blocks_and_inline_markdown(bare: Any) -> None:
    html = await render(
        bare,
        "# Title\n\nSome *em*, **strong**, `code` and [a link](https://example.com/x).\n\n"
        "- one\n- two\n\n3. three\n\n> quoted\n\n---\n\n```py\nx = 1 < 2\n```\n",
    )
    assert "<h1>Title</h1>" in html
    assert "<em>em</em>" in html and "<strong>strong</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.com/x" rel="noopener noreferrer nofollow"' in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert '<ol start="3"><li>three</li></ol>' in html
    assert "<blockquote><p>quoted</p></blockquote>" in html
    assert "<hr>" in html
    assert (
        '<pre class="lx-code" data-lang="py"><code class="language-py">x = 1 &lt; 2</code>' in html
    )


async def test_unclosed_fence_renders_as_open_code(bare: Any) -> None:
    html = await render(bare, "```js\nlet a = '<b>';\n")
    assert '<pre class="lx-code lx-open" data-lang="js">' in html
    assert "&lt;b&gt;" in html


async def test_stream_view_commits_blocks_once(bare: Any) -> None:
    result = await bare.evaluate(
        """() => {
            const out = document.getElementById("out");
            const view = new window.lx.StreamView(out);
            const text = "# A\\n\\npara one\\n\\npara two 😀 tail";
            for (const ch of text) { view.push(ch); view.render(); }
            const first = out.querySelector("[data-block]");
            view.commit(5);   // "# A\\n\\n"
            view.render();
            const heading = out.querySelector("[data-block='0']");
            view.commit(15);  // "para one\\n\\n"
            view.render();
            view.finish();
            return {
              firstBefore: first === null,
              same: heading === out.querySelector("[data-block='0']"),
              blocks: [...out.querySelectorAll("[data-block]")].map((n) => n.outerHTML),
              tail: out.querySelector(".lx-tail").innerHTML,
              text: view.text() === text,
            };
        }"""
    )
    assert result["firstBefore"] and result["same"] and result["text"]
    assert result["blocks"] == ['<h1 data-block="0">A</h1>', '<p data-block="1">para one</p>']
    assert result["tail"] == "<p>para two 😀 tail</p>"


async def test_inline_cost_is_bounded_by_the_line(bare: Any) -> None:
    # Many unclosed markers over many lines: rendering stays fast (no scan to the block's end).
    text = "\n".join("x *a **b `c [d _e" * 20 for _ in range(200))
    ms = await bare.evaluate(
        """(text) => {
            const t0 = performance.now();
            window.lx.renderMarkdown(text);
            return performance.now() - t0;
        }""",
        text,
    )
    assert ms < 500


PIECES = [
    "Plain words flow on",
    " and *em* here",
    " with **strong** text",
    " some `code` spans",
    " a ``double `tick`` span",
    " a [link](https://example.com/a) too",
    " an ![image](https://example.com/i.png)",
    " snake_case_name and _under_ score",
    " 5 * 3 = 15",
    " <https://example.com/auto> link",
    " unclosed *star",
    " unclosed `tick",
    " [bracket] (paren)",
    " __bold__ end_",
    "\n",
    "\n\n",
    "\n```python\nx = 1 < 2\n",
    "\n```\n",
    "\n~~~\nraw ``` text\n~~~\n",
    "\n- item one\n- item two\n",
    "\n# Heading\n",
    "\n> quote\n",
    "\n---\n",
    "\n1. first\n",
    "\n<script>alert(1)</script>\n",
]


def markdown_samples(seed: int, count: int) -> list[list[str]]:
    """Random markdown-ish answers, each split into random chunks (1 to 12 characters)."""
    import random

    rng = random.Random(seed)
    samples = []
    for _ in range(count):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(5, 40)))
        chunks, i = [], 0
        while i < len(text):
            n = rng.randint(1, 12)
            chunks.append(text[i : i + n])
            i += n
        samples.append(chunks)
    return samples


def long_code_chunks() -> list[str]:
    """An open code block long enough to be kept in several segments, in 1..12-char chunks."""
    import random

    rng = random.Random(9)
    text = "```python\n" + "".join(f"x_{i} = '<b>' * {i}  # line {i}\n" for i in range(400))
    chunks, i = [], 0
    while i < len(text):
        n = rng.randint(1, 12)
        chunks.append(text[i : i + n])
        i += n
    return chunks


async def test_tail_grown_in_place_matches_a_full_redraw(bare: Any) -> None:
    """Whatever the chunking, the tail updated in place shows what a full render shows."""
    mismatches = await bare.evaluate(
        """(samples) => {
            // Trailing blanks of a growing paragraph, and the block-level segments of a
            // growing code block, do not change what is shown.
            const norm = (html) => html.replace(/\\s+<\\/p>/g, "</p>")
              .replace(/<span class="lx-seg" style="display: block;">([^<]*)<\\/span>/g, "$1");
            const out = document.getElementById("out");
            const ref = document.createElement("div");
            const bad = [];
            let grown = 0;
            let segments = 0;
            for (const chunks of samples) {
              out.replaceChildren();
              const view = new window.lx.StreamView(out);
              const tailEl = out.querySelector(".lx-tail");
              let text = "";
              for (const chunk of chunks) {
                text += chunk;
                view.push(chunk);
                const mode = view.mode;
                view.render();
                if (mode !== null && !view.reset) grown += 1;
                ref.replaceChildren(window.lx.renderMarkdown(text));
                if (norm(tailEl.innerHTML) !== norm(ref.innerHTML)) {
                  bad.push({ text, got: tailEl.innerHTML, want: ref.innerHTML });
                  break;
                }
              }
              segments = Math.max(segments, tailEl.querySelectorAll(".lx-seg").length);
              view.finish();
              ref.replaceChildren(window.lx.renderMarkdown(text));
              if (tailEl.innerHTML !== ref.innerHTML) bad.push({ text, final: true });
            }
            return { bad: bad.slice(0, 3), grown, segments };
        }""",
        markdown_samples(seed=8, count=300) + [long_code_chunks()],
    )
    assert mismatches["bad"] == []
    assert mismatches["grown"] > 1000  # the in-place path was really taken
    assert mismatches["segments"] > 3  # and the long code block was split into segments
