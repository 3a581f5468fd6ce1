"""The shared transport over real sockets: content types, huge lines, keep-alives, sessions."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from providers_helpers import load_sse_cases

from lionrx._transport import post_stream
from lionrx.errors import APIConnectionError, ProtocolError, ProviderStreamError, StreamTimeout
from lionrx.providers import RetryPolicy
from lionrx.providers._http import SSEItems
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Fault, Recording, Script

CONTENT_TYPE_CASES = [case for case in load_sse_cases() if "content_type" in case]


def test_there_are_content_type_cases() -> None:
    assert len(CONTENT_TYPE_CASES) >= 4
    assert {case["accept"] for case in CONTENT_TYPE_CASES} == {True, False}


@pytest.mark.parametrize("case", CONTENT_TYPE_CASES, ids=lambda c: str(c["name"]))
async def test_content_type_conformance(
    fake_server: FakeProviderServer, case: dict[str, Any]
) -> None:
    fake_server.queue(
        Recording(data=case["input"].encode(), content_type=case["content_type"], chunk_size=3)
    )
    async with aiohttp.ClientSession() as session:
        items = post_stream(
            session,
            fake_server.openai_base_url + "/chat/completions",
            body={"model": "m", "messages": []},
            headers={},
            decoder_factory=lambda media: SSEItems(),
            accept=("text/event-stream",),
            provider="test",
        )
        if case["accept"]:
            got = [(e.event, e.data, e.id, e.retry) async for e in items if e.data is not None]
            expected = [(e["event"], e["data"], e["id"], e["retry"]) for e in case["expected"]]
            assert got == expected
        else:
            with pytest.raises(ProtocolError, match="Content-Type") as info:
                async for _ in items:
                    pass
            assert repr(case["content_type"]) in str(info.value)


async def test_a_4mb_line_is_read_whole(fake_server: FakeProviderServer) -> None:
    big = "x" * (4 * 1024 * 1024)
    chunk = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": big}}]}
    end = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    body = f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode()
    fake_server.queue(Recording(data=body, content_type="text/event-stream", chunk_size=65536))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    response = calling.raise_for_status().execution.response
    assert response is not None and response.text == big


async def test_huge_line_fault_from_the_chaos_kit(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="a b c", fault=Fault.huge_line(size=5 * 1024 * 1024)))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    response = calling.raise_for_status().execution.response
    assert response is not None and len(response.text) > 5 * 1024 * 1024


async def test_keepalives_surface_as_events(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="one two three", keepalive_every=1))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        events = [e async for e in model._events("hi", {})]
    kinds = [e.kind for e in events]
    assert "keep_alive" in kinds
    assert kinds[-1] == "completed"


async def test_one_session_is_reused_across_calls(fake_server: FakeProviderServer) -> None:
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        for _ in range(3):
            (await model.invoke(messages="hi")).raise_for_status()
        session = model.backend.session  # type: ignore[attr-defined]
        assert session is model.backend.session  # type: ignore[attr-defined]
        assert not session.closed
    assert session.closed


async def test_a_shared_session_is_left_open(fake_server: FakeProviderServer) -> None:
    async with aiohttp.ClientSession() as session:
        for provider, base in [
            ("openai", fake_server.openai_base_url),
            ("ollama", fake_server.url),
        ]:
            async with iModel(
                provider=provider, model="m", base_url=base, http_session=session
            ) as m:
                (await m.invoke(messages="hi")).raise_for_status()
        assert not session.closed


async def test_timeout_is_a_stream_timeout(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="slow", first_delay=2.0))
    async with iModel(model="m", base_url=fake_server.openai_base_url, timeout=0.2) as model:
        calling = await model.invoke(messages="hi")
    assert isinstance(calling.execution.error, StreamTimeout)
    assert isinstance(calling.execution.error, TimeoutError)  # the notebook catches this
    assert calling.execution.error.which == "idle"


async def test_non_streaming_bodies_map_to_the_same_response(
    fake_server: FakeProviderServer,
) -> None:
    script = Script(text="Same answer either way.", usage=(5, 4))
    for provider, base in [
        ("openai", fake_server.openai_base_url),
        ("anthropic", fake_server.url),
        ("ollama", fake_server.url),
    ]:
        fake_server.queue(script, script)
        async with iModel(provider=provider, model="m", base_url=base) as model:
            streamed = (await model.invoke(messages="hi")).raise_for_status().response
            whole = (await model.invoke(messages="hi", stream=False)).raise_for_status().response
        assert fake_server.requests[-1].json["stream"] is False
        assert streamed is not None and whole is not None
        assert whole.text == streamed.text == "Same answer either way."
        assert whole.stop_reason == streamed.stop_reason
        assert whole.usage is not None and streamed.usage is not None
        assert (whole.usage.input_tokens, whole.usage.output_tokens) == (5, 4)
        assert (streamed.usage.input_tokens, streamed.usage.output_tokens) == (5, 4)


async def test_a_json_error_body_with_status_200(fake_server: FakeProviderServer) -> None:
    body = b'{"error": {"message": "model is loading", "type": "unavailable"}}'
    fake_server.queue(Recording(data=body, content_type="application/json"))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    error = calling.execution.error
    assert isinstance(error, ProviderStreamError)
    assert error.error_type == "unavailable" and "model is loading" in str(error)


async def test_a_stall_after_the_headers_is_an_idle_timeout_not_retried(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.queue(
        Script(text="slow", fault=Fault.stall(at_byte=0, seconds=2.0)), Script(text="fast")
    )
    async with iModel(
        model="m",
        base_url=fake_server.openai_base_url,
        timeout=0.2,
        retry=RetryPolicy(max_retries=1, initial_backoff=0.001),
    ) as model:
        calling = await model.invoke(messages="hi")
    # A stall at byte 0 is after the headers: an idle timeout, never retried.
    assert isinstance(calling.execution.error, StreamTimeout)
    assert len(fake_server.requests) == 1


def test_a_model_survives_a_new_event_loop() -> None:
    """One model used under two ``asyncio.run`` calls (two loops), closed at the end of each."""
    import asyncio

    async def one(model: iModel) -> str:
        try:
            return "".join([c async for c in model.invoke_stream(messages="hi")])
        finally:
            await model.aclose()

    with FakeProviderServer(Script(text="same answer")).in_thread() as server:
        model = iModel(model="m", base_url=server.openai_base_url)
        assert asyncio.run(one(model)) == asyncio.run(one(model)) == "same answer"


async def test_mid_stream_errors_carry_the_response_request_id(
    fake_server: FakeProviderServer,
) -> None:
    raw = b'data: {"error": {"message": "oops", "type": "server_error"}}\n\n'
    fake_server.queue(
        Recording(data=raw, content_type="text/event-stream", headers={"x-request-id": "req_42"})
    )
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    error = calling.execution.error
    assert isinstance(error, ProviderStreamError)
    assert error.request_id == "req_42" and error.provider == "openai"


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
async def test_connections_go_back_to_the_pool(
    fake_server: FakeProviderServer, provider: str
) -> None:
    base = fake_server.openai_base_url if provider == "openai" else fake_server.url
    async with iModel(provider=provider, model="m", base_url=base) as model:
        for _ in range(3):
            (await model.invoke(messages="hi")).raise_for_status()
            connector = model.backend.session.connector  # type: ignore[attr-defined]
            assert len(connector._acquired) == 0
            assert sum(len(v) for v in connector._conns.values()) == 1  # one, reused
    assert fake_server.disconnects == 0


async def test_a_late_end_of_body_is_waited_for_briefly(fake_server: FakeProviderServer) -> None:
    from providers_helpers import STREAMS

    body = (STREAMS / "openai_chat_text.sse").read_bytes()
    # The body's end arrives 0.1 s after [DONE]: drained, the connection is reused.
    fake_server.queue(
        Recording(
            data=body,
            content_type="text/event-stream",
            fault=Fault.stall(at_byte=len(body), seconds=0.1),
        )
    )
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        (await model.invoke(messages="hi")).raise_for_status()
        connector = model.backend.session.connector  # type: ignore[attr-defined]
        assert sum(len(v) for v in connector._conns.values()) == 1
    assert fake_server.disconnects == 0


async def test_a_body_left_open_after_the_answer_is_closed(
    fake_server: FakeProviderServer,
) -> None:
    import time

    from providers_helpers import STREAMS

    body = (STREAMS / "openai_chat_text.sse").read_bytes()
    fake_server.queue(
        Recording(
            data=body,
            content_type="text/event-stream",
            fault=Fault.stall(at_byte=len(body), seconds=30),
        )
    )
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        start = time.perf_counter()
        calling = await model.invoke(messages="hi")
        assert time.perf_counter() - start < 5
    assert calling.raise_for_status().response is not None
    await fake_server.wait_for_disconnect()


async def test_requests_say_who_sends_them(fake_server: FakeProviderServer) -> None:
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        (await model.invoke(messages="hi")).raise_for_status()
    assert fake_server.last_request.headers["user-agent"].startswith("lionrx/")
    assert fake_server.last_request.headers["content-type"] == "application/json"


async def test_a_failed_stream_never_pools_its_connection(fake_server: FakeProviderServer) -> None:
    # The whole (small) body arrives at once, so aiohttp pools the connection before the bad
    # JSON is even parsed; the failure must still close it.
    fake_server.queue(Script(text="", fault=Fault.invalid_json(at_frame=0)))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
        assert isinstance(calling.execution.error, ProtocolError)
        await fake_server.wait_for(lambda: fake_server.connections == 0, 3.0)
        (await model.invoke(messages="again")).raise_for_status()  # a fresh connection works


async def _raw_server(reply: bytes) -> tuple[Any, str, list[int]]:
    """A one-reply HTTP server written by hand (aiohttp's server cannot send a body with a
    204); counts the requests it got."""
    import asyncio

    count = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        count[0] += 1
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1", count


async def test_an_invalid_http_response_is_not_called_a_connect_failure() -> None:
    # A 204 must not have a body: aiohttp's parser reads the body as the next status line.
    body = b'{"choices": []}'
    reply = b"HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\n"
    reply += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    server, base, count = await _raw_server(reply)
    try:
        async with iModel(model="m", base_url=base, retry=RetryPolicy(max_retries=2)) as model:
            calling = await model.invoke(messages="hi")
    finally:
        server.close()
        await server.wait_closed()
    error = calling.execution.error
    assert isinstance(error, ProtocolError)
    assert "invalid HTTP response" in str(error)
    assert "could not connect" not in str(error)
    assert count[0] == 1, "a malformed answer is not retried"


async def test_a_server_closing_without_answering_says_so() -> None:
    server, base, count = await _raw_server(b"")
    try:
        async with iModel(model="m", base_url=base, retry=RetryPolicy(max_retries=0)) as model:
            calling = await model.invoke(messages="hi")
    finally:
        server.close()
        await server.wait_closed()
    error = calling.execution.error
    assert isinstance(error, APIConnectionError)
    assert "closed the connection before answering" in str(error)
    assert count[0] == 1


async def test_a_refused_connect_says_could_not_connect() -> None:
    server, base, _ = await _raw_server(b"")
    server.close()
    await server.wait_closed()
    async with iModel(model="m", base_url=base, retry=RetryPolicy(max_retries=0)) as model:
        calling = await model.invoke(messages="hi")
    error = calling.execution.error
    assert isinstance(error, APIConnectionError)
    assert "could not connect" in str(error)


async def test_an_invalid_url_is_a_configuration_error_never_retried() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    from lionrx.errors import ConfigurationError

    async with aiohttp.ClientSession() as session:
        items = post_stream(
            session,
            "http://[bad/chat/completions",
            body={},
            headers={},
            decoder_factory=lambda _: SSEItems(),
            accept=("text/event-stream",),
            provider="openai",
            retry=RetryPolicy(max_retries=3),
            sleep=sleep,
        )
        with pytest.raises(ConfigurationError, match="cannot send to openai"):
            await anext(items)
    assert waits == []


async def test_an_empty_204_names_its_status() -> None:
    server, base, _ = await _raw_server(b"HTTP/1.1 204 No Content\r\n\r\n")
    try:
        async with iModel(model="m", base_url=base, retry=RetryPolicy(max_retries=0)) as model:
            calling = await model.invoke(messages="hi")
    finally:
        server.close()
        await server.wait_closed()
    error = calling.execution.error
    assert isinstance(error, ProtocolError)
    assert "on HTTP 204" in str(error) and "(missing)" in str(error)
    assert error.status == 204
