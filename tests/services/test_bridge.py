"""from_async_iterable / to_async_iterable: cold, on the loop, disposing, bounded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.scheduler import ImmediateScheduler

from lionrx import from_async_iterable, to_async_iterable


class Counter:
    def __init__(self, n: int = 1000) -> None:
        self.n = n
        self.started = 0
        self.produced = 0
        self.closed = 0

    async def gen(self) -> AsyncIterator[int]:
        self.started += 1
        try:
            for i in range(self.n):
                self.produced += 1
                yield i
                await asyncio.sleep(0)
        finally:
            self.closed += 1


async def _collect(observable: reactivex.Observable[int]) -> list[object]:
    out: list[object] = []
    done = asyncio.get_running_loop().create_future()
    observable.subscribe(
        out.append,
        lambda e: done.set_result(("error", e)),
        lambda: done.set_result(("completed", None)),
    )
    out.append(await done)
    return out


async def test_cold_and_delivered_on_the_loop_thread() -> None:
    counter = Counter(3)
    threads: set[int] = set()
    observable = from_async_iterable(counter.gen).pipe(
        ops.do_action(lambda _: threads.add(threading.get_ident()))
    )
    assert counter.started == 0  # nothing before subscription
    first = await _collect(observable)
    second = await _collect(observable)
    assert first == second == [0, 1, 2, ("completed", None)]
    assert counter.started == 2 and counter.closed == 2
    assert threads == {threading.get_ident()}


async def test_errors_go_to_on_error() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise ValueError("boom")

    out = await _collect(from_async_iterable(failing))
    assert out[0] == 1
    kind, error = out[1]  # type: ignore[misc]
    assert kind == "error" and isinstance(error, ValueError)


async def test_dispose_closes_the_iterator() -> None:
    counter = Counter(10_000)
    got: list[int] = []
    subscription = from_async_iterable(counter.gen).subscribe(got.append)
    while len(got) < 5:
        await asyncio.sleep(0)
    subscription.dispose()
    for _ in range(5):
        await asyncio.sleep(0)
    assert counter.closed == 1
    frozen = len(got)
    await asyncio.sleep(0.01)
    assert len(got) == frozen < 100


async def test_an_async_iterable_object_is_accepted() -> None:
    counter = Counter(2)
    out = await _collect(from_async_iterable(counter.gen()))
    assert out == [0, 1, ("completed", None)]


async def test_pulling_an_async_observable_has_no_buffer() -> None:
    counter = Counter(100)
    ahead = []
    async for item in to_async_iterable(from_async_iterable(counter.gen)):
        ahead.append(counter.produced - item - 1)
        await asyncio.sleep(0.0001)
    assert max(ahead) == 0
    assert counter.closed == 1


async def test_operator_chains_over_async_sources_are_backpressured() -> None:
    counter = Counter(500)
    chain = from_async_iterable(counter.gen).pipe(ops.map(lambda x: x * 2))
    lags = []
    async for item in to_async_iterable(chain, maxsize=8):
        lags.append(counter.produced - item // 2)
        await asyncio.sleep(0.001)
    assert max(lags) <= 8 + 2, max(lags)


async def test_break_disposes_the_source() -> None:
    counter = Counter(10_000)
    chain = from_async_iterable(counter.gen).pipe(ops.map(lambda x: x))
    async for item in to_async_iterable(chain, maxsize=4):
        if item == 3:
            break
    for _ in range(5):
        await asyncio.sleep(0)
    assert counter.closed == 1 and counter.produced < 50


async def test_a_source_that_cannot_pause_overflows_with_a_clear_error() -> None:
    source = reactivex.from_iterable(range(10_000), scheduler=ImmediateScheduler())
    got = []
    with pytest.raises(BufferError, match="maxsize"):
        async for item in to_async_iterable(source, maxsize=10):
            got.append(item)
    assert got == list(range(20))  # everything queued before the overflow is delivered


async def test_a_small_synchronous_source_fits() -> None:
    source = reactivex.from_iterable(range(5), scheduler=ImmediateScheduler())
    assert [x async for x in to_async_iterable(source, maxsize=10)] == [0, 1, 2, 3, 4]


async def test_on_error_is_raised_after_the_items() -> None:
    source = reactivex.concat(reactivex.of(1, 2), reactivex.throw(KeyError("k")))
    got = []
    with pytest.raises(KeyError):
        async for item in to_async_iterable(source):
            got.append(item)
    assert got == [1, 2]


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError):
        to_async_iterable(reactivex.empty(), maxsize=0)


async def test_subscribing_from_another_thread_still_delivers_on_the_loop() -> None:
    loop = asyncio.get_running_loop()
    counter = Counter(3)
    observable = from_async_iterable(counter.gen, scheduler=None)
    threads: set[int] = set()
    done = loop.create_future()

    def on_next(_: int) -> None:
        threads.add(threading.get_ident())

    def subscribe_elsewhere() -> None:
        from lionrx._rx import loop_scheduler

        observable.subscribe(
            on_next,
            on_completed=lambda: loop.call_soon_threadsafe(done.set_result, None),
            scheduler=loop_scheduler(loop),
        )

    await loop.run_in_executor(None, subscribe_elsewhere)
    await done
    assert threads == {threading.get_ident()}
    assert counter.closed == 1


async def test_a_failing_factory_goes_to_on_error() -> None:
    def factory() -> AsyncIterator[int]:
        raise RuntimeError("no source")

    out = await _collect(from_async_iterable(factory))
    kind, error = out[0]  # type: ignore[misc]
    assert kind == "error" and isinstance(error, RuntimeError)
