"""End to end: a real stream from the fake provider server, recorded and replayed by iModel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionrx.errors import OverloadedError
from lionrx.events import Completed, Event, Failed, TextDelta, dump_event
from lionrx.services import iModel
from lionrx.sinks import SinkHandle, file, load_recordings, record, tee
from lionrx.sinks._handle import Sink
from lionrx.testing import FakeProviderServer, Fault, Recording, Script

CONFORMANCE = Path(__file__).resolve().parents[1] / "fixtures" / "streams"
TEXT = "Streams are rivers of data. They flow one chunk at a time, and end once."


class Collect(Sink):
    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_outcome(self, outcome: Completed | Failed) -> None:
        self.events.append(outcome)


def _comparable(events: list[Event]) -> list[str]:
    # Outcomes carry timings measured by the consumer; compare what the model said.
    return [dump_event(e) for e in events if not isinstance(e, Completed | Failed)]


async def test_one_request_feeds_record_and_text_file(
    server: FakeProviderServer, model: iModel, tmp_path: Path
) -> None:
    server.queue(Script(text=TEXT, chunk_size=7, delay=0.01, usage=(5, 17)))
    collect = Collect()
    rec, txt, live = tee(
        model.stream([{"role": "user", "content": "hi"}]),
        lambda obs: record(obs, tmp_path / "answer.jsonl"),
        file(tmp_path / "answer.txt"),
        lambda obs: SinkHandle(obs, collect),
    )
    response = await rec
    assert response.text == TEXT and (await txt).text == TEXT
    await live
    assert len(server.requests) == 1
    assert (tmp_path / "answer.txt").read_text() == TEXT
    recording = (tmp_path / "answer.jsonl").read_text()
    assert "sk-test-canary" not in recording and "Bearer" not in recording
    [stream] = load_recordings(tmp_path / "answer.jsonl")
    assert _comparable([e for _, e in stream.events]) == _comparable(collect.events)

    # Replayed by iModel: the same events, labelled by the replaying model.
    async with iModel(provider="replay", path=tmp_path / "answer.jsonl", name="gpt") as again:
        replayed = Collect()
        handle = SinkHandle(again.stream("hi"), replayed)
        replayed_response = await handle
    assert _comparable(replayed.events) == _comparable(collect.events)
    assert replayed_response.text == TEXT
    assert replayed_response.usage is not None and replayed_response.usage.output_tokens == 17


async def test_replay_timing_original_and_scaled(
    server: FakeProviderServer, model: iModel, tmp_path: Path
) -> None:
    server.queue(Script(text=TEXT, chunk_size=12, delay=0.05))
    path = tmp_path / "slow.sse"
    original = await record(model.stream("hi"), path, format="sse")
    assert original.total_time is not None and original.total_time >= 0.25
    timings = {}
    for speed in (1.0, 10.0, None):
        async with iModel(provider="replay", path=path, speed=speed) as again:
            start = time.perf_counter()
            chunks = [c async for c in again.invoke_stream("hi")]
            timings[speed] = time.perf_counter() - start
        assert "".join(chunks) == TEXT
    assert timings[1.0] >= 0.8 * original.total_time
    assert timings[10.0] < timings[1.0] / 3
    assert timings[None] < timings[1.0] / 3


async def test_recorded_failure_replays_as_failure(
    server: FakeProviderServer, tmp_path: Path
) -> None:
    path = tmp_path / "failed.jsonl"
    async with iModel(
        provider="anthropic", model="claude", base_url=server.anthropic_base_url, api_key="x" * 8
    ) as claude:
        server.queue(Recording(path=CONFORMANCE / "anthropic_error.sse", chunk_size=9))
        handle = record(claude.stream("hi"), path)
        with pytest.raises(OverloadedError) as original:
            await handle
    async with iModel(provider="replay", path=path, speed=None) as again:
        calling = await again.invoke("hi")
        with pytest.raises(OverloadedError) as replayed:
            async for _ in again.invoke_stream("hi"):
                pass
    assert str(replayed.value) == str(original.value)
    assert replayed.value.partial_text == original.value.partial_text
    assert calling.execution.error is not None


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at_byte=st.integers(0, 1500), fmt=st.sampled_from(["text", "jsonl"]))
async def test_a_dropped_connection_leaves_its_exact_prefix_on_disk(
    server: FakeProviderServer, tmp_path_factory: pytest.TempPathFactory, at_byte: int, fmt: str
) -> None:
    path = tmp_path_factory.mktemp("drop") / f"answer.{fmt}"
    server.queue(Script(text=TEXT * 3, chunk_size=5, fault=Fault.drop(at_byte)))
    async with iModel(
        provider="openai", model="m", base_url=server.openai_base_url, max_retries=0
    ) as model:
        handle = file(model.stream("hi"), path, format=fmt)  # type: ignore[call-overload]
        outcome = await handle.wait()
    assert isinstance(outcome, Failed)
    received = outcome.partial.text
    assert (TEXT * 3).startswith(received)
    if fmt == "text":
        assert path.read_text("utf-8") == received
    else:
        [stream] = load_recordings(path)
        assert isinstance(stream.outcome, Failed)
        assert stream.outcome.partial.text == received
        texts = "".join(e.text for _, e in stream.events if isinstance(e, TextDelta))
        assert texts == received
