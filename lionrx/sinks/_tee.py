"""`tee`: several sinks on one stream, sharing one subscription (one HTTP request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactivex import Observable
from reactivex import operators as ops

from lionrx.sinks._handle import SinkHandle

__all__ = ["tee"]

SinkFactory = Callable[[Observable[Any]], SinkHandle]


def tee(observable: Observable[Any], *sinks: SinkFactory) -> tuple[SinkHandle, ...]:
    """Subscribe every sink to ONE subscription of ``observable`` and return their handles.

    ``sinks`` are one-argument callables taking the shared observable, e.g. ``console()`` and
    ``file("out.jsonl", format="jsonl")`` called without a stream, or any
    ``lambda obs: SinkHandle(obs, MySink())``. The source is connected only after every sink
    is subscribed (``publish`` + ``connect``), so even a synchronous source reaches all of them,
    and a cold HTTP stream makes exactly one request. The shared subscription is disposed when
    every handle is done (completed, failed or disposed).

    ``reactivex.operators.share()`` works too when all sinks subscribe in the same loop turn;
    ``tee`` removes that caveat.
    """
    if not sinks:
        raise ValueError("tee() needs at least one sink")
    published = observable.pipe(ops.publish())
    handles = tuple(make(published) for make in sinks)
    connection = published.connect()
    remaining = len(handles)

    def one_done(_: SinkHandle) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0 and connection is not None:
            connection.dispose()

    for handle in handles:
        handle.add_done_callback(one_done)
    return handles
