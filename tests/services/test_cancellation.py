"""Stopping a stream closes its HTTP connection at once: break, aclose, dispose and task cancel,
at several points, each leave the server seeing a disconnect and nothing behind in the client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from reactivex import operators as ops

from lionrx import to_async_iterable
from lionrx.services import EventStatus, iModel
from lionrx.testing import FakeProviderServer, Script

TEXT = " ".join(f"word{i}" for i in range(200))
POINTS = [1, 5]  # text chunks received before stopping


def _slow() -> Script:
    return Script(text=TEXT, delay=0.01, first_delay=0.05)


@pytest.fixture
async def model(fake_server: FakeProviderServer) -> AsyncIterator[iModel]:
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as m:
        yield m


def _lionrx_tasks() -> list[asyncio.Task[object]]:
    """Tasks running lionrx client code (the server's own handler tasks are not counted)."""
    current = asyncio.current_task()
    out = []
    for task in asyncio.all_tasks():
        if task is current:
            continue
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if "/lionrx/" in filename and "/lionrx/testing/" not in filename:
            out.append(task)
    return out


async def _assert_closed(server: FakeProviderServer, model: iModel) -> None:
    await server.wait_for_disconnect(timeout=5)
    assert server.completed == 0
    for _ in range(5):
        await asyncio.sleep(0)
    assert _lionrx_tasks() == []
    connector = model.backend.session.connector  # type: ignore[attr-defined]
    assert connector is not None
    assert len(connector._acquired) == 0  # no connection left checked out
    assert sum(len(v) for v in connector._conns.values()) == 0  # and none pooled half-read


@pytest.mark.parametrize("point", POINTS)
async def test_break(fake_server: FakeProviderServer, model: iModel, point: int) -> None:
    fake_server.queue(_slow())
    received = []
    async for chunk in model.invoke_stream(messages="hi"):
        received.append(chunk)
        if len(received) == point:
            break
    await _assert_closed(fake_server, model)


@pytest.mark.parametrize("point", POINTS)
async def test_aclose(fake_server: FakeProviderServer, model: iModel, point: int) -> None:
    fake_server.queue(_slow())
    stream = model.invoke_stream(messages="hi")
    for _ in range(point):
        await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    await _assert_closed(fake_server, model)


@pytest.mark.parametrize("point", [0, *POINTS])
async def test_dispose(fake_server: FakeProviderServer, model: iModel, point: int) -> None:
    fake_server.queue(_slow())
    texts: list[str] = []
    reached = asyncio.Event()
    kinds: list[str] = []

    def on_next(event: object) -> None:
        kinds.append(event.kind)  # type: ignore[attr-defined]
        if event.kind == "text":  # type: ignore[attr-defined]
            texts.append(event.text)  # type: ignore[attr-defined]
            if len(texts) == point:
                reached.set()

    subscription = model.stream(messages="hi").subscribe(on_next)
    if point == 0:
        await fake_server.wait_for(lambda: len(fake_server.requests) == 1)
    else:
        await reached.wait()
    subscription.dispose()
    await _assert_closed(fake_server, model)
    assert len(texts) == point
    assert "completed" not in kinds and "failed" not in kinds


async def test_dispose_inside_on_next(fake_server: FakeProviderServer, model: iModel) -> None:
    """A synchronous consumer disposing from its own callback (what ``take`` does)."""
    fake_server.queue(_slow())
    seen: list[str] = []
    holder: list[object] = []

    def on_next(event: object) -> None:
        if event.kind == "text":  # type: ignore[attr-defined]
            seen.append(event.text)  # type: ignore[attr-defined]
            if len(seen) == 3:
                holder[0].dispose()  # type: ignore[attr-defined]

    holder.append(model.stream(messages="hi").subscribe(on_next))
    await _assert_closed(fake_server, model)
    assert len(seen) == 3


@pytest.mark.parametrize("point", [0, *POINTS])
async def test_task_cancel(fake_server: FakeProviderServer, model: iModel, point: int) -> None:
    fake_server.queue(_slow())
    received: list[str] = []
    reached = asyncio.Event()

    async def consume() -> None:
        async for chunk in model.invoke_stream(messages="hi"):
            received.append(chunk)
            if len(received) == point:
                reached.set()

    task = asyncio.create_task(consume())
    if point == 0:
        await fake_server.wait_for(lambda: len(fake_server.requests) == 1)
    else:
        await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _assert_closed(fake_server, model)


async def test_cancelled_invoke(fake_server: FakeProviderServer, model: iModel) -> None:
    fake_server.queue(_slow())
    task = asyncio.create_task(model.invoke(messages="hi"))
    await fake_server.wait_for(lambda: fake_server.open_streams == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _assert_closed(fake_server, model)


async def test_to_async_iterable_break_disposes(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    fake_server.queue(_slow())
    got = []
    texts = model.stream(messages="hi").pipe(
        ops.filter(lambda e: e.kind == "text"), ops.map(lambda e: e.text)
    )
    async for chunk in to_async_iterable(texts):
        got.append(chunk)
        if len(got) == 4:
            break
    await _assert_closed(fake_server, model)


async def test_status_values() -> None:
    assert [s.value for s in EventStatus] == [
        "pending",
        "processing",
        "completed",
        "failed",
        "cancelled",
    ]


async def test_cancel_during_a_retry_wait(fake_server: FakeProviderServer) -> None:
    from lionrx.testing import ErrorReply

    fake_server.queue(
        ErrorReply(429, {"error": {"message": "later"}}, headers={"retry-after": "5"})
    )
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        task = asyncio.create_task(model.invoke(messages="hi"))
        await fake_server.wait_for(lambda: len(fake_server.requests) == 1)
        await asyncio.sleep(0.05)  # now in the 5 s wait before the retry
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(5):
            await asyncio.sleep(0)
        assert _lionrx_tasks() == []
    assert len(fake_server.requests) == 1
