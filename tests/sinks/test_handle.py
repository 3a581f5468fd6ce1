"""SinkHandle: both stream shapes, outcomes, disposal, sink failures."""

from __future__ import annotations

import asyncio

import pytest
import reactivex
from reactivex.subject import Subject

from lionrx.errors import LionrxError, ProviderStreamError, StreamCancelled
from lionrx.events import Completed, Event, Failed, Finish, Response, TextDelta
from lionrx.sinks import Outcome, Sink, SinkHandle


class Recorder(Sink):
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.outcomes: list[Outcome] = []
        self.closed = 0

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def on_close(self) -> None:
        self.closed += 1


def _completed(text: str, source: str | None = None) -> Completed:
    return Completed(response=Response(texts={0: text}, source=source), source=source)


async def test_event_stream_completed() -> None:
    events = [TextDelta(text="a"), TextDelta(text="b"), Finish(reason="stop"), _completed("ab")]
    sink = Recorder()
    handle = SinkHandle(reactivex.from_iterable(events), sink)
    response = await handle
    assert response.text == "ab"
    assert [e.kind for e in sink.events] == ["text", "text", "finish"]
    assert len(sink.outcomes) == 1 and sink.closed == 1
    assert handle.done and handle.error is None
    assert isinstance(await handle.wait(), Completed)


async def test_event_stream_failed_raises_with_partial() -> None:
    error = ProviderStreamError("overloaded", partial=Response(texts={0: "pa"}))
    failed = Failed(error=error, partial=Response(texts={0: "pa"}))
    sink = Recorder()
    handle = SinkHandle(reactivex.from_iterable([TextDelta(text="pa"), failed]), sink)
    with pytest.raises(ProviderStreamError) as info:
        await handle
    assert info.value.partial_text == "pa"
    outcome = await handle.wait()
    assert isinstance(outcome, Failed) and handle.response is not None
    assert handle.response.text == "pa"


async def test_text_stream_completion_builds_response() -> None:
    sink = Recorder()
    handle = SinkHandle(reactivex.from_iterable(["he", "", "llo"]), sink)
    response = await handle
    assert response.text == "hello" and response.chunks == 2
    assert [e.text for e in sink.events if isinstance(e, TextDelta)] == ["he", "llo"]


async def test_text_stream_error_keeps_partial() -> None:
    subject: Subject[str] = Subject()
    sink = Recorder()
    handle = SinkHandle(subject, sink)
    subject.on_next("par")
    subject.on_error(LionrxError("boom"))
    with pytest.raises(LionrxError):
        await handle
    assert handle.response is not None and handle.response.text == "par"
    assert isinstance(sink.outcomes[0], Failed)


async def test_dispose_gives_cancelled_outcome_and_unsubscribes() -> None:
    subject: Subject[str] = Subject()
    sink = Recorder()
    handle = SinkHandle(subject, sink)
    subject.on_next("kept")
    handle.dispose()
    assert not subject.observers
    outcome = await handle.wait()
    assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamCancelled)
    assert outcome.partial.text == "kept"
    handle.dispose()  # idempotent
    assert sink.closed == 1


async def test_cancelling_the_waiter_disposes() -> None:
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, Recorder())
    task = asyncio.create_task(handle.wait())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert handle.done and not subject.observers


async def test_sink_failure_stops_the_stream() -> None:
    class Broken(Recorder):
        def on_event(self, event: Event) -> None:
            raise OSError("disk full")

    subject: Subject[str] = Subject()
    sink = Broken()
    handle = SinkHandle(subject, sink)
    subject.on_next("x")
    assert not subject.observers
    with pytest.raises(OSError, match="disk full"):
        await handle
    assert sink.closed == 1 and isinstance(sink.outcomes[0], Failed)


async def test_merged_stream_has_an_outcome_per_source() -> None:
    events = [
        TextDelta(text="a", source="gpt"),
        TextDelta(text="b", source="claude"),
        _completed("a", "gpt"),
        _completed("b", "claude"),
    ]
    sink = Recorder()
    handle = SinkHandle(reactivex.from_iterable(events), sink)
    response = await handle
    assert response.source == "claude"
    assert set(handle.outcomes) == {"gpt", "claude"}


async def test_event_stream_cut_short_completes_each_source() -> None:
    events = [TextDelta(text="a", source="x"), TextDelta(text="b", source="x")]
    handle = SinkHandle(reactivex.from_iterable(events), Recorder())
    response = await handle
    assert response.text == "ab" and response.source == "x"


async def test_done_callbacks() -> None:
    seen: list[SinkHandle] = []
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, Recorder())
    handle.add_done_callback(seen.append)
    subject.on_completed()
    handle.add_done_callback(seen.append)
    assert seen == [handle, handle]


async def test_async_outcome_and_close_run_in_order_before_done() -> None:
    order: list[str] = []

    class Slow(Sink):
        async def _note(self, what: str) -> None:
            await asyncio.sleep(0.01)
            order.append(what)

        def on_outcome(self, outcome: Outcome) -> asyncio.Future[None]:
            return asyncio.ensure_future(self._note(f"outcome {outcome.source}"))

        def on_close(self) -> asyncio.Future[None]:
            return asyncio.ensure_future(self._note("close"))

    events = [_completed("a", "gpt"), _completed("b", "claude")]
    handle = SinkHandle(reactivex.from_iterable(events), Slow())
    assert not handle.done
    await handle
    assert handle.done
    assert order == ["outcome gpt", "outcome claude", "close"]


async def test_async_close_failure_is_the_handles_error() -> None:
    class FailingClose(Sink):
        async def _boom(self) -> None:
            raise OSError("fsync failed")

        def on_close(self) -> asyncio.Future[None]:
            return asyncio.ensure_future(self._boom())

    handle = SinkHandle(reactivex.from_iterable(["a"]), FailingClose())
    with pytest.raises(OSError, match="fsync failed"):
        await handle
    assert isinstance(await handle.wait(), Completed)
