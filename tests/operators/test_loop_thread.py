"""Every operator runs on the event loop's thread: timers included, no scheduler given.

reactivex's own time-based operators fall back to a thread-based scheduler (``TimeoutScheduler``)
when none is given; lionrx's must not. Each callback of a real HTTP stream through every
operator — items, timer-driven emissions, progress reports, timeouts — records its thread.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

import pytest
from operators_helpers import collect
from reactivex import Observable
from reactivex import operators as rxo

from lionrx import operators as ops
from lionrx._errors import StreamTimeout
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script

TEXT = "One sentence here. Another one follows, with more words! And a third? Yes. " * 6

# Operators whose behaviour depends on time: each takes scheduler= (default: the loop's).
TIMED: dict[str, Callable[..., Any]] = {
    "buffer": ops.buffer,
    "progress_tap": ops.progress_tap,
    "timeout": ops.timeout,
    "smooth": ops.smooth,
}


class Threads:
    """Records the thread of every callback it is asked to watch."""

    def __init__(self) -> None:
        self.seen: dict[str, set[int]] = {}

    def note(self, where: str) -> None:
        self.seen.setdefault(where, set()).add(threading.get_ident())

    def tap(self, where: str) -> Callable[[Observable[Any]], Observable[Any]]:
        return rxo.do_action(
            on_next=lambda _: self.note(where),
            on_error=lambda _: self.note(where + ":error"),
            on_completed=lambda: self.note(where + ":completed"),
        )

    def off_loop(self) -> dict[str, set[int]]:
        here = threading.get_ident()
        return {k: v for k, v in self.seen.items() if v != {here}}


def test_every_time_based_operator_takes_a_scheduler() -> None:
    for name, operator in TIMED.items():
        parameter = inspect.signature(operator).parameters.get("scheduler")
        assert parameter is not None, f"{name}() has no scheduler="
        assert parameter.default is None, f"{name}(): scheduler= must default to the loop's"


async def test_a_real_stream_through_every_operator_stays_on_the_loop_thread(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    fake_server.default = Script(text=TEXT, chunk_size=4, delay=0.002)
    threads = Threads()
    reports: list[ops.Progress] = []

    def on_progress(progress: ops.Progress) -> None:
        threads.note("progress_tap callback")
        reports.append(progress)

    pipeline = model.stream("hi").pipe(
        ops.timeout(first=10, idle=10, total=60),
        threads.tap("timeout"),
        # seconds= only for buffer: every batch is emitted by its timer, not by a count.
        ops.buffer(seconds=0.01),
        threads.tap("buffer (timer)"),
        ops.progress_tap(on_progress, seconds=0.005),
        threads.tap("progress_tap"),
        ops.smooth("word", delay=0.001),
        threads.tap("smooth (paced)"),
        ops.sentence_chunk(),
        threads.tap("sentence_chunk"),
        ops.markdown_blocks(),
        threads.tap("markdown_blocks"),
    )
    events = await collect(pipeline, timeout=30)
    assert events.completed and events.items[-1].kind == "completed"
    text_out = await collect(
        model.stream("hi").pipe(
            ops.text(),
            threads.tap("text"),
            ops.buffer(count=3, seconds=0.005),
            ops.smooth("line", delay=0.001),
            ops.accumulate(),
            threads.tap("accumulate"),
        ),
        timeout=30,
    )
    assert text_out.completed and text_out.items[-1] == TEXT
    assert any(not p.done for p in reports), "no timer-driven progress report was made"
    assert threads.off_loop() == {}, "callbacks ran off the event loop thread"
    assert len(threads.seen) >= 10


async def test_combinators_and_timer_expiry_stay_on_the_loop_thread(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    threads = Threads()
    async with FakeProviderServer(Script(text="too late", first_delay=30)) as stuck:
        async with iModel(
            provider="openai",
            model="stuck",
            name="stuck",
            base_url=stuck.openai_base_url,
            api_key="sk-test-stuck-0000000",
            max_retries=0,
        ) as slow:
            fake_server.default = Script(text=TEXT, chunk_size=7, delay=0.001)
            # A deadline that fires (a timer callback ends the stream), then the fallback and
            # the merge take over on whatever thread delivered that: it must be the loop's.
            timed_out = slow.stream("hi").pipe(ops.timeout(first=0.05), threads.tap("expired"))
            result = await collect(
                ops.merge_labeled(
                    {
                        "fallback": ops.fallback(timed_out, model.stream("hi")).pipe(
                            threads.tap("fallback")
                        ),
                        "race": ops.race(slow.stream("hi"), model.stream("hi")).pipe(
                            threads.tap("race")
                        ),
                    }
                ).pipe(threads.tap("merge_labeled")),
                timeout=30,
            )
    outcomes = {e.source: e.kind for e in result.items if e.kind in ("completed", "failed")}
    assert outcomes == {"fallback": "completed", "race": "completed"}
    fell_back = [e for e in result.items if ops.fallback_mode(e)]
    assert len(fell_back) == 1 and isinstance(fell_back[0].error, StreamTimeout)
    assert threads.off_loop() == {}, "callbacks ran off the event loop thread"
    assert {"expired", "fallback", "race", "merge_labeled"} <= set(threads.seen)


async def test_the_probe_catches_a_thread_based_default_scheduler(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    # The check above can fail: reactivex's delay() without scheduler= uses worker threads.
    fake_server.default = Script(text="Hello there.", chunk_size=3)
    threads = Threads()
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    subscription = (
        model.stream("hi")
        .pipe(rxo.delay(0.001), threads.tap("rx delay"))
        .subscribe(on_completed=lambda: loop.call_soon_threadsafe(done.set_result, None))
    )
    try:
        await asyncio.wait_for(done, 10)
    finally:
        subscription.dispose()
    assert "rx delay" in threads.off_loop()


def test_subscribing_off_a_loop_without_a_scheduler_is_a_clear_error() -> None:
    # No silent fallback to a thread-based scheduler: outside a loop, pass scheduler=.
    import reactivex

    timed = (
        ops.buffer(seconds=1),
        ops.progress_tap(print, seconds=1),
        ops.timeout(1),
        ops.smooth(delay=1),
    )
    for operator in timed:
        with pytest.raises(RuntimeError, match="event loop"):
            reactivex.of("a").pipe(operator).subscribe()
