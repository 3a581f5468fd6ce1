"""The fake provider server: wire shapes (checked with the official SDKs), recordings served
byte-exact, progressive delivery, disconnect detection, redaction, the CLI and the thread mode."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import anthropic
import openai
import pytest

from lionrx.testing import (
    ErrorReply,
    FakeProviderServer,
    Recording,
    Script,
    ToolCallScript,
)

CANARY = "sk-canary-server-0123456789abcdef"


async def post(server: FakeProviderServer, path: str, body: dict[str, object]) -> bytes:
    async with aiohttp.ClientSession() as s:
        async with s.post(server.url + path, json=body) as r:
            return await r.read()


def sse_data(raw: bytes) -> list[dict[str, object]]:
    out = []
    for block in raw.decode().split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[6:]))
    return out


async def test_binds_loopback_on_a_free_port() -> None:
    async with FakeProviderServer() as a, FakeProviderServer() as b:
        assert a.url.startswith("http://127.0.0.1:")
        assert a.port != b.port
        assert a.openai_base_url == a.url + "/v1"
        assert a.anthropic_base_url == a.url == a.ollama_base_url


async def test_openai_sdk_streams_text_usage_and_tools(fake_server: FakeProviderServer) -> None:
    fake_server.queue(
        Script(
            chunks=["Hel", "lo, ", "wörld ✓"],
            usage=(11, 3),
            tool_calls=[ToolCallScript("get_weather", {"city": "Paris"}, chunk_size=5)],
        )
    )
    async with openai.AsyncOpenAI(base_url=fake_server.openai_base_url, api_key=CANARY) as c:
        stream = await c.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        texts, args, finish, usage, name = [], [], None, None, None
        async for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for choice in chunk.choices:
                if choice.delta.content:
                    texts.append(choice.delta.content)
                for tc in choice.delta.tool_calls or []:
                    name = tc.function.name or name  # type: ignore[union-attr]
                    args.append(tc.function.arguments or "")  # type: ignore[union-attr]
                finish = choice.finish_reason or finish
    assert texts == ["Hel", "lo, ", "wörld ✓"]
    assert name == "get_weather" and json.loads("".join(args)) == {"city": "Paris"}
    assert len([a for a in args if a]) > 1  # arguments arrive in fragments
    assert finish == "tool_calls"
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (11, 3)
    req = fake_server.last_request
    assert req.path == "/v1/chat/completions" and req.json["model"] == "gpt-test"
    assert req.headers["authorization"] == "REDACTED"
    assert CANARY not in repr(fake_server.requests)


async def test_openai_usage_chunk_only_when_asked(fake_server: FakeProviderServer) -> None:
    raw = await post(fake_server, "/v1/chat/completions", {"model": "m", "stream": True})
    assert raw.endswith(b"data: [DONE]\n\n")
    assert all("usage" not in d for d in sse_data(raw))


async def test_openai_sdk_non_streaming(fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(text="Plain answer.", usage=(2, 3))
    async with openai.AsyncOpenAI(base_url=fake_server.openai_base_url, api_key=CANARY) as c:
        done = await c.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
    assert done.choices[0].message.content == "Plain answer."
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None and done.usage.total_tokens == 5


async def test_anthropic_sdk_streams_thinking_text_and_tools(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.queue(
        Script(
            text="The answer is 42.",
            reasoning="Let me think.",
            tool_calls=[{"name": "calc", "arguments": '{"x": 6, "y": 7}'}],
            usage=(20, 9),
        )
    )
    async with anthropic.AsyncAnthropic(
        base_url=fake_server.anthropic_base_url, api_key=CANARY
    ) as c:
        async with c.messages.stream(
            model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "q"}]
        ) as stream:
            kinds = [event.type async for event in stream]
            final = await stream.get_final_message()
    assert kinds[0] == "message_start" and "message_stop" in kinds
    blocks = {b.type: b for b in final.content}
    assert blocks["thinking"].thinking == "Let me think."  # type: ignore[union-attr]
    assert blocks["text"].text == "The answer is 42."  # type: ignore[union-attr]
    assert blocks["tool_use"].input == {"x": 6, "y": 7}  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (20, 9)
    sent = fake_server.last_request.headers
    assert "REDACTED" in (sent.get("x-api-key"), sent.get("authorization"))
    assert CANARY not in repr(fake_server.requests)


async def test_anthropic_sdk_non_streaming(fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(text="Short.", stop_reason="max_tokens")
    async with anthropic.AsyncAnthropic(
        base_url=fake_server.anthropic_base_url, api_key=CANARY
    ) as c:
        msg = await c.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "q"}]
        )
    assert msg.content[0].text == "Short."  # type: ignore[union-attr]
    assert msg.stop_reason == "max_tokens"


async def test_anthropic_stream_has_ping_and_full_sequence(
    fake_server: FakeProviderServer,
) -> None:
    raw = await post(fake_server, "/v1/messages", {"model": "m", "stream": True})
    names = [line[7:] for line in raw.decode().split("\n") if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert "ping" in names and "message_delta" in names and "content_block_stop" in names


async def test_ollama_ndjson_streams_by_default_and_json_when_asked(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.default = Script(text="a b c", reasoning="r")
    raw = await post(fake_server, "/api/chat", {"model": "llama"})
    lines = [json.loads(x) for x in raw.decode().splitlines() if x]
    assert "".join(x["message"]["content"] for x in lines) == "a b c"
    assert "".join(x["message"].get("thinking", "") for x in lines) == "r"
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    assert all(not x["done"] for x in lines[:-1])
    one = json.loads(await post(fake_server, "/api/chat", {"model": "llama", "stream": False}))
    assert one["message"]["content"] == "a b c" and one["done"] is True


@pytest.mark.parametrize("size", [None, 1, 7, "random"])
async def test_recordings_are_served_byte_exact(
    fake_server: FakeProviderServer, streams_dir: Path, size: int | str | None
) -> None:
    files = sorted(streams_dir.iterdir())
    assert len(files) >= 20
    async with aiohttp.ClientSession() as s:
        for path in files:
            fake_server.queue(Recording(path, chunk_size=size, seed=3))  # type: ignore[arg-type]
            async with s.post(fake_server.url + "/anything", json={}) as r:
                body = await r.read()
                assert r.content_type == (
                    "application/x-ndjson" if path.suffix == ".ndjson" else "text/event-stream"
                )
            assert body == path.read_bytes(), path.name


async def test_chunks_arrive_progressively(fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(chunks=["a", "b", "c", "d"], delay=0.15)
    async with aiohttp.ClientSession() as s:
        t0 = time.monotonic()
        async with s.post(fake_server.url + "/v1/chat/completions", json={"stream": True}) as r:
            arrivals = []
            async for piece in r.content.iter_any():
                if b'"content":"' in piece and b'"content":""' not in piece:
                    arrivals.append(time.monotonic() - t0)
    assert len(arrivals) == 4
    assert arrivals[-1] - arrivals[0] >= 0.4  # spread over the delays, not one burst


async def test_first_delay_and_timed_keepalives(fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(text="x", first_delay=0.35, keepalive_every=0.1)
    raw = await post(fake_server, "/v1/chat/completions", {"stream": True})
    assert raw.count(b": keep-alive\n\n") >= 2
    counted = Script(chunks=list("abcdef"), keepalive_every=2)
    fake_server.default = counted
    raw = await post(fake_server, "/api/chat", {})
    assert raw.count(b"\n\n") == 3  # an empty NDJSON line after frames 2, 4 and 6


async def test_error_reply_and_conformance_errors(fake_server: FakeProviderServer) -> None:
    errors = json.loads((Path(__file__).parent.parent / "fixtures/errors.json").read_text())
    async with aiohttp.ClientSession() as s:
        for case in errors["http_errors"]:
            for retry_after in (None, "", "2"):
                fake_server.queue(ErrorReply.from_conformance(case, retry_after=retry_after))
                async with s.post(fake_server.url + "/v1/messages", json={}) as r:
                    assert r.status == case["status"]
                    body = await r.read()
                    if "body" in case:
                        assert json.loads(body) == case["body"]
                    else:
                        assert body.decode() == case["body_text"]
                    assert r.headers.get("retry-after") == (
                        retry_after or None
                        if retry_after is not None
                        else case["headers"].get("retry-after")
                    )


async def test_unknown_endpoint_is_404(fake_server: FakeProviderServer) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(fake_server.url + "/nope", json={}) as r:
            assert r.status == 404


async def test_client_disconnect_mid_stream_is_seen(fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(chunks=["x"] * 50, delay=0.2)
    async with aiohttp.ClientSession() as s:
        r = await s.post(fake_server.url + "/v1/chat/completions", json={"stream": True})
        await r.content.readany()
        assert fake_server.open_streams == 1
        r.close()  # drop the connection while the server sleeps between chunks
        await fake_server.wait_for_disconnect(timeout=2.0)
        await fake_server.wait_idle(timeout=2.0)
    assert fake_server.disconnects == 1 and fake_server.completed == 0


async def test_completed_streams_are_not_disconnects(fake_server: FakeProviderServer) -> None:
    for _ in range(3):
        await post(fake_server, "/v1/chat/completions", {"stream": True})
    await fake_server.wait_idle()
    assert fake_server.disconnects == 0 and fake_server.completed == 3
    with pytest.raises(TimeoutError):
        await fake_server.wait_for_disconnect(timeout=0.1)


async def test_close_cancels_stalled_handlers() -> None:
    server = FakeProviderServer(Script(text="x", first_delay=30))
    await server.start()
    async with aiohttp.ClientSession() as s:
        task = asyncio.ensure_future(
            s.post(server.url + "/v1/chat/completions", json={"stream": True})
        )
        await server.wait_for(lambda: server.open_streams == 1)
        t0 = time.monotonic()
        await server.close()
        assert time.monotonic() - t0 < 3
        resp = await task
        with pytest.raises(aiohttp.ClientError):
            await resp.read()
        resp.close()


def test_runs_in_a_thread_for_sync_code() -> None:
    server = FakeProviderServer(Script(text="from a thread"))
    with server.in_thread():
        client = openai.OpenAI(base_url=server.openai_base_url, api_key=CANARY)
        with client:
            out = client.chat.completions.create(model="m", messages=[])
    assert out.choices[0].message.content == "from a thread"


def test_command_line_prints_its_url_and_serves(streams_dir: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lionrx.testing.server",
            "--text",
            "cli answer",
            "--chunk-size",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with openai.OpenAI(base_url=url + "/v1", api_key=CANARY) as client:
            stream = client.chat.completions.create(model="m", messages=[], stream=True)
            pieces = [c.choices[0].delta.content for c in stream if c.choices]
        assert [p for p in pieces if p] == ["cli", " an", "swe", "r"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    rec = streams_dir / "ollama_chat.ndjson"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lionrx.testing.server", "--recording", str(rec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        import urllib.request

        with urllib.request.urlopen(urllib.request.Request(url + "/api/chat", data=b"{}")) as r:
            assert r.read() == rec.read_bytes()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


async def test_non_streaming_waits_without_corrupting_the_body(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.default = Script(text="late", first_delay=0.2, keepalive_every=0.05)
    body = json.loads(await post(fake_server, "/v1/chat/completions", {"stream": False}))
    assert body["choices"][0]["message"]["content"] == "late"
