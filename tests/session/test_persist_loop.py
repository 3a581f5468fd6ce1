"""Persisting a streamed answer does not hold up the event loop: a ticker keeps its pace while a
long answer streams into a SQLite session over a real socket, written every 50 ms."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from lionrx import Session, to_async_iterable
from lionrx.services import iModel
from lionrx.session import AssistantResponseContent
from lionrx.testing import FakeProviderServer, Script


async def test_persisting_while_streaming_keeps_the_loop_responsive(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    story = " ".join(f"word{i}" for i in range(1500))
    gaps: list[float] = []
    running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with FakeProviderServer(Script(text=story, delay=0.001)) as server:
        model = iModel(provider="openai", model="m", base_url=server.openai_base_url, api_key="k")
        session = Session.open(db)
        session.services.register(model)
        update = session.update_message
        writes = 0

        def counted(message: Any) -> Any:
            nonlocal writes
            writes += 1
            return update(message)

        session.update_message = counted  # type: ignore[method-assign]
        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        async for _ in to_async_iterable(
            session.stream(None, "Tell me a long story", persist_interval=0.05)
        ):
            pass
        elapsed = time.perf_counter() - started
        running = False
        await tick
        session.close()
        await model.aclose()

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    with Session.open(db) as again:
        answer = again.messages[again.default_branch.order[1]].content
        assert isinstance(answer, AssistantResponseContent)
        assert answer.status == "complete" and answer.assistant_response == story
    # The stream took a while (≥ 1500 chunks at 1 ms), with a partial write every 50 ms; the
    # ticker (2 ms sleeps) kept going: no stall near a frame's length.
    assert elapsed > 1.0
    assert elapsed / 0.05 / 2 <= writes <= elapsed / 0.05 + 3
    assert len(gaps) >= elapsed / 0.02
    print(f"\n{writes} partial writes, max loop gap {max(gaps) * 1000:.1f} ms in {elapsed:.2f}s")
    assert max(gaps) < 0.1, f"the loop stalled for {max(gaps):.3f}s"
