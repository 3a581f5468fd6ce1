"""Helpers for operator tests: `collect` an Observable on the running loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from reactivex import Observable

__all__ = ["Collected", "collect"]


@dataclass
class Collected:
    """Everything an Observable sent, once it ended."""

    items: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    completed: bool = False


async def collect(observable: Observable[Any], timeout: float = 10.0) -> Collected:
    """Subscribe on the running loop and wait for the end."""
    out = Collected()
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_error(error: Exception) -> None:
        out.error = error
        if not done.done():
            done.set_result(None)

    def on_completed() -> None:
        out.completed = True
        if not done.done():
            done.set_result(None)

    subscription = observable.subscribe(out.items.append, on_error, on_completed)
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        subscription.dispose()
    return out
