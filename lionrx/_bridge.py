"""Bridges between async iterators and reactivex Observables, both on the asyncio loop.

`from_async_iterable` makes a cold Observable: each subscription starts its own iteration in a
task on the loop and disposing cancels that task, which closes the iterator (and so the HTTP
connection behind it).

`to_async_iterable` turns an Observable into an async iterator that disposes the subscription
when the consumer stops (``break``, ``aclose``, cancellation). It never buffers without bound:

- an Observable made by `from_async_iterable` is *pulled* directly, item by item: real
  backpressure, no buffer at all;
- otherwise items wait in a queue of ``maxsize``. Sources produced by `from_async_iterable`
  further up an operator chain see that queue and pause while it is full (the queue travels to
  their task in its context), so a ``model.stream().pipe(...)`` chain is backpressured too;
- a source that cannot pause (a plain synchronous or timer-driven Observable) and runs more than
  ``2 * maxsize`` items ahead of the consumer (twice, as headroom for operators that emit several
  items per source item) fails the iterator with `BufferError` after the items already queued,
  and is disposed.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from reactivex import Observable
from reactivex.abc import ObserverBase, SchedulerBase
from reactivex.disposable import Disposable

from lionrx._rx import resolve_scheduler

__all__ = ["from_async_iterable", "to_async_iterable"]

T = TypeVar("T")

DEFAULT_MAXSIZE = 1024
"""Default bound of `to_async_iterable`'s queue."""


class _Gate:
    """A bounded queue shared with upstream async sources so that they can wait for space."""

    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.maxsize = maxsize
        self._space = asyncio.Event()
        self._space.set()

    @property
    def full(self) -> bool:
        return self.queue.qsize() >= self.maxsize

    async def wait_for_space(self) -> None:
        while self.full:
            self._space.clear()
            await self._space.wait()

    def taken(self) -> None:
        if not self.full:
            self._space.set()


_GATE: contextvars.ContextVar[_Gate | None] = contextvars.ContextVar("lionrx_gate", default=None)


def _loop_of(scheduler: SchedulerBase) -> asyncio.AbstractEventLoop:
    loop = getattr(scheduler, "_loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop):
        return loop
    return asyncio.get_running_loop()


class _AsyncObservable(Observable[T], Generic[T]):
    """An Observable backed by an async iterable factory (recognised by `to_async_iterable`)."""

    def __init__(
        self,
        factory: Callable[[], AsyncIterable[T]],
        scheduler: SchedulerBase | None,
    ) -> None:
        self._factory = factory
        self._scheduler = scheduler
        super().__init__(self._subscribe_async)

    def _subscribe_async(
        self, observer: ObserverBase[T], scheduler: SchedulerBase | None = None
    ) -> Disposable:
        loop = _loop_of(resolve_scheduler(self._scheduler or scheduler))
        state = {"disposed": False}
        task_box: list[asyncio.Task[None]] = []

        async def run() -> None:
            gate = _GATE.get()
            try:
                iterator = aiter(self._factory())
            except Exception as exc:
                if not state["disposed"]:
                    observer.on_error(exc)
                return
            try:
                async for item in iterator:
                    if state["disposed"]:
                        return
                    observer.on_next(item)
                    if gate is not None and gate.full and not state["disposed"]:
                        # The async consumer downstream is behind: wait instead of piling up.
                        await gate.wait_for_space()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not state["disposed"]:
                    observer.on_error(exc)
                return
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()
            if not state["disposed"]:
                observer.on_completed()

        def start() -> None:
            if not state["disposed"]:
                task_box.append(loop.create_task(run()))

        def in_loop_thread() -> bool:
            try:
                return asyncio.get_running_loop() is loop
            except RuntimeError:
                return False

        if in_loop_thread():
            start()
        else:
            loop.call_soon_threadsafe(start)

        def dispose() -> None:
            if state["disposed"]:
                return
            state["disposed"] = True

            def cancel() -> None:
                for task in task_box:
                    task.cancel()

            if in_loop_thread():
                cancel()
            else:
                loop.call_soon_threadsafe(cancel)

        return Disposable(dispose)

    def __aiter__(self) -> AsyncIterator[T]:
        return aiter(self._factory())


def from_async_iterable(
    source: AsyncIterable[T] | Callable[[], AsyncIterable[T]],
    *,
    scheduler: SchedulerBase | None = None,
) -> Observable[T]:
    """A cold Observable of what ``source`` yields, delivered on the asyncio loop.

    ``source`` is a factory (called once per subscription: truly cold) or an async iterable
    (an async *iterator* can only be consumed once: subscribe to it once). Errors raised by the
    iterator go to ``on_error``; disposing the subscription cancels the iteration and closes the
    iterator.
    """
    factory: Callable[[], AsyncIterable[T]]
    if callable(source) and not hasattr(source, "__aiter__"):
        factory = source
    else:
        iterable = source

        def factory() -> AsyncIterable[T]:
            return iterable

    return _AsyncObservable(factory, scheduler)


async def _pull(observable: _AsyncObservable[T]) -> AsyncIterator[T]:
    iterator = aiter(observable._factory())
    try:
        async for item in iterator:
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def _queued(
    observable: Observable[T], maxsize: int, scheduler: SchedulerBase | None
) -> AsyncIterator[T]:
    gate = _Gate(maxsize)
    queue = gate.queue
    overflowed = False

    def on_next(item: T) -> None:
        nonlocal overflowed
        if overflowed:
            return
        if queue.qsize() >= 2 * maxsize:
            # Upstream cannot pause and the consumer is far behind: fail rather than grow.
            overflowed = True
            queue.put_nowait(("overflow", None))
            return
        queue.put_nowait(("next", item))

    def on_error(error: Exception) -> None:
        queue.put_nowait(("error", error))

    def on_completed() -> None:
        queue.put_nowait(("completed", None))

    token = _GATE.set(gate)
    try:
        subscription = observable.subscribe(
            on_next, on_error, on_completed, scheduler=resolve_scheduler(scheduler)
        )
    finally:
        _GATE.reset(token)
    try:
        while True:
            kind, value = await queue.get()
            gate.taken()
            if kind == "next":
                yield value
            elif kind == "completed":
                return
            elif kind == "error":
                raise value
            else:
                subscription.dispose()
                raise BufferError(
                    f"to_async_iterable: the source produced more than {maxsize} items ahead of "
                    "the consumer and cannot be paused; raise maxsize or consume faster"
                )
    finally:
        subscription.dispose()


def to_async_iterable(
    observable: Observable[T],
    *,
    maxsize: int = DEFAULT_MAXSIZE,
    scheduler: SchedulerBase | None = None,
) -> AsyncIterator[T]:
    """Iterate an Observable with ``async for``; stopping disposes the subscription.

    ``on_error`` is raised from the iterator after the items before it. Buffering is bounded:
    see the module docstring for the policy (direct pull, pausing async sources at ``maxsize``,
    `BufferError` for a source that cannot pause and runs ``2 * maxsize`` items ahead).
    """
    if maxsize < 1:
        raise ValueError("maxsize must be at least 1")
    if isinstance(observable, _AsyncObservable):
        return _pull(observable)
    return _queued(observable, maxsize, scheduler)
