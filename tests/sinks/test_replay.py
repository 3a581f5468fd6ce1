"""Record → replay: the file sink's recordings played back as an Observable and as a provider."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import reactivex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reactivex.testing import TestScheduler

from lionrx.errors import ConfigurationError, ProtocolError, ProviderStreamError
from lionrx.events import (
    Completed,
    Event,
    Failed,
    Finish,
    Response,
    TextDelta,
    dump_event,
)
from lionrx.providers import ProviderConfig, get_provider
from lionrx.providers._replay import ReplayProvider, load_recordings, replay
from lionrx.sinks import record
from lionrx.testing._strategies import event_sequences


def _dumped(events: list[Event]) -> list[str]:
    return [dump_event(e) for e in events]


def _write_jsonl(path: Path, rows: list[tuple[float, Event]], header: bool = True) -> None:
    lines = []
    if header:
        lines.append(json.dumps({"t": 0.0, "recording": {"version": 1}}))
    lines += [f'{{"t":{t},"event":{dump_event(e)}}}' for t, e in rows]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def _provider(path: Path, **options: object) -> ReplayProvider:
    cls = get_provider("replay")
    provider = cls(ProviderConfig(provider="replay", options={"path": str(path), **options}))
    assert isinstance(provider, ReplayProvider)
    return provider


async def _provider_events(provider: ReplayProvider) -> list[Event]:
    return [event async for event in provider.events([], {})]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=event_sequences(), fmt=st.sampled_from(["jsonl", "sse"]))
async def test_record_then_replay_gives_the_same_events(
    tmp_path_factory: pytest.TempPathFactory, events: list[Event], fmt: str
) -> None:
    path = tmp_path_factory.mktemp("rec") / f"r.{fmt}"
    handle = record(reactivex.from_iterable(events), path, format=fmt)  # type: ignore[arg-type]
    await handle.wait()
    [stream] = load_recordings(path)
    assert _dumped([e for _, e in stream.events]) == _dumped(events)
    # The Observable replay reproduces the stream exactly, outcome included.
    scheduler = TestScheduler()
    replayed = []
    replay(path, speed=None, scheduler=scheduler).subscribe(on_next=replayed.append)
    scheduler.start()
    assert _dumped(replayed) == _dumped(events)
    # The provider yields the same non-terminal events, then returns or raises the failure.
    provider = _provider(path, speed=None)
    got: list[Event] = []
    outcome = events[-1]
    if isinstance(outcome, Failed):
        with pytest.raises(type(outcome.error)) as info:
            async for event in provider.events([], {}):
                got.append(event)
        assert str(info.value) == str(outcome.error)
    else:
        got = await _provider_events(provider)
    expected = [e.model_copy(update={"source": None}) for e in events[:-1]]
    assert _dumped(got) == _dumped(expected)


def test_replay_keeps_the_recorded_timing_in_virtual_time(tmp_path: Path) -> None:
    path = tmp_path / "timed.jsonl"
    rows: list[tuple[float, Event]] = [
        (0.5, TextDelta(text="a")),
        (1.0, TextDelta(text="b")),
        (1.0, TextDelta(text="c")),
        (3.0, Finish(reason="stop")),
        (3.0, Completed(response=Response(texts={0: "abc"}))),
    ]
    _write_jsonl(path, rows)
    for speed, scale in ((1.0, 1.0), (10.0, 0.1)):
        scheduler = TestScheduler()
        seen = _timed_replay(path, speed, scheduler, stop_at=0.4 * scale)
        assert seen == []
        scheduler.start()
        assert seen == [
            pytest.approx((0.5 * scale, "text")),
            pytest.approx((1.0 * scale, "text")),
            pytest.approx((1.0 * scale, "text")),
            pytest.approx((3.0 * scale, "finish")),
            pytest.approx((3.0 * scale, "completed")),
            pytest.approx((3.0 * scale, "end")),
        ]


def _timed_replay(
    path: Path, speed: float, scheduler: TestScheduler, stop_at: float
) -> list[tuple[float, str]]:
    seen: list[tuple[float, str]] = []
    replay(path, speed=speed, scheduler=scheduler).subscribe(
        on_next=lambda e: seen.append((scheduler.clock, e.kind)),
        on_completed=lambda: seen.append((scheduler.clock, "end")),
    )
    scheduler.advance_to(stop_at)
    return seen


def test_replay_disposal_stops_emission(tmp_path: Path) -> None:
    path = tmp_path / "timed.jsonl"
    _write_jsonl(path, [(1.0, TextDelta(text="a")), (2.0, TextDelta(text="b"))])
    scheduler = TestScheduler()
    seen: list[Event] = []
    subscription = replay(path, scheduler=scheduler).subscribe(on_next=seen.append)
    scheduler.advance_to(1.5)
    subscription.dispose()
    scheduler.start()
    assert [e.kind for e in seen] == ["text"]


async def test_provider_paces_by_speed(tmp_path: Path) -> None:
    path = tmp_path / "paced.jsonl"
    rows: list[tuple[float, Event]] = [(0.1 * i, TextDelta(text=f"{i} ")) for i in range(1, 6)] + [
        (0.5, Completed(response=Response(texts={0: "x"})))
    ]
    _write_jsonl(path, rows)
    timings = {}
    for speed in (2.0, None):
        start = time.perf_counter()
        await _provider_events(_provider(path, speed=speed))
        timings[speed] = time.perf_counter() - start
    assert 0.24 <= timings[2.0] < 2.0  # 0.5 s of recording at twice the speed
    assert timings[None] < timings[2.0] / 3


async def test_truncated_recording_fails_like_a_cut_body(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    _write_jsonl(path, [(0.0, TextDelta(text="Hel")), (0.1, TextDelta(text="lo"))])
    with path.open("a") as fh:
        fh.write('{"t":0.2,"event":{"kind":"te')  # the recorder died mid-line
    [stream] = load_recordings(path)
    assert not stream.complete and stream.outcome is None
    provider = _provider(path, speed=None)
    got: list[Event] = []
    with pytest.raises(ProtocolError) as info:
        async for event in provider.events([], {}):
            got.append(event)
    assert "".join(e.text for e in got if isinstance(e, TextDelta)) == "Hello"
    assert info.value.partial is not None and info.value.partial.text == "Hello"
    outcome = _replayed_in_virtual_time(path)
    assert isinstance(outcome[-1], Failed) and isinstance(outcome[-1].error, ProtocolError)


def _replayed_in_virtual_time(path: Path) -> list[Event]:
    scheduler = TestScheduler()
    out: list[Event] = []
    replay(path, scheduler=scheduler).subscribe(on_next=out.append)
    scheduler.start()
    return out


async def test_a_file_of_several_recordings_is_a_cassette(tmp_path: Path) -> None:
    path = tmp_path / "cassette.jsonl"
    for answer in ("one", "two"):
        events = [TextDelta(text=answer), Completed(response=Response(texts={0: answer}))]
        await record(reactivex.from_iterable(events), path)
    assert len(load_recordings(path)) == 2
    provider = _provider(path, speed=None)
    texts = []
    for _ in range(3):
        texts.append(
            "".join(e.text for e in await _provider_events(provider) if isinstance(e, TextDelta))
        )
    assert texts == ["one", "two", "one"]
    fixed = _provider(path, speed=None, index=0)
    assert [e.text for e in await _provider_events(fixed) if isinstance(e, TextDelta)] == ["one"]


async def test_recorded_failure_is_raised_again(tmp_path: Path) -> None:
    path = tmp_path / "failed.jsonl"
    error = ProviderStreamError("Overloaded", error_type="overloaded_error", status=529)
    events = [TextDelta(text="par"), Failed(error=error, partial=Response(texts={0: "par"}))]
    await record(reactivex.from_iterable(events), path).wait()
    with pytest.raises(ProviderStreamError) as info:
        await _provider_events(_provider(path, speed=None))
    assert info.value.error_type == "overloaded_error" and info.value.status == 529


async def test_bad_options_and_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="path"):
        get_provider("replay")(ProviderConfig(provider="replay"))
    with pytest.raises(ConfigurationError, match="not found"):
        await _provider_events(_provider(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigurationError, match="speed"):
        _provider(tmp_path / "x.jsonl", speed=-1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t": 0, "event": {"kind": "nope"}}\n')
    with pytest.raises(ProtocolError, match="bad.jsonl:1"):
        load_recordings(bad)


async def test_merged_recording_needs_a_source(tmp_path: Path) -> None:
    path = tmp_path / "merged.jsonl"
    rows: list[tuple[float, Event]] = [
        (0.0, TextDelta(text="a", source="gpt")),
        (0.0, TextDelta(text="b", source="claude")),
        (0.1, Completed(response=Response(texts={0: "a"}), source="gpt")),
        (0.1, Completed(response=Response(texts={0: "b"}), source="claude")),
    ]
    _write_jsonl(path, rows)
    with pytest.raises(ConfigurationError, match="source="):
        await _provider_events(_provider(path, speed=None))
    got = await _provider_events(_provider(path, speed=None, source="claude"))
    assert [e.text for e in got if isinstance(e, TextDelta)] == ["b"]
    await asyncio.sleep(0)


async def _all_events(observable: reactivex.Observable[Event]) -> list[Event]:
    done: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
    events: list[Event] = []
    observable.subscribe(
        on_next=events.append,
        on_completed=lambda: done.set_result(events),
        on_error=done.set_exception,
    )
    return await done


CONFORMANCE = Path(__file__).parents[1] / "fixtures" / "streams"
WIRE_FILES = sorted(
    p.name for p in CONFORMANCE.glob("*.sse") if p.name.startswith(("openai_chat", "anthropic_"))
)


@pytest.mark.parametrize("name", WIRE_FILES)
async def test_raw_provider_sse_replays_like_the_provider_over_http(name: str) -> None:
    from lionrx.services import iModel
    from lionrx.testing import FakeProviderServer, Recording

    path = CONFORMANCE / name
    wire = "openai" if name.startswith("openai") else "anthropic"
    async with FakeProviderServer() as server:
        server.queue(Recording(path=path, chunk_size="random", seed=7))
        base = server.openai_base_url if wire == "openai" else server.anthropic_base_url
        async with iModel(provider=wire, model="m", name="x", base_url=base, api_key="k" * 8) as m:
            over_http = await _all_events(m.stream("hi"))
    async with iModel(provider="replay", path=path, speed=None, name="x") as replayed:
        from_file = await _all_events(replayed.stream("hi"))
    assert _dumped(from_file[:-1]) == _dumped(over_http[:-1])
    assert type(from_file[-1]) is type(over_http[-1])
    if isinstance(over_http[-1], Failed):
        assert isinstance(from_file[-1], Failed)
        assert str(from_file[-1].error) == str(over_http[-1].error)


def test_raw_sse_with_timestamps_replays_on_time() -> None:
    body = (CONFORMANCE / "openai_chat_text.sse").read_bytes()
    frames = [f for f in body.split(b"\n\n") if f.strip()]
    stamped = b"".join(b": t=%.1f\n" % (0.5 * i) + f + b"\n\n" for i, f in enumerate(frames))
    scheduler = TestScheduler()
    seen: list[tuple[float, str]] = []
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".sse") as fh:
        fh.write(stamped)
        fh.flush()
        replay(fh.name, speed=2.0, scheduler=scheduler).subscribe(
            on_next=lambda e: seen.append((scheduler.clock, e.kind))
        )
    scheduler.start()
    texts = [t for t, kind in seen if kind == "text"]
    assert texts == sorted(texts) and texts[-1] > texts[0]
    assert seen[-1][1] == "completed"
    assert all(t * 4 == round(t * 4) for t, _ in seen)  # on the 0.25 s grid (0.5 s at 2x)


async def test_timed_replay_runs_on_the_loop_thread(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "timed.jsonl"
    rows: list[tuple[float, Event]] = [(0.01 * i, TextDelta(text=f"{i} ")) for i in range(1, 6)]
    rows.append((0.06, Completed(response=Response(texts={0: "1 2 3 4 5 "}))))
    _write_jsonl(path, rows)
    threads: set[int] = set()
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    replay(path, speed=2.0).subscribe(
        on_next=lambda _: threads.add(threading.get_ident()),
        on_completed=lambda: done.set_result(None),
    )
    await asyncio.wait_for(done, 5)
    assert threads == {threading.get_ident()}
