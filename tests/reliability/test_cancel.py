"""Stopping a stream at any point (disposal, ``break``, ``aclose``, task cancellation) closes its
HTTP connection: the server sees the disconnect, no connection stays checked out, no task is
left running."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, subscribe

from lionrx.events import TextDelta
from lionrx.testing import ErrorReply, FakeProviderServer, Script

Mode = Literal["dispose", "break", "aclose", "cancel_invoke", "cancel_invoke_stream"]
CHUNKS = [f"w{i} " for i in range(40)]


async def stop_after(
    server: FakeProviderServer, wire: Wire, mode: Mode, n: int, first_delay: float
) -> None:
    baseline = set(asyncio.all_tasks())
    before = server.disconnects
    server.queue(Script(chunks=CHUNKS, delay=0.01, first_delay=first_delay))
    model = make_model(server, wire)
    try:
        received: list[str] = []
        if mode == "dispose":
            trace, sub = subscribe(model.stream("hi"))
            await server.wait_for(lambda: server.open_streams == 1, 10.0)
            while sum(isinstance(e, TextDelta) for e in trace.items) < n:
                await asyncio.sleep(0.002)
            sub.dispose()
            received = [e.text for e in trace.items if isinstance(e, TextDelta)]
            await asyncio.sleep(0.05)
            assert not trace.ended or trace.items[-1].kind in ("completed", "failed")
        elif mode == "break":
            # No explicit aclose: leaving the loop drops the generator, which closes it.
            async for chunk in model.invoke_stream("hi"):
                received.append(chunk)
                if len(received) >= n:
                    break
        elif mode == "aclose":
            agen = model.invoke_stream("hi")
            async for chunk in agen:
                received.append(chunk)
                if len(received) >= n:
                    break
            await agen.aclose()
        else:

            async def consume() -> None:
                if mode == "cancel_invoke":
                    await model.invoke("hi")
                else:
                    async for chunk in model.invoke_stream("hi"):
                        received.append(chunk)

            task = asyncio.ensure_future(consume())
            await server.wait_for(lambda: server.open_streams == 1, 10.0)
            if mode == "cancel_invoke_stream":
                while len(received) < n:
                    await asyncio.sleep(0.002)
            else:
                await asyncio.sleep(0.01 * n)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        # What was received is a prefix of the answer, and the server saw the client leave.
        assert "".join(CHUNKS).startswith("".join(received))
        await server.wait_for_disconnect(timeout=10.0, count=before + 1)
        assert server.responses[-1].outcome == "client_disconnected"
        # Closed, not pooled: no socket to the server is left even before the model closes.
        await server.wait_for(lambda: server.connections == 0, 10.0)
        await assert_no_leaks(model, server, baseline)
    finally:
        await model.aclose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wire=st.sampled_from(["openai", "anthropic", "ollama"]),
    mode=st.sampled_from(["dispose", "break", "aclose", "cancel_invoke", "cancel_invoke_stream"]),
    n=st.integers(0, 30),
    first_delay=st.sampled_from([0.0, 0.05]),
)
async def test_stopping_at_any_point_closes_the_connection(
    fake_server: FakeProviderServer, wire: Wire, mode: Mode, n: int, first_delay: float
) -> None:
    if mode in ("break", "aclose") and n == 0:
        n = 1  # an async for loop can only be left after its first item
    await stop_after(fake_server, wire, mode, n, first_delay)


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
@pytest.mark.parametrize("how", ["dispose", "cancel_invoke"])
async def test_stopping_before_the_request_or_during_a_retry_wait(
    fake_server: FakeProviderServer, wire: Wire, how: str
) -> None:
    """The two points no byte of the answer marks: right at subscription, before any request
    is sent, and while waiting out a retry-after. Stopping there leaves no task behind (so no
    request can ever follow) and no connection open."""
    # Right at subscription: nothing reaches the server, nothing is left running.
    baseline = set(asyncio.all_tasks())
    first = len(fake_server.requests)
    model = make_model(fake_server, wire, max_retries=3)
    try:
        fake_server.default = Script(chunks=CHUNKS, delay=0.01)
        if how == "dispose":
            trace, sub = subscribe(model.stream("hi"))
            sub.dispose()
            assert not trace.ended
        else:
            task = asyncio.ensure_future(model.invoke("hi"))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await assert_no_leaks(model, fake_server, baseline)
        assert fake_server.completed == 0
        assert len(fake_server.requests) - first in (0, fake_server.disconnects)
    finally:
        await model.aclose()

    # While waiting out a retry-after: no second request, ever (the wait's task is gone).
    baseline = set(asyncio.all_tasks())
    first = len(fake_server.requests)
    fake_server.queue(
        ErrorReply(503, {"error": {"message": "busy"}}, headers={"retry-after": "60"})
    )
    model = make_model(fake_server, wire, max_retries=3)
    try:
        if how == "dispose":
            trace, sub = subscribe(model.stream("hi"))
            await fake_server.wait_for(lambda: len(fake_server.requests) > first, 10.0)
            await asyncio.sleep(0.1)  # into the wait
            sub.dispose()
            assert not trace.ended
        else:
            task = asyncio.ensure_future(model.invoke("hi"))
            await fake_server.wait_for(lambda: len(fake_server.requests) > first, 10.0)
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await assert_no_leaks(model, fake_server, baseline)
        assert len(fake_server.requests) == first + 1
    finally:
        await model.aclose()
