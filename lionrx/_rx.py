"""Schedulers: lionrx runs every stream on the asyncio event loop, never on worker threads."""

from __future__ import annotations

import asyncio
import weakref

from reactivex.abc import SchedulerBase
from reactivex.scheduler.eventloop import AsyncIOScheduler

__all__ = ["loop_scheduler", "resolve_scheduler"]

_SCHEDULERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIOScheduler] = (
    weakref.WeakKeyDictionary()
)


def loop_scheduler(loop: asyncio.AbstractEventLoop | None = None) -> AsyncIOScheduler:
    """The `AsyncIOScheduler` of ``loop`` (default: the running loop), one per loop."""
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "lionrx streams run on an asyncio event loop: subscribe from inside a "
                "coroutine, or pass scheduler= explicitly"
            ) from None
    scheduler = _SCHEDULERS.get(loop)
    if scheduler is None:
        scheduler = AsyncIOScheduler(loop)
        _SCHEDULERS[loop] = scheduler
    return scheduler


def resolve_scheduler(scheduler: SchedulerBase | None) -> SchedulerBase:
    """``scheduler`` if given, else the running loop's scheduler."""
    return scheduler if scheduler is not None else loop_scheduler()
