"""An aiohttp app that streams a pipeline to the browser as Server-Sent Events in one line:
``return await sse_response(request, model.stream(messages=...).pipe(...))``.

Run it and open the printed address; ``--check`` instead fetches the stream once with an aiohttp
client, prints what a browser would receive, and exits.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from _common import models, parser
from aiohttp import web

from lionrx import iModel
from lionrx import operators as ops
from lionrx.web import sse_response

PAGE = """<!doctype html><meta charset="utf-8"><title>lionrx</title>
<pre id="out"></pre><script>
const out = document.getElementById("out");
const source = new EventSource("/answer?q=" + encodeURIComponent("Tell me about streams."));
source.addEventListener("text", (e) => { out.textContent += JSON.parse(e.data).text; });
source.addEventListener("completed", () => source.close());
source.addEventListener("failed", () => source.close());
</script>"""


def make_app(model: iModel) -> web.Application:
    async def index(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def answer(request: web.Request) -> web.StreamResponse:
        messages = [{"role": "user", "content": request.query.get("q", "Hello")}]
        return await sse_response(
            request, model.stream(messages=messages).pipe(ops.sentence_chunk())
        )

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/answer", answer)
    return app


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--check", action="store_true", help="fetch the stream once and exit")
    args = p.parse_args()
    async with models(args) as (model,):
        runner = web.AppRunner(make_app(model))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0 if args.check else args.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        try:
            if not args.check:
                print(f"serving on {url} (Ctrl-C to stop)")
                await asyncio.Event().wait()
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{url}/answer?q=streams") as resp:
                    print(f"content-type: {resp.headers['Content-Type']}")
                    body = (await resp.read()).decode()
            kinds = [ln.split(": ", 1)[1] for ln in body.splitlines() if ln.startswith("event: ")]
            print(f"events: {len(kinds)}; last: {kinds[-1] if kinds else None}")
            # What the page shows: the text events joined (here, one event per sentence).
            datas = [ln[6:] for ln in body.splitlines() if ln.startswith("data: ")]
            shown = "".join(
                json.loads(d)["text"] for k, d in zip(kinds, datas, strict=True) if k == "text"
            )
            final = json.loads(datas[-1]) if datas else {}
            answer = final.get("response", {}).get("texts", {}).get("0")
            print(f"text events: {kinds.count('text')}; {len(shown)} chars")
            print(f"same text as the completed response: {shown == answer}")
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
