"""Replay: recordings played back as a provider — the file sink's ``jsonl`` / ``sse``
recordings, or a provider's raw SSE body (OpenAI, Anthropic) with optional timestamps.

``iModel(provider="replay", path="answer.jsonl", speed=10)`` streams the recorded events with
their original timing scaled by ``speed`` (``speed=None`` or ``0``: as fast as possible).
`replay` gives the same recording as an Observable scheduled on any reactivex scheduler, so a
``TestScheduler`` replays it in virtual time. A file holding several recordings (the file sink
appends) is a cassette: successive calls replay successive recordings.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from lionrx._errors import ConfigurationError, LionrxError, ProtocolError
from lionrx._events import Completed, Event, Failed, Response, ResponseBuilder, load_event
from lionrx._rx import resolve_scheduler
from lionrx.providers._base import Provider, ProviderConfig, register_provider

__all__ = ["RecordedStream", "ReplayProvider", "load_recordings", "replay"]


@dataclass(frozen=True)
class RecordedStream:
    """One recorded stream: ``(seconds since the start, event)`` pairs in order."""

    events: tuple[tuple[float, Event], ...]
    """Every recorded event with its timestamp, the terminal one included when present."""
    header: dict[str, Any] = field(default_factory=dict)
    """The recording's header (version, format, creation time), empty if it had none."""
    complete: bool = True
    """False when the file ended inside a line (the recording process died mid-write)."""

    @property
    def outcome(self) -> Completed | Failed | None:
        """The recorded terminal event, or None if the recording stops before it."""
        if self.events and isinstance(self.events[-1][1], Completed | Failed):
            return self.events[-1][1]
        return None

    @property
    def body(self) -> tuple[tuple[float, Event], ...]:
        """The non-terminal events."""
        return self.events[:-1] if self.outcome is not None else self.events

    @property
    def sources(self) -> list[str | None]:
        """Source labels present, in order of first appearance."""
        seen: dict[str | None, None] = {}
        for _, event in self.events:
            seen.setdefault(event.source, None)
        return list(seen)


def _cut(path: Path, line_no: int, why: str) -> ProtocolError:
    return ProtocolError(f"{path}:{line_no}: not a lionrx recording ({why})", provider="replay")


def _parse_jsonl(path: Path, text: str) -> list[RecordedStream]:
    streams: list[RecordedStream] = []
    header: dict[str, Any] = {}
    events: list[tuple[float, Event]] = []
    lines = text.split("\n")
    # A last line without its newline was being written when the recorder died: drop it
    # unless it parses, and remember the recording is incomplete.
    complete = True
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        try:
            json.loads(lines[-1])
        except ValueError:
            lines.pop()
            complete = False

    def flush() -> None:
        nonlocal events, header
        if events or header:
            streams.append(RecordedStream(tuple(events), header))
        events, header = [], {}

    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise _cut(path, number, f"invalid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise _cut(path, number, "a line is not a JSON object")
        if "recording" in row:
            flush()
            header = dict(row["recording"])
            continue
        raw = row.get("event", row if "kind" in row else None)
        if raw is None:
            raise _cut(path, number, 'expected {"t": ..., "event": {...}}')
        try:
            event = load_event(json.dumps(raw))
        except ValueError as exc:
            raise _cut(path, number, f"invalid event: {exc}") from None
        events.append((float(row.get("t", 0.0)), event))
        if isinstance(event, Completed | Failed) and len({e.source for _, e in events}) == 1:
            # One source, one outcome: the recording is over even without a header after it.
            flush()
    flush()
    if not complete and streams:
        last = streams[-1]
        streams[-1] = RecordedStream(last.events, last.header, complete=False)
    return streams


def _parse_sse(path: Path, text: str) -> list[RecordedStream]:
    """Parse the file sink's SSE recordings (``: t=`` comment, ``event:``, ``data:``).

    This reads lionrx's own recording layout; comments carry the timestamps, which a generic
    SSE decoder rightly discards.
    """
    streams: list[RecordedStream] = []
    header: dict[str, Any] = {}
    events: list[tuple[float, Event]] = []
    text = text.replace("\r\n", "\n")
    blocks = text.split("\n\n")
    complete = True
    if blocks and blocks[-1].strip():
        complete = False  # the final event's blank line never made it to disk
    blocks = blocks[:-1]

    def flush() -> None:
        nonlocal events, header
        if events or header:
            streams.append(RecordedStream(tuple(events), header))
        events, header = [], {}

    for block in blocks:
        stamp = 0.0
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith(": lionrx-recording"):
                flush()
                header = dict(json.loads(line.split(" ", 2)[2]))
            elif line.startswith(": t="):
                stamp = float(line[4:])
            elif line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
        if not data:
            continue
        try:
            event = load_event("\n".join(data))
        except ValueError as exc:
            raise ProtocolError(f"{path}: invalid event in SSE recording: {exc}") from None
        events.append((stamp, event))
        if isinstance(event, Completed | Failed) and len({e.source for _, e in events}) == 1:
            flush()
    flush()
    if not complete and streams:
        last = streams[-1]
        streams[-1] = RecordedStream(last.events, last.header, complete=False)
    return streams


_STAMP = re.compile(rb"^: t=([0-9]+(?:\.[0-9]*)?)\r?\n", re.MULTILINE)


def _detect_wire(text: str) -> str | None:
    """``openai`` / ``anthropic`` for a provider's raw SSE body, None for lionrx's own SSE."""
    for line in text.splitlines():
        if line.startswith(": lionrx-recording"):
            return None
        if line.startswith("data:"):
            data = line[5:].strip()
            if data.startswith("{"):
                try:
                    obj = json.loads(data)
                except ValueError:
                    continue
                if isinstance(obj, dict) and "kind" in obj:
                    return None
                if isinstance(obj, dict) and (
                    "choices" in obj or "chat.completion" in str(obj.get("object", ""))
                ):
                    return "openai"
                if isinstance(obj, dict) and str(obj.get("type", "")).startswith(
                    ("message_", "content_block", "ping", "error")
                ):
                    return "anthropic"
    return None


def _parse_wire(path: Path, data: bytes, wire: str) -> RecordedStream:
    """A provider's raw SSE body (optionally with ``: t=<seconds>`` comment lines, which SSE
    clients ignore) decoded by that provider's own decoder and mapper, as the HTTP path does."""
    from lionrx.providers._anthropic import AnthropicMapper
    from lionrx.providers._http import SSEItems
    from lionrx.providers._openai import OpenAIChatMapper
    from lionrx.providers._openai_responses import ResponsesMapper

    mappers: dict[str, Any] = {
        "openai": OpenAIChatMapper,
        "openai-responses": ResponsesMapper,
        "anthropic": AnthropicMapper,
    }
    if wire not in mappers:
        raise ConfigurationError(
            f"unknown wire format {wire!r} (openai, openai-responses or anthropic)"
        )
    mapper = mappers[wire](None, wire)
    decoder = SSEItems()
    builder = ResponseBuilder()
    events: list[tuple[float, Event]] = []
    segments: list[tuple[float, bytes]] = []
    stamp, start = 0.0, 0
    for match in _STAMP.finditer(data):
        segments.append((stamp, data[start : match.start()]))
        stamp, start = float(match.group(1)), match.end()
    segments.append((stamp, data[start:]))

    def add(at: float, produced: list[Event]) -> None:
        for event in produced:
            builder.add(event)
            events.append((at, event))

    outcome: Completed | Failed
    try:
        for at, segment in segments:
            for item in decoder.feed(segment):
                add(at, mapper.feed(item))
                if mapper.done:
                    break
            if mapper.done:
                break
        if not mapper.done:
            for item in decoder.close():
                add(stamp, mapper.feed(item))
            add(stamp, mapper.end())
        outcome = Completed.model_construct(response=builder.finish(), source=None)
    except LionrxError as exc:
        partial = builder.finish()
        exc.partial = partial
        outcome = Failed.model_construct(error=exc, partial=partial, source=None)
    events.append((events[-1][0] if events else 0.0, outcome))
    return RecordedStream(tuple(events), {"format": "wire", "wire": wire, "path": str(path)})


_WIRE_HEADER = re.compile(rb"^: lionrx-wire (.*)\r?\n", re.MULTILINE)


def _parse_wire_log(path: Path, data: bytes, wire: str | None) -> list[RecordedStream]:
    """A wire log written by ``wire_log=`` on an HTTP provider: one raw body per
    ``: lionrx-wire {...}`` header, each replayed by the provider's own decoder."""
    heads = list(_WIRE_HEADER.finditer(data))
    streams: list[RecordedStream] = []
    for number, head in enumerate(heads):
        end = heads[number + 1].start() if number + 1 < len(heads) else len(data)
        try:
            meta = json.loads(head.group(1))
        except ValueError:
            meta = {}
        body = data[head.end() : end]
        kind = wire or (meta.get("wire") if isinstance(meta, dict) else None)
        kind = kind or _detect_wire(body.decode("utf-8", errors="replace"))
        if kind is None:
            raise ProtocolError(f"{path}: wire recording {number + 1} has no known wire format")
        streams.append(_parse_wire(path, body, kind))
    return streams


def load_recordings(
    path: str | os.PathLike[str], *, wire: str | None = None
) -> list[RecordedStream]:
    """Read every recording in a file: the file sink's ``jsonl`` or ``sse`` recordings, or a
    provider's raw SSE body (OpenAI or Anthropic, detected or given as ``wire=``) with
    optional ``: t=<seconds>`` comment lines for timing, or a ``wire_log=`` file holding
    several such bodies (one per ``: lionrx-wire`` header)."""
    target = Path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"recording not found: {target}", provider="replay") from None
    text = raw.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise ConfigurationError(f"recording is empty: {target}", provider="replay")
    if wire is None and stripped.startswith("{"):
        streams = _parse_jsonl(target, text)
    elif _WIRE_HEADER.search(raw):
        streams = _parse_wire_log(target, raw, wire)
    else:
        wire = wire or _detect_wire(text)
        streams = [_parse_wire(target, raw, wire)] if wire else _parse_sse(target, text)
    if not streams:
        raise ConfigurationError(f"no recorded stream in {target}", provider="replay")
    return streams


def _speed(value: Any) -> float | None:
    if value is None:
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"speed must be a number, not {value!r}") from None
    if speed < 0:
        raise ConfigurationError("speed must be >= 0 (0 or None: as fast as possible)")
    return speed or None


def _truncated(partial: Response) -> ProtocolError:
    return ProtocolError(
        "the recording ends before the end of the answer (the recorder stopped mid-stream)",
        provider="replay",
        partial=partial,
    )


def replay(
    recording: str | os.PathLike[str] | RecordedStream,
    *,
    index: int = -1,
    speed: float | None = 1.0,
    scheduler: abc.SchedulerBase | None = None,
    wire: str | None = None,
) -> Observable[Event]:
    """A recording as a cold Observable of events, on ``scheduler`` (default: the loop's).

    Each event is emitted at its recorded offset divided by ``speed`` (``None``/``0``: all at
    once, in order), the recorded outcome last; a recording cut short ends with
    ``Failed(ProtocolError)``. With ``reactivex.testing.TestScheduler`` the replay runs in
    virtual time. ``index`` picks one recording of a multi-recording file (default: the last).
    """
    if isinstance(recording, RecordedStream):
        stream = recording
    else:
        streams = load_recordings(recording, wire=wire)
        try:
            stream = streams[index]
        except IndexError:
            raise ConfigurationError(
                f"recording index {index} out of range ({len(streams)} recordings)"
            ) from None
    factor = _speed(speed)

    def subscribe(
        observer: abc.ObserverBase[Event], default: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        sched = scheduler or default or resolve_scheduler(None)
        items = stream.events
        builder = ResponseBuilder()
        disposables = CompositeDisposable()
        origin = sched.now
        position = 0

        def emit(_: abc.SchedulerBase, __: Any = None) -> None:
            nonlocal position
            while position < len(items):
                t, event = items[position]
                if factor is not None and position > 0 and t > items[position - 1][0]:
                    # Absolute due times (from the subscription) so that lateness in one
                    # callback does not accumulate into drift over a long recording.
                    due = origin + timedelta(seconds=t / factor)
                    if due > sched.now:
                        disposables.add(sched.schedule_absolute(due, emit))
                        return
                position += 1
                builder.add(event)
                observer.on_next(event)
            if stream.outcome is None:
                partial = builder.finish()
                error = _truncated(partial)
                observer.on_next(Failed.model_construct(error=error, partial=partial, source=None))
            observer.on_completed()

        first = items[0][0] / factor if (items and factor is not None) else 0.0
        disposables.add(sched.schedule_absolute(origin + timedelta(seconds=first), emit))
        return disposables

    return reactivex.create(subscribe)


@register_provider
class ReplayProvider(Provider):
    """Plays back a recording as if a model were answering.

    Options (iModel keywords): ``path`` (required), ``speed`` (1.0 = original timing, 10 =
    ten times faster, ``None``/``0`` = as fast as possible), ``index`` (always replay that
    recording of the file; default: successive calls take successive recordings, cycling),
    ``source`` (the label to replay from a recorded merged stream), ``wire`` (``openai`` or
    ``anthropic`` for a provider's raw SSE body; detected when not given).

    Events keep their recorded content; their ``source`` becomes this provider's label. A
    recorded failure is raised again (same type, message and status); a recording cut short
    raises `ProtocolError`, as a body that ends early does.
    """

    name: ClassVar[str] = "replay"
    client_options: ClassVar[frozenset[str]] = frozenset(
        {"path", "speed", "index", "source", "wire"}
    )

    def __init__(self, config: ProviderConfig) -> None:
        options = dict(config.options)
        path = options.get("path")
        if not path:
            raise ConfigurationError(
                "the replay provider needs path= (a recording made by lionrx.sinks.record)",
                provider="replay",
            )
        super().__init__(config)
        self.path = Path(path)
        self.speed = _speed(options.get("speed", 1.0))
        self.index: int | None = options.get("index")
        self.wanted_source: str | None = options.get("source")
        self.wire: str | None = options.get("wire")
        self.source: str | None = None
        """Label put on every event (the iModel's name); None keeps the recorded labels."""
        self.calls = 0
        self._streams: Sequence[RecordedStream] | None = None

    def _next_stream(self) -> RecordedStream:
        if self._streams is None:
            self._streams = load_recordings(self.path, wire=self.wire)
        streams = self._streams
        if self.index is not None:
            try:
                return streams[self.index]
            except IndexError:
                raise ConfigurationError(
                    f"recording index {self.index} out of range ({len(streams)} in {self.path})",
                    provider="replay",
                ) from None
        stream = streams[self.calls % len(streams)]
        self.calls += 1
        return stream

    async def events(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> AsyncIterator[Event]:
        stream = self._next_stream()
        body = stream.body
        sources = stream.sources
        wanted = self.wanted_source
        if wanted is None and len(sources) > 1:
            raise ConfigurationError(
                f"{self.path} holds a merged stream ({', '.join(map(str, sources))}): "
                "pass source= to pick one",
                provider="replay",
            )
        loop = asyncio.get_running_loop()
        start = loop.time()
        speed = self.speed
        builder = ResponseBuilder(source=self.source)
        for t, event in body:
            if wanted is not None and event.source != wanted:
                continue
            if speed is not None:
                delay = start + t / speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if event.source != self.source:
                event = event.model_copy(update={"source": self.source})
            builder.add(event)
            yield event
        outcome = stream.outcome
        if outcome is None:
            raise _truncated(builder.finish())
        if isinstance(outcome, Failed):
            error = outcome.error
            if isinstance(error, LionrxError):
                raise error
            raise LionrxError(str(error), provider="replay")
