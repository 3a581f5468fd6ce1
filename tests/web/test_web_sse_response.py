"""sse_response / StreamHub over real sockets: ids, final outcome, disconnect disposal, resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import reactivex
from aiohttp import web
from reactivex import Observable
from reactivex.disposable import Disposable
from reactivex.subject import Subject
from web_helpers import read_sse, serve

from lionrx.errors import ProviderStreamError
from lionrx.events import Completed, Failed, Response, TextDelta, Usage
from lionrx.web import StreamHub, sse_response


class Source:
    """A cold source the test drives by hand, recording subscriptions and disposals."""

    def __init__(self) -> None:
        self.subject: Subject[Any] = Subject()
        self.subscribed = 0
        self.disposed = asyncio.Event()

    def observable(self) -> Observable[Any]:
        def subscribe(observer: Any, scheduler: Any = None) -> Disposable:
            self.subscribed += 1
            inner = self.subject.subscribe(observer)

            def dispose() -> None:
                inner.dispose()
                self.disposed.set()

            return Disposable(dispose)

        return reactivex.create(subscribe)


def app_for(hub: StreamHub, make: Any) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse_response(request, make(), hub=hub)

    app = web.Application()
    app.router.add_get("/stream", handler)
    return app


async def test_event_stream_with_ids_and_final_outcome() -> None:
    response = Response(texts={0: "Hello world"}, chunks=2)
    events = [
        TextDelta(text="Hello", source="m"),
        TextDelta(text=" world", source="m"),
        Usage(input_tokens=3, output_tokens=2),
        Completed(response=response),
    ]
    hub = StreamHub()
    async with serve(app_for(hub, lambda: reactivex.from_iterable(events))) as url:
        async with aiohttp.ClientSession() as session:
            result = await read_sse(session, url + "/stream")
    assert result.retry == 1000
    assert [e.event for e in result.events] == ["text", "text", "usage", "completed"]
    ids = [e.id for e in result.events]
    key = ids[0].rpartition(":")[0]
    assert ids == [f"{key}:{i}" for i in range(1, 5)]
    assert result.text() == "Hello world"
    assert result.payloads()[0] == {"source": "m", "choice": 0, "kind": "text", "text": "Hello"}
    assert result.payloads()[-1]["response"]["texts"] == {"0": "Hello world"}


async def test_text_stream_error_becomes_final_failed_event_with_partial() -> None:
    error = ProviderStreamError("overloaded", error_type="overloaded_error")
    source = reactivex.concat(reactivex.from_iterable(["a", "b"]), reactivex.throw(error))
    hub = StreamHub()
    async with serve(app_for(hub, lambda: source)) as url:
        async with aiohttp.ClientSession() as session:
            result = await read_sse(session, url + "/stream")
    assert [e.event for e in result.events] == ["text", "text", "failed"]
    final = result.payloads()[-1]
    assert final["error"]["type"] == "ProviderStreamError"
    assert final["partial"]["texts"] == {"0": "ab"}


async def test_failed_event_passes_through_as_the_outcome() -> None:
    failed = Failed(error=ProviderStreamError("boom"), partial=Response(texts={0: "x"}))
    source = reactivex.from_iterable([TextDelta(text="x"), failed])
    hub = StreamHub()
    async with serve(app_for(hub, lambda: source)) as url:
        async with aiohttp.ClientSession() as session:
            result = await read_sse(session, url + "/stream")
    assert [e.event for e in result.events] == ["text", "failed"]
    assert result.payloads()[-1]["partial"]["texts"] == {"0": "x"}


async def test_client_disconnect_disposes_the_pipeline() -> None:
    source = Source()
    outcomes: list[Any] = []
    hub = StreamHub(grace=0.0)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse_response(request, source.observable(), hub=hub, on_outcome=outcomes.append)

    app = web.Application()
    app.router.add_get("/stream", handler)
    async with serve(app) as url:
        async with aiohttp.ClientSession() as session:
            reader = asyncio.create_task(read_sse(session, url + "/stream", stop_after=2))
            await asyncio.sleep(0.05)
            source.subject.on_next("one ")
            source.subject.on_next("two ")
            result = await reader
            assert result.text() == "one two "
            await asyncio.wait_for(source.disposed.wait(), 3)
            await asyncio.sleep(0.05)
    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert isinstance(outcome, Failed)
    assert type(outcome.error).__name__ == "StreamCancelled"
    assert outcome.partial.text == "one two "


async def test_resume_with_last_event_id_gets_exactly_the_rest() -> None:
    source = Source()
    hub = StreamHub(grace=5.0)
    words = [f"w{i} " for i in range(40)]
    async with serve(app_for(hub, source.observable)) as url:
        async with aiohttp.ClientSession() as session:
            first = asyncio.create_task(read_sse(session, url + "/stream", stop_after=10))
            await asyncio.sleep(0.05)
            for w in words[:15]:
                source.subject.on_next(w)
                await asyncio.sleep(0)
            part1 = await first
            assert source.subscribed == 1 and not source.disposed.is_set()
            second = asyncio.create_task(
                read_sse(session, url + "/stream", last_event_id=part1.last_event_id)
            )
            for w in words[15:]:
                source.subject.on_next(w)
                await asyncio.sleep(0)
            source.subject.on_completed()
            part2 = await second
    assert source.subscribed == 1, "a resume must not start a second upstream request"
    assert part1.text() + part2.text() == "".join(words)
    assert part2.final.event == "completed"
    assert json.loads(part2.final.data)["response"]["texts"] == {"0": "".join(words)}


async def test_resume_of_an_unknown_stream_says_so() -> None:
    hub = StreamHub()
    async with serve(app_for(hub, lambda: reactivex.from_iterable(["x"]))) as url:
        async with aiohttp.ClientSession() as session:
            result = await read_sse(session, url + "/stream", last_event_id="gone:3")
    assert [e.event for e in result.events] == ["failed"]
    assert result.payloads()[0]["error"]["type"] == "ResumeUnavailable"


async def test_cancel_stops_upstream_and_readers_get_the_partial() -> None:
    source = Source()
    hub = StreamHub()
    key = await hub.start(source.observable())
    source.subject.on_next("partial ")
    assert await hub.cancel(key, "stop button")
    assert source.disposed.is_set()
    assert not hub.in_flight(key)
    events = [e async for batch in hub.store.read(key) for e in batch]
    assert [e.event for e in events] == ["text", "failed"]
    final = json.loads(events[-1].data)
    assert final["error"] == {"type": "StreamCancelled", "message": "stop button"}
    assert final["partial"]["texts"] == {"0": "partial "}
    assert not await hub.cancel(key)
    await hub.aclose()


async def test_nobody_reading_disposes_after_grace() -> None:
    source = Source()
    hub = StreamHub(grace=0.05)
    key = await hub.start(source.observable())
    await asyncio.wait_for(source.disposed.wait(), 2)
    await hub.wait(key)
    assert not hub.in_flight(key)


async def test_blocks_with_the_default_hub_mark_committed_markdown() -> None:
    text = "# Title\n\nFirst paragraph.\n\n```py\ncode()\n```\nTail 😀"

    async def handler(request: web.Request) -> web.StreamResponse:
        return await sse_response(request, reactivex.from_iterable(list(text)), blocks=True)

    app = web.Application()
    app.router.add_get("/stream", handler)
    async with serve(app) as url:
        async with aiohttp.ClientSession() as session:
            result = await read_sse(session, url + "/stream")
    assert result.text() == text
    ends = [p["end"] for p in result.payloads() if p["kind"] == "block"]
    assert ends == [9, 27, 44, 51]  # heading, paragraph, code, tail (😀 is 2 UTF-16 units)
    assert result.final.event == "completed"
