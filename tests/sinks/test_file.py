"""The file sink: formats, appending, flushing, fsync, failures kept on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import reactivex
from reactivex.subject import Subject

from lionrx.errors import ConfigurationError, LionrxError, ProviderStreamError
from lionrx.events import (
    Completed,
    Failed,
    Finish,
    Response,
    Start,
    TextDelta,
    Usage,
    load_event,
)
from lionrx.sinks import file, record, tee

EVENTS = [
    Start(model="m", source="gpt"),
    TextDelta(text="Hello", source="gpt"),
    TextDelta(text=", wörld", source="gpt"),
    Usage(input_tokens=3, output_tokens=2, source="gpt"),
    Finish(reason="stop", source="gpt"),
    Completed(response=Response(texts={0: "Hello, wörld"}, source="gpt"), source="gpt"),
]


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


async def test_text_format_appends_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "out" / "answer.txt"
    response = await file(reactivex.from_iterable(EVENTS), path)
    assert response.text == "Hello, wörld"
    assert path.read_text("utf-8") == "Hello, wörld"
    await file(reactivex.from_iterable(["!", "?"]), path)
    assert path.read_text("utf-8") == "Hello, wörld!?"
    await file(reactivex.from_iterable(["new"]), path, truncate=True)
    assert path.read_text("utf-8") == "new"


async def test_jsonl_has_header_timestamps_and_every_event(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    await file(reactivex.from_iterable(EVENTS), path, format="jsonl")
    rows = _jsonl(path)
    assert rows[0]["recording"]["version"] == 1  # type: ignore[index]
    stamps = [float(row["t"]) for row in rows]  # type: ignore[arg-type]
    assert stamps == sorted(stamps)
    events = [load_event(json.dumps(row["event"])) for row in rows[1:]]
    assert events == EVENTS


async def test_jsonl_failed_keeps_error_and_partial(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    error = ProviderStreamError("overloaded sk-abcdefghijklmnop", error_type="overloaded_error")
    partial = Response(texts={0: "Hel"})
    events = [TextDelta(text="Hel"), Failed(error=error, partial=partial)]
    with pytest.raises(ProviderStreamError):
        await file(reactivex.from_iterable(events), path, format="jsonl")
    text = path.read_text("utf-8")
    assert "sk-abcdefghijklmnop" not in text
    last = load_event(json.dumps(_jsonl(path)[-1]["event"]))
    assert isinstance(last, Failed) and isinstance(last.error, ProviderStreamError)
    assert last.error.error_type == "overloaded_error" and last.partial.text == "Hel"


async def test_sse_format_is_valid_sse_with_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "rec.sse"
    await file(reactivex.from_iterable(EVENTS), path, format="sse")
    frames = [f for f in path.read_text("utf-8").split("\n\n") if f]
    assert frames[0].startswith(": lionrx-recording ")
    kinds = []
    for frame in frames[1:]:
        lines = frame.split("\n")
        assert lines[0].startswith(": t=")
        fields = dict(line.split(": ", 1) for line in lines[1:])
        event = load_event(fields["data"])
        assert event.kind == fields["event"]
        kinds.append(event.kind)
    assert kinds == [e.kind for e in EVENTS]


async def test_each_event_is_on_disk_before_the_next(tmp_path: Path) -> None:
    path = tmp_path / "live.txt"
    subject: Subject[str] = Subject()
    handle = file(subject, path)
    seen = []
    for piece in ["a", "bc", "def"]:
        subject.on_next(piece)
        seen.append(path.read_text())
    assert seen == ["a", "abc", "abcdef"]
    subject.on_completed()
    await handle


async def test_flush_at_end_buffers(tmp_path: Path) -> None:
    path = tmp_path / "buffered.txt"
    subject: Subject[str] = Subject()
    handle = file(subject, path, flush="end")
    subject.on_next("abc")
    assert path.read_text() == ""
    subject.on_completed()
    await handle
    assert path.read_text() == "abc"


async def test_error_keeps_what_was_received(tmp_path: Path) -> None:
    path = tmp_path / "partial.txt"
    subject: Subject[str] = Subject()
    handle = file(subject, path)
    subject.on_next("part")
    subject.on_error(LionrxError("connection lost"))
    with pytest.raises(LionrxError):
        await handle
    assert path.read_text() == "part"


async def test_bad_settings_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="format"):
        file(reactivex.empty(), tmp_path / "x", format="xml")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="flush"):
        file(reactivex.empty(), tmp_path / "x", flush="sometimes")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="path"):
        file(reactivex.empty())  # type: ignore[call-overload]


async def test_record_and_tee_share_one_subscription(tmp_path: Path) -> None:
    subscriptions = 0

    def subscribe(observer, scheduler=None):  # type: ignore[no-untyped-def]
        nonlocal subscriptions
        subscriptions += 1
        for event in EVENTS:
            observer.on_next(event)
        observer.on_completed()
        return reactivex.disposable.Disposable()

    source = reactivex.create(subscribe)
    text_handle, jsonl_handle = tee(
        source, file(tmp_path / "a.txt"), lambda obs: record(obs, tmp_path / "a.jsonl")
    )
    assert (await text_handle).text == "Hello, wörld"
    await jsonl_handle
    assert subscriptions == 1
    assert (tmp_path / "a.txt").read_text("utf-8") == "Hello, wörld"
    assert len(_jsonl(tmp_path / "a.jsonl")) == len(EVENTS) + 1


async def test_jsonl_to_a_pipe(tmp_path: Path) -> None:
    import os

    read_fd, write_fd = os.pipe()
    try:
        await file(reactivex.from_iterable(EVENTS), f"/dev/fd/{write_fd}", format="jsonl")
        os.close(write_fd)
        write_fd = -1
        with os.fdopen(read_fd, "rb") as reader:
            read_fd = -1
            rows = [json.loads(line) for line in reader.read().splitlines()]
        assert len(rows) == len(EVENTS) + 1
    finally:
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)


async def test_completion_fsyncs_off_the_loop_before_the_handle_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import threading

    real_fsync = os.fsync
    synced: list[tuple[str, int]] = []

    def spy(fd: int) -> None:  # the real fsync, observed
        real_fsync(fd)
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), threading.get_ident()))

    monkeypatch.setattr(os, "fsync", spy)
    for fmt in ("text", "jsonl", "sse"):
        path = tmp_path / f"synced.{fmt}"
        handle = file(reactivex.from_iterable(EVENTS), path, format=fmt)  # type: ignore[call-overload]
        await handle
        assert handle.done and synced and synced[-1][0] == str(path)
        assert synced[-1][1] != threading.get_ident(), "fsync blocked the event loop"
    # A failed stream is fsync'd too: what was received must survive a power cut.
    failed = [TextDelta(text="Hel"), Failed(error=LionrxError("cut"), partial=Response())]
    synced.clear()
    await file(reactivex.from_iterable(failed), tmp_path / "failed.txt").wait()
    assert [p for p, _ in synced] == [str(tmp_path / "failed.txt")]
    # A disposed sink (the user stopped the stream) keeps and syncs what it received.
    synced.clear()
    subject: Subject[str] = Subject()
    stopped = file(subject, tmp_path / "stopped.txt")
    subject.on_next("kept")
    stopped.dispose()
    await stopped.wait()
    assert [p for p, _ in synced] == [str(tmp_path / "stopped.txt")]
    assert (tmp_path / "stopped.txt").read_text() == "kept"
    # fsync=False skips it.
    synced.clear()
    await file(reactivex.from_iterable(EVENTS), tmp_path / "fast.txt", fsync=False)
    assert synced == []


async def test_flush_every_n_seconds(tmp_path: Path) -> None:
    path = tmp_path / "periodic.txt"
    subject: Subject[str] = Subject()
    handle = file(subject, path, flush=3600)
    subject.on_next("abc")
    assert path.read_text() == ""  # buffered: less than an hour since the last flush
    subject.on_completed()
    await handle
    assert path.read_text() == "abc"
    every: Subject[str] = Subject()
    eager = file(every, tmp_path / "eager.txt", flush=0)
    every.on_next("x")
    assert (tmp_path / "eager.txt").read_text() == "x"
    every.on_completed()
    await eager


async def test_recordings_append_never_truncate(tmp_path: Path) -> None:
    from lionrx.sinks import load_recordings

    for fmt in ("jsonl", "sse"):
        path = tmp_path / f"cassette.{fmt}"
        path.write_bytes(b"")
        for _ in range(3):
            await record(reactivex.from_iterable(EVENTS), path, format=fmt)  # type: ignore[arg-type]
        streams = load_recordings(path)
        assert len(streams) == 3
        assert all([e for _, e in s.events] == EVENTS for s in streams)
        await record(reactivex.from_iterable(EVENTS), path, format=fmt, truncate=True)  # type: ignore[arg-type]
        assert len(load_recordings(path)) == 1


async def test_text_file_follows_fallback_restart_and_continue(tmp_path: Path) -> None:
    from lionrx import operators as ops
    from lionrx.services import iModel
    from lionrx.testing import FakeProviderServer, Fault, Script

    first = "The first model says a lot before it dies " * 10
    path = tmp_path / "answer.txt"
    path.write_text("earlier answer\n", "utf-8")
    async with (
        FakeProviderServer(Script(text=first, chunk_size=6, fault=Fault.drop(900))) as dying,
        FakeProviderServer(Script(text="Fresh answer.", chunk_size=4)) as backup_server,
    ):
        async with (
            iModel(provider="openai", model="a", name="a", base_url=dying.openai_base_url) as a,
            iModel(
                provider="openai", model="b", name="b", base_url=backup_server.openai_base_url
            ) as b,
        ):
            # Restart (the next entry is a plain Observable): the file drops the dead answer.
            response = await file(ops.fallback(a.stream("hi"), b.stream("hi")), path)
            assert response.text == "Fresh answer."
            assert path.read_text("utf-8") == "earlier answer\nFresh answer."
            # Continue (a factory given the prefix): the file keeps growing.
            cont = tmp_path / "continued.txt"
            response = await file(ops.fallback(a.stream("hi"), lambda prefix: b.stream("hi")), cont)
            text = cont.read_text("utf-8")
            assert text == response.text and text.endswith("Fresh answer.")
            assert first.startswith(text[: -len("Fresh answer.")])
            assert len(text) > len("Fresh answer.")
