"""Load: many concurrent streams against the chaos server with random faults. Every success is
byte-exact, every failure reports exactly the prefix it received, nothing leaks, and memory
returns to its start level. ``make soak`` runs the 1,000-stream version (marked slow)."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import tracemalloc
from typing import Any

import aiohttp
import pytest
from conftest import FIXTURES
from reliability_helpers import CANARY, Wire, base_url, other_tasks, reference, run_to_end

from lionrx.errors import APIStatusError
from lionrx.events import Completed, Failed
from lionrx.services import iModel
from lionrx.testing import ChaosServer, ErrorReply, Fault, Script

WIRES: list[Wire] = ["openai", "anthropic", "ollama"]
TEXT = "Load-tested answer: ünïcødé ✓ 🦁, " + " ".join(f"word{i}" for i in range(60))


ERRORS = json.loads((FIXTURES / "errors.json").read_text())["http_errors"]


def random_faults(rng: random.Random, n: int) -> list[Fault | ErrorReply | None]:
    pool: list[Fault | ErrorReply | None] = []
    for _ in range(n):
        pool.append(
            rng.choice(
                [
                    None,
                    None,
                    Fault.keepalive_only(rng.uniform(0, 0.2), interval=rng.uniform(0.01, 0.05)),
                    ErrorReply.from_conformance(
                        rng.choice(ERRORS), retry_after=rng.choice([None, "", "1"])
                    ),
                    Fault.drop(rng.randint(0, 12000)),
                    Fault.stall(rng.randint(0, 12000), rng.uniform(0, 0.1)),
                    Fault.garbage(rng.randint(0, 60)),
                    Fault.invalid_json(rng.randint(0, 60)),
                    Fault.invalid_utf8(rng.randint(0, 60)),
                    Fault.huge_line(rng.randint(1, 200_000), rng.randint(0, 60)),
                    Fault.splitting(rng.randint(1, 9), rng.randint(1, 90)),
                    Fault.close_before_headers(),
                    Fault.wrong_content_type(),
                    Fault.trickle(),
                ]
            )
        )
    return pool


async def one(model: iModel, wire: Wire, i: int) -> tuple[Wire, str, Any]:
    tag = f"request {i}"
    trace = await run_to_end(model.stream(tag), timeout=120)
    return wire, tag, trace.check_one_outcome()


async def run_batch(server: ChaosServer, count: int, offset: int) -> list[tuple[Wire, str, Any]]:
    """``count`` concurrent streams over one session with no connection limit (every stream
    really is in flight at once), closed at the end."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        models = {
            w: iModel(
                provider=w,
                model="m",
                base_url=base_url(server, w),
                api_key=CANARY,
                http_session=session,
                max_retries=0,
            )
            for w in WIRES
        }
        results = await asyncio.gather(
            *(one(models[WIRES[i % 3]], WIRES[i % 3], offset + i) for i in range(count))
        )
        assert len(connector._acquired) == 0  # no connection left checked out
    return list(results)


async def settle(server: ChaosServer) -> None:
    """Let closing sockets and pending callbacks finish, then collect garbage."""
    await server.wait_for(lambda: server.open_streams == 0 and server.connections == 0, 30)
    for _ in range(3):
        await asyncio.sleep(0.05)
        gc.collect()


async def run_load(n: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    server = ChaosServer(Script(text=TEXT, chunk_size=5), faults=random_faults(rng, 200), seed=seed)
    async with server:
        # Warm up (imports, caches, pools), then measure from a settled start.
        await run_batch(server, 30, 10**6)
        server.responses.clear()
        server.requests.clear()
        await settle(server)
        baseline = set(asyncio.all_tasks())
        tracemalloc.start()
        try:
            start, _ = tracemalloc.get_traced_memory()
            before = tracemalloc.take_snapshot()
            results = await run_batch(server, n, 0)
            counts = check_results(server, results)
            del results
            server.responses.clear()
            server.requests.clear()
            await settle(server)
            end, _ = tracemalloc.get_traced_memory()
            after = tracemalloc.take_snapshot()
            # No task left behind by any of the streams (the server's handlers included: every
            # connection is closed).
            assert not other_tasks(baseline), other_tasks(baseline)
        finally:
            tracemalloc.stop()
    grown = end - start
    # What lionrx itself still holds (the test kit's server aside) must be back at zero; the
    # rest is the high-water capacity of the loop's containers (task WeakSet, selector map),
    # which Python never shrinks, so it is bounded but not zero.
    kept = sum(
        stat.size_diff
        for stat in after.compare_to(before, "filename")
        if "/lionrx/" in stat.traceback[0].filename
        and "/lionrx/testing/" not in stat.traceback[0].filename
        and stat.size_diff > 0
    )
    counts["memory_growth_bytes"] = grown
    counts["lionrx_kept_bytes"] = kept
    counts.update({f"fault:{k}": v for k, v in server.fault_counts().items()})
    print(f"load x{n}:", counts)
    assert kept < 16_000, f"lionrx kept {kept} bytes after {n} streams"
    assert grown < 1_500_000, f"memory grew by {grown} bytes over {n} streams"
    return counts


def check_results(server: ChaosServer, results: list[tuple[Wire, str, Any]]) -> dict[str, int]:
    served = {}
    for resp in server.responses:
        messages = (resp.request.json or {}).get("messages") or []
        served[messages[-1]["content"]] = resp
    counts = {"completed": 0, "failed": 0}
    for wire, tag, outcome in results:
        counts["completed" if isinstance(outcome, Completed) else "failed"] += 1
        resp = served.get(tag)
        if resp is None:
            # Never reached the server: the error must say so, and nothing was received.
            assert isinstance(outcome, Failed), (tag, outcome)
            assert outcome.partial.text == ""
            print("not served:", tag, repr(outcome.error))
            counts["not_served"] = counts.get("not_served", 0) + 1
            continue
        if resp.status >= 400:
            # An HTTP error: typed, with its status, and nothing received.
            assert isinstance(outcome, Failed), (tag, outcome)
            assert isinstance(outcome.error, APIStatusError), (tag, outcome.error)
            assert outcome.error.status == resp.status
            assert outcome.partial.text == ""
            counts["http_error"] = counts.get("http_error", 0) + 1
            continue
        ctype = resp.content_type
        right_type = "ndjson" in ctype if wire == "ollama" else "event-stream" in ctype
        if resp.outcome == "closed_before_headers" or not right_type:
            assert isinstance(outcome, Failed), (tag, resp.outcome)
            assert outcome.partial.text == ""
            continue
        ref = reference(bytes(resp.body), wire)
        if ref.clean:
            assert isinstance(outcome, Completed), (tag, resp.outcome, outcome)
            assert outcome.response.text == ref.text
        else:
            assert isinstance(outcome, Failed), (tag, resp.outcome)
            # Exactly the text that arrived before the fault.
            assert outcome.partial.text == ref.text, (tag, resp.outcome, outcome.error)
        # And that text is the answer (padding and replacement characters aside).
        got = outcome.response.text if isinstance(outcome, Completed) else outcome.partial.text
        plain = got.replace("x", "").replace("\ufffd", "")
        assert TEXT.startswith(plain)
        if isinstance(outcome, Completed):
            assert plain == TEXT
    return counts


async def test_100_concurrent_streams_with_random_faults() -> None:
    counts = await run_load(100, seed=11)
    assert counts["completed"] > 0 and counts["failed"] > 0


@pytest.mark.slow
async def test_1000_concurrent_streams_with_random_faults() -> None:
    counts = await run_load(1000, seed=1000)
    assert counts["completed"] + counts["failed"] == 1000
    assert counts["completed"] > 100 and counts["failed"] > 100
