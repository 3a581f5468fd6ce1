"""The chat app's HTTP API and the ``lionrx web`` command (a real subprocess)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
from web_helpers import ChatServer, read_sse

from lionrx.testing._server import Script
from lionrx.web import main


async def test_api_errors_are_clear(chat: ChatServer) -> None:
    async with aiohttp.ClientSession() as http:
        cases = [
            ("not json", 400, "JSON"),
            ('{"text": "", "models": ["alpha"]}', 400, "non-empty"),
            ('{"text": "hi", "models": ["nope"]}', 400, "unknown model"),
            ('{"text": "hi", "models": []}', 400, "1 to 4"),
        ]
        for body, status, words in cases:
            async with http.post(chat.url + "/api/conversations/new/turns", data=body) as r:
                assert r.status == status
                assert words in (await r.json())["error"]
        async with http.post(
            chat.url + "/api/conversations/c-missing/turns",
            json={"text": "hi", "models": ["alpha"]},
        ) as r:
            assert r.status == 404
        async with http.get(chat.url + "/api/conversations/c-missing") as r:
            assert r.status == 404
        async with http.get(chat.url + "/") as r:
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_turn_stream_cancel_and_history_over_http(chat: ChatServer) -> None:
    chat.fake.queue(Script(text="one two three " * 200, chunk_size=5, delay=0.01))
    async with aiohttp.ClientSession() as http:
        async with http.post(
            chat.url + "/api/conversations/new/turns", json={"text": "go", "models": ["alpha"]}
        ) as r:
            reply = await r.json()
        conv = reply["conversation"]
        stream = reply["streams"][0]
        part = await read_sse(http, chat.url + stream["url"], stop_after=5)
        async with http.post(
            chat.url + "/api/conversations/" + conv + "/turns",
            json={"text": "again", "models": ["alpha"]},
        ) as r:
            assert r.status == 409, "one answer at a time per conversation"
        async with http.post(chat.url + f"/api/streams/{stream['key']}/cancel") as r:
            assert (await r.json()) == {"cancelled": True}
        await chat.fake.wait_for_disconnect(timeout=5)
        rest = await read_sse(http, chat.url + stream["url"], last_event_id=part.last_event_id)
        assert rest.final.event == "failed"
        async with http.get(chat.url + "/api/conversations/" + conv) as r:
            data = await r.json()
        raw = str(data)
    (lane,) = data["lanes"]
    user, answer = lane["messages"]
    assert user == {"id": user["id"], "role": "user", "text": "go"}
    assert answer["model"] == "alpha" and answer["stop_reason"] is None
    assert answer["status"] == "incomplete" and answer["reason"] == "cancelled"
    assert answer["text"] == part.text() + rest.text()
    assert "sk-test" not in raw


async def test_lionrx_web_command_serves_on_localhost(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lionrx.web",
        "--fake",
        "--fake-delay",
        "0",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        url = match.group(1)
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/api/state") as r:
                state = await r.json()
            assert state["models"] == ["fake-alpha", "fake-beta"]
            async with http.post(
                url + "/api/conversations/new/turns", json={"text": "hi", "models": ["fake-beta"]}
            ) as r:
                reply = await r.json()
            result = await read_sse(http, url + reply["streams"][0]["url"])
            assert result.final.event == "completed"
            assert "Streaming, progressively" in result.text()
            async with http.get(url + "/static/lionrx.js") as r:
                assert r.status == 200 and "export class StreamView" in await r.text()
        assert (tmp_path / "lionrx" / "web.sqlite").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 15)
    assert proc.returncode == 0


def test_main_reports_errors_in_one_line(capsys: object) -> None:
    status = main(["--provider", "no-such-provider", "--session", "/nonexistent/dir/x.sqlite"])
    assert status == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert err.startswith("lionrx web: ") and err.count("\n") == 1
