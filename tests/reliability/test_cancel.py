"""Stopping a stream at any point (disposal, ``break``, ``aclose``, task cancellation) closes its
HTTP connection: the server sees the disconnect, no connection stays checked out, no task is
left running."""

from __future__ import annotations

import asyncio
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, subscribe

from lionrx.events import TextDelta
from lionrx.testing import FakeProviderServer, Script

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
            await server.wait_for(lambda: server.open_streams == 1)
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
            await server.wait_for(lambda: server.open_streams == 1)
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
