"""Record → replay as properties: over real HTTP streams from the fake provider server (any
text, chunking, provider and recording format), and for timing (any recorded timestamps, any
speed, in virtual time)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reactivex.testing import TestScheduler

from lionrx.events import Completed, Event, Failed, dump_event
from lionrx.providers._replay import load_recordings, replay
from lionrx.services import iModel
from lionrx.sinks import Sink, SinkHandle, record, tee
from lionrx.testing import FakeProviderServer, Fault, Script, event_sequences, texts


class Collect(Sink):
    def __init__(self) -> None:
        self.events: list[Event] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_outcome(self, outcome: Completed | Failed) -> None:
        self.events.append(outcome)


def _said(events: list[Any]) -> list[str]:
    # What the model said; outcomes also carry the consumer's own clock readings.
    return [dump_event(e) for e in events if not isinstance(e, Completed | Failed)]


async def _observe(observable: Any) -> list[Event]:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    out: list[Event] = []
    observable.subscribe(
        on_next=out.append,
        on_error=done.set_exception,
        on_completed=lambda: done.set_result(None),
    )
    await asyncio.wait_for(done, 10)
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=texts(min_size=1, max_size=120),
    chunk_size=st.integers(1, 12),
    provider=st.sampled_from(["openai", "anthropic"]),
    fmt=st.sampled_from(["jsonl", "sse"]),
    drop=st.one_of(st.none(), st.integers(200, 1200)),
)
async def test_a_recorded_real_stream_replays_as_the_same_events(
    server: FakeProviderServer,
    tmp_path_factory: pytest.TempPathFactory,
    text: str,
    chunk_size: int,
    provider: str,
    fmt: str,
    drop: int | None,
) -> None:
    path = tmp_path_factory.mktemp("rec") / f"answer.{fmt}"
    fault = Fault.drop(at_byte=drop) if drop is not None else None
    server.queue(Script(text=text, chunk_size=chunk_size, usage=(3, 9), fault=fault))
    base = server.openai_base_url if provider == "openai" else server.anthropic_base_url
    live = Collect()
    async with iModel(
        provider=provider, model="m", name="live", base_url=base, api_key="k" * 8, max_retries=0
    ) as model:
        recorded, watched = tee(
            model.stream("hi"),
            lambda obs: record(obs, path, format=fmt),  # type: ignore[arg-type]
            lambda obs: SinkHandle(obs, live),
        )
        original = await recorded.wait()
        await watched.wait()
    [stream] = load_recordings(path)
    # The file holds exactly what the consumer saw, outcome included.
    assert [dump_event(e) for _, e in stream.events] == [
        dump_event(e) for e in [*live.events[:-1], original]
    ]
    # The Observable replay gives those events back, the recorded outcome last.
    again = await _observe(replay(path, speed=None))
    assert [dump_event(e) for e in again] == [dump_event(e) for _, e in stream.events]
    # So does the replay provider through iModel (events relabelled with its name).
    async with iModel(provider="replay", path=path, speed=None, name="live") as replayed:
        through_imodel = Collect()
        outcome = await SinkHandle(replayed.stream("hi"), through_imodel).wait()
    assert _said(through_imodel.events) == _said(live.events)
    assert type(outcome) is type(original)
    if isinstance(original, Completed):
        assert isinstance(outcome, Completed)
        assert outcome.response.text == original.response.text == text
        assert outcome.response.usage == original.response.usage
    else:
        assert isinstance(outcome, Failed)
        assert type(outcome.error) is type(original.error)
        assert str(outcome.error) == str(original.error)
        assert outcome.partial.text == original.partial.text


@settings(max_examples=60, deadline=None)
@given(
    events=event_sequences(max_events=12),
    gaps=st.lists(st.integers(0, 2000), min_size=1, max_size=13),
    speed=st.sampled_from([0.5, 1.0, 4.0, 10.0]),
)
def test_replay_emits_each_event_at_its_recorded_time_over_speed(
    events: list[Event], gaps: list[int], speed: float
) -> None:
    # Timestamps in milliseconds, non-decreasing, as the file sink writes them.
    stamps: list[float] = []
    now = 0
    for k in range(len(events)):
        now += gaps[k % len(gaps)]
        stamps.append(now / 1000)
    rows = [json.dumps({"t": 0.0, "recording": {"version": 1}})]
    rows += [f'{{"t":{t},"event":{dump_event(e)}}}' for t, e in zip(stamps, events, strict=True)]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "timed.jsonl"
        path.write_text("\n".join(rows) + "\n", "utf-8")
        scheduler = TestScheduler()
        seen: list[tuple[float, str]] = []
        replay(path, speed=speed, scheduler=scheduler).subscribe(
            on_next=lambda e: seen.append((scheduler.clock, dump_event(e)))
        )
        scheduler.start()
    assert [e for _, e in seen] == [dump_event(e) for e in events]
    for (at, _), t in zip(seen, stamps, strict=True):
        assert at == pytest.approx(t / speed, abs=1e-6)
