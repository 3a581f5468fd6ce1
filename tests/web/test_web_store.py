"""MemoryResumeStore: ids, replay after an id, following live appends, bounds and expiry."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrx.web import MemoryResumeStore, ResumeUnavailable, StoredEvent


async def collect(
    store: MemoryResumeStore, key: str, after: str | None = None
) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    async for batch in store.read(key, after):
        assert batch, "batches are never empty"
        out += batch
    return out


async def test_replay_after_any_id_gives_exactly_the_rest() -> None:
    store = MemoryResumeStore()
    await store.create("k")
    pairs = [("text", f'{{"text":"{i}"}}') for i in range(10)]
    last = await store.append("k", pairs[:4])
    assert last == "4"
    await store.append("k", pairs[4:])
    await store.end("k")
    full = await collect(store, "k")
    assert [(e.event, e.data) for e in full] == pairs
    for i, event in enumerate(full):
        assert await collect(store, "k", event.id) == full[i + 1 :]


async def test_reader_follows_live_appends_until_end() -> None:
    store = MemoryResumeStore()
    await store.create("k")
    readers = [asyncio.create_task(collect(store, "k")) for _ in range(3)]
    await asyncio.sleep(0)
    for i in range(5):
        await store.append("k", [("text", str(i))])
        await asyncio.sleep(0)
    await store.end("k")
    for result in await asyncio.gather(*readers):
        assert [e.data for e in result] == [str(i) for i in range(5)]


async def test_cancelling_one_reader_does_not_disturb_the_others() -> None:
    store = MemoryResumeStore()
    await store.create("k")
    a = asyncio.create_task(collect(store, "k"))
    b = asyncio.create_task(collect(store, "k"))
    await asyncio.sleep(0.01)
    a.cancel()
    await asyncio.sleep(0)
    await store.append("k", [("text", "x")])
    await store.end("k")
    assert [e.data for e in await b] == ["x"]
    with pytest.raises(asyncio.CancelledError):
        await a


async def test_bounded_log_refuses_a_resume_that_would_lose_events() -> None:
    store = MemoryResumeStore(max_events=8)
    await store.create("k")
    await store.append("k", [("text", str(i)) for i in range(20)])
    await store.end("k")
    assert await collect(store, "k", "20") == []
    with pytest.raises(ResumeUnavailable, match="dropped"):
        await collect(store, "k", "2")
    tail = await collect(store, "k", "16")
    assert [e.data for e in tail] == ["16", "17", "18", "19"]


async def test_byte_bound() -> None:
    store = MemoryResumeStore(max_bytes=100)
    await store.create("k")
    for _ in range(50):
        await store.append("k", [("text", "x" * 10)])
    with pytest.raises(ResumeUnavailable):
        await collect(store, "k")
    await store.end("k")
    assert [e.id for e in await collect(store, "k", "45")] == ["46", "47", "48", "49", "50"]


async def test_unknown_key_and_bad_ids() -> None:
    store = MemoryResumeStore()
    with pytest.raises(ResumeUnavailable, match="not kept"):
        await collect(store, "nope")
    await store.create("k")
    await store.append("k", [("text", "a")])
    with pytest.raises(ResumeUnavailable):
        await collect(store, "k", "abc")
    with pytest.raises(ResumeUnavailable, match="ahead"):
        await collect(store, "k", "7")
    with pytest.raises(ValueError):
        await store.create("k")


async def test_retention_and_stream_limit() -> None:
    store = MemoryResumeStore(retention=0.0, max_streams=2)
    await store.create("a")
    await store.end("a")
    await asyncio.sleep(0.01)
    assert not await store.exists("a")
    await store.create("b")
    await store.create("c")
    await store.create("d")  # both live: the oldest goes
    assert not await store.exists("b")
    assert await store.exists("c") and await store.exists("d")


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=12),
    cut=st.integers(min_value=0, max_value=60),
)
async def test_resume_is_exact_for_any_batching(sizes: list[int], cut: int) -> None:
    store = MemoryResumeStore()
    await store.create("k")
    n = 0
    for size in sizes:
        await store.append("k", [("text", str(n + i)) for i in range(size)])
        n += size
    await store.end("k")
    cut = min(cut, n)
    first = (await collect(store, "k"))[:cut]
    after = first[-1].id if first else None
    rest = await collect(store, "k", after)
    assert [e.data for e in first + rest] == [str(i) for i in range(n)]
