"""Shared helpers of the reliability tests: a reference reading of what the server sent, a
trace of everything an Observable delivered, and leak checks."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from reactivex import Observable

from lionrx.events import Completed, Event, Failed
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer

Wire = Literal["openai", "anthropic", "ollama"]
CANARY = "sk-canary-reliability-7f3a9c2e1b"


@dataclass
class Ref:
    """What a correct client makes of the bytes the server sent."""

    text: str = ""
    clean: bool = False
    """The provider's end of answer arrived with nothing wrong before it."""


def _sse_text(body: bytes, wire: Wire) -> Ref:
    ref = Ref()
    # Only events terminated by a blank line count: an unterminated one is discarded (WHATWG).
    text = body.decode("utf-8", "replace")
    blocks = text.split("\n\n")
    for block in blocks[:-1]:
        data = "\n".join(
            line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
        )
        if not data:
            continue
        if data == "[DONE]":
            ref.clean = True
            return ref
        try:
            obj = json.loads(data)
        except ValueError:
            return ref
        if wire == "openai":
            for choice in obj.get("choices") or []:
                if choice.get("index", 0) == 0:
                    ref.text += (choice.get("delta") or {}).get("content") or ""
        else:
            if obj.get("type") == "content_block_start":
                block = obj.get("content_block") or {}
                if block.get("type") == "text":
                    ref.text += block.get("text", "")
            elif obj.get("type") == "content_block_delta":
                delta = obj.get("delta") or {}
                if delta.get("type") == "text_delta":
                    ref.text += delta.get("text", "")
            elif obj.get("type") == "message_stop":
                ref.clean = True
                return ref
            elif obj.get("type") == "error":
                return ref
    return ref


def _ndjson_text(body: bytes) -> Ref:
    ref = Ref()
    lines = body.split(b"\n")
    for line in lines[:-1]:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            return ref
        ref.text += (obj.get("message") or {}).get("content") or ""
        if obj.get("done"):
            ref.clean = True
            return ref
    return ref


def reference(body: bytes, wire: Wire) -> Ref:
    """The answer text a correct client reads from ``body``, and whether it ended cleanly."""
    return _ndjson_text(body) if wire == "ollama" else _sse_text(body, wire)


def base_url(server: FakeProviderServer, wire: Wire) -> str:
    return server.openai_base_url if wire == "openai" else server.url


def make_model(server: FakeProviderServer, wire: Wire, **kw: Any) -> iModel:
    kw.setdefault("max_retries", 0)
    return iModel(
        provider=wire, model="fake-model", base_url=base_url(server, wire), api_key=CANARY, **kw
    )


@dataclass
class Trace:
    """Every notification an Observable delivered, in order."""

    items: list[Any] = field(default_factory=list)
    completed: int = 0
    errors: list[BaseException] = field(default_factory=list)
    after_end: list[Any] = field(default_factory=list)
    done: asyncio.Future[None] | None = None

    @property
    def ended(self) -> bool:
        return self.completed > 0 or bool(self.errors)

    @property
    def terminals(self) -> list[Event]:
        return [e for e in self.items if isinstance(e, Completed | Failed)]

    def check_one_outcome(self) -> Completed | Failed:
        """Exactly one terminal event, last, then ``on_completed`` once, nothing after."""
        assert not self.errors, f"on_error on an event stream: {self.errors!r}"
        assert self.completed == 1, f"on_completed x{self.completed}"
        assert not self.after_end, f"delivered after the end: {self.after_end!r}"
        terminals = self.terminals
        assert len(terminals) == 1, f"{len(terminals)} terminal events"
        assert self.items[-1] is terminals[0], "the terminal event is not the last"
        return terminals[0]


def subscribe(observable: Observable[Any]) -> tuple[Trace, Any]:
    """Subscribe and record; returns the trace and the subscription."""
    loop = asyncio.get_running_loop()
    trace = Trace(done=loop.create_future())

    def finish() -> None:
        if trace.done is not None and not trace.done.done():
            trace.done.set_result(None)

    def on_next(item: Any) -> None:
        (trace.after_end if trace.ended else trace.items).append(item)

    def on_error(exc: BaseException) -> None:
        trace.errors.append(exc)
        finish()

    def on_completed() -> None:
        if trace.ended:
            trace.after_end.append("on_completed")
        trace.completed += 1
        finish()

    sub = observable.subscribe(on_next, on_error, on_completed)
    return trace, sub


async def run_to_end(observable: Observable[Any], timeout: float = 30.0) -> Trace:
    trace, _ = subscribe(observable)
    assert trace.done is not None
    await asyncio.wait_for(trace.done, timeout)
    await asyncio.sleep(0)  # let anything wrongly delivered after the end show up
    return trace


def acquired(model: iModel) -> int:
    """Connections the model's aiohttp connector has handed out and not got back."""
    session = getattr(model.backend, "_session", None)
    if session is None or session.closed:
        return 0
    return len(session.connector._acquired)


def other_tasks(baseline: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {
        t for t in asyncio.all_tasks() if t is not current and t not in baseline and not t.done()
    }


async def assert_no_leaks(
    model: iModel, server: FakeProviderServer, baseline: set[asyncio.Task[Any]]
) -> None:
    """After the outcome: no connection checked out, and after ``aclose`` no socket to the
    server, no response in flight on the server, and no task left over."""
    assert acquired(model) == 0, "a connection is still checked out"
    await model.aclose()
    await server.wait_for(lambda: server.open_streams == 0 and server.connections == 0, 10.0)
    for _ in range(1000):  # up to 10 s on a loaded machine
        left = other_tasks(baseline)
        if not left:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"tasks left running: {left!r}")
