"""lionrx benchmarks (``make bench``): lionrx side by side with the wire, the parse floor and the
official SDKs, in one run, against a local pre-encoded provider server in its own process.

Sections: client throughput (µs per chunk and ratios), operator scaling (1 char per chunk,
0.5 MB vs 1 MB), concurrency (1 / 100 / 1,000 streams on one loop), first-event latency (lionrx
vs raw aiohttp). Prints a table and the targets met or missed; writes
``benchmarks/results/latest.json`` and ``docs/benchmarks.md``.

``--quick`` shrinks every size (a smoke run); ``--only SECTION`` runs one section.
Benchmarks never gate CI: absolute times depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

RESULTS = HERE / "results" / "latest.json"
OPERATOR_BUDGET_S = 6.0  # per measurement; a superlinear operator stops doubling before it
DOCS_PAGE = ROOT / "docs" / "benchmarks.md"


# --------------------------------------------------------------------------- the server process


PROFILE_NOTES = """## Profile notes (pyinstrument, 2026-11-24)

- Measured as CPU time of the client process, best of several interleaved runs: the bench
  machine is shared, and wall time then measures the neighbours as much as lionrx.
- `invoke_stream` per chunk: JSON parse (orjson) ~0.6 µs, SSE decoding ~0.5 µs, the provider's
  mapping ~1 µs, the event object ~1 µs, the async-generator hops and `ResponseBuilder` the rest.
  Events were built with pydantic's `model_construct` (1.8 µs, slower than validating); the
  events' own `model_construct` (same result, no generic machinery) took `invoke_stream` from
  1.5× to 1.2× the parse floor.
- `markdown_blocks` and the console's live markdown renderer were quadratic when a block never
  ends (one endless paragraph): `MarkdownBlockSplitter.pending` joined the whole open block for
  every chunk (101 µs/char and 3.9× for 2× input at 64 KB; 88% of the console's time). Now the
  tail is kept as pieces joined only when read (`PendingText`), each `MarkdownUpdate` carries
  the `appended` piece, and the console fetches only the visible end of the tail when a redraw
  is due: about 1.5 µs/char, 2.0-2.1× for 2× input at 0.5 → 1 MB.
"""


class Server:
    """The pre-encoded provider server, run in a child process (``benchmarks/server.py``)."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def __aenter__(self) -> Server:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "server.py"),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        self.port = int(line)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def spec(n: int, mode: str = "bulk", **extra: Any) -> str:
    """The ``model`` string that tells the server what to stream."""
    return ";".join([f"n={n}", f"mode={mode}", *(f"{k}={v}" for k, v in extra.items())])


MESSAGES = [{"role": "user", "content": "Benchmark, please."}]


# --------------------------------------------------------------------------- clients


async def raw_wire(session: aiohttp.ClientSession, url: str, model: str) -> int:
    """The wire floor: read chunks and count ``data:`` lines, nothing else."""
    count = 0
    carry = b""
    async with session.post(url, json={"model": model, "stream": True}) as response:
        async for chunk in response.content.iter_any():
            block = carry + chunk
            count += block.count(b"data:")
            carry = block[-4:]
            count -= carry.count(b"data:")  # counted again with the next block
    return count + carry.count(b"data:")


def _openai_delta(obj: Any) -> str | None:
    choices = obj.get("choices")
    if choices:
        return choices[0].get("delta", {}).get("content")  # type: ignore[no-any-return]
    return None


def _anthropic_delta(obj: Any) -> str | None:
    if obj.get("type") == "content_block_delta":
        delta = obj.get("delta", {})
        if delta.get("type") == "text_delta":
            return delta.get("text")  # type: ignore[no-any-return]
    return None


async def raw_parse(
    session: aiohttp.ClientSession,
    url: str,
    model: str,
    extract: Callable[[Any], str | None],
    on_text: Callable[[str], None] | None = None,
) -> int:
    """The parse floor: split lines, ``json.loads`` each data line, pull out the text delta."""
    loads = json.loads
    count = 0
    pending = b""
    body = {"model": model, "stream": True, "max_tokens": 10, "messages": MESSAGES}
    async with session.post(url, json=body) as response:
        async for chunk in response.content.iter_any():
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    text = extract(loads(line[6:]))
                    if text:
                        count += 1
                        if on_text is not None:
                            on_text(text)
    return count


@dataclass
class Row:
    """One measured client: best wall time and best CPU time of this process over the reps."""

    name: str
    shape: str
    chunks: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    note: str = ""
    available: bool = True

    @property
    def us_per_chunk(self) -> float:
        """CPU µs per chunk in the client process: the client's own cost, robust to other load
        on the machine (the server runs in another process)."""
        return self.cpu_seconds / self.chunks * 1e6 if self.chunks else float("nan")

    @property
    def chunks_per_s(self) -> float:
        """Wall-clock chunks per second (what a user sees)."""
        return self.chunks / self.seconds if self.seconds else float("nan")


@dataclass
class Client:
    row: Row
    run: Callable[[], Awaitable[int]]
    reps: int
    close: Callable[[], Awaitable[None]] | None = None


async def measure_interleaved(clients: list[Client]) -> None:
    """Warm every client up, then time them round-robin (so a burst of load elsewhere on the
    machine hits every client alike), keeping each one's best wall and CPU time."""
    live = []
    for client in clients:
        try:
            await client.run()
            live.append(client)
        except Exception as exc:  # noqa: BLE001 - a broken client is reported, not a crash
            client.row.available = False
            client.row.note = f"{type(exc).__name__}: {exc}"[:120]
    for client in live:
        client.row.seconds = client.row.cpu_seconds = float("inf")
    for rep in range(max((c.reps for c in live), default=0)):
        for client in live:
            if rep >= client.reps or not client.row.available:
                continue
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                chunks = await client.run()
            except Exception as exc:  # noqa: BLE001
                client.row.available = False
                client.row.note = f"{type(exc).__name__}: {exc}"[:120]
                continue
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            row = client.row
            if not row.note or row.name.startswith("lionrx stream()"):
                row.chunks = row.chunks or chunks
            row.seconds = min(row.seconds, wall)
            row.cpu_seconds = min(row.cpu_seconds, cpu)
    for client in clients:
        if client.close is not None:
            await client.close()


def lionrx_parts() -> dict[str, Any]:
    """What of lionrx exists right now (others are still writing parts of it)."""
    parts: dict[str, Any] = {}
    try:
        from lionrx.services import iModel

        parts["iModel"] = iModel
    except Exception as exc:  # noqa: BLE001 - a missing part is reported, not a crash
        parts["iModel_error"] = f"{type(exc).__name__}: {exc}"
    for name in ("sentence_chunk", "progress_tap", "buffer", "markdown_blocks"):
        try:
            import lionrx.operators as ops

            parts[name] = getattr(ops, name)
        except Exception:  # noqa: BLE001, S112
            try:
                module = __import__(f"lionrx.operators._{name}", fromlist=[name])
                parts[name] = getattr(module, name)
            except Exception:  # noqa: BLE001, S112
                continue
    try:
        from lionrx.sinks import console

        parts["console"] = console
    except Exception as exc:  # noqa: BLE001
        parts["sinks_error"] = f"{type(exc).__name__}: {exc}"
    return parts


async def throughput(server: Server, n: int, reps: int, parts: dict[str, Any]) -> list[Row]:
    urls = {
        "openai": f"{server.url}/v1/chat/completions",
        "anthropic": f"{server.url}/v1/messages",
    }
    extract = {"openai": _openai_delta, "anthropic": _anthropic_delta}
    model = spec(n)
    clients: list[Client] = []
    session = aiohttp.ClientSession()

    async def close_session() -> None:
        await session.close()

    for shape in ("openai", "anthropic"):
        clients.append(
            Client(
                Row("raw aiohttp: count data: lines (wire floor)", shape),
                lambda u=urls[shape]: raw_wire(session, u, model),
                reps,
            )
        )
    for shape in ("openai", "anthropic"):
        clients.append(
            Client(
                Row("raw aiohttp + json.loads + delta (parse floor)", shape),
                lambda u=urls[shape], e=extract[shape]: raw_parse(session, u, model, e),
                reps,
            )
        )
    clients[-1].close = close_session

    # The official SDKs, as users would call them (slow: fewer repetitions).
    sdk_reps = max(1, reps // 2)
    try:
        import openai

        oclient = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="bench", max_retries=0)

        async def run_openai() -> int:
            count = 0
            stream = await oclient.chat.completions.create(
                model=model, messages=MESSAGES, stream=True
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    count += 1
            return count

        clients.append(
            Client(Row("openai SDK (stream=True)", "openai"), run_openai, sdk_reps, oclient.close)
        )
    except ImportError:
        clients.append(
            Client(Row("openai SDK", "openai", available=False, note="not installed"), _zero, 0)
        )
    try:
        import anthropic

        aclient = anthropic.AsyncAnthropic(base_url=server.url, api_key="bench", max_retries=0)

        async def run_anthropic() -> int:
            count = 0
            async with aclient.messages.stream(
                model=model, max_tokens=10, messages=MESSAGES
            ) as stream:
                async for _text in stream.text_stream:
                    count += 1
            return count

        clients.append(
            Client(
                Row("anthropic SDK (messages.stream().text_stream)", "anthropic"),
                run_anthropic,
                sdk_reps,
                aclient.close,
            )
        )
    except ImportError:
        clients.append(
            Client(
                Row("anthropic SDK", "anthropic", available=False, note="not installed"), _zero, 0
            )
        )

    iModel = parts.get("iModel")
    for shape, base in (("openai", "/v1"), ("anthropic", "")):
        row = Row("lionrx invoke_stream", shape)
        if iModel is None:
            row.available, row.note = False, parts.get("iModel_error", "not available")
            clients.append(Client(row, _zero, 0))
            continue
        imodel = iModel(shape, model=model, base_url=server.url + base, api_key="bench")

        async def run_invoke(m: Any = imodel) -> int:
            count = 0
            async for _text in m.invoke_stream(MESSAGES):
                count += 1
            return count

        clients.append(Client(row, run_invoke, reps, imodel.aclose))

    needed = ("iModel", "sentence_chunk", "progress_tap", "console")
    for shape, base in (("openai", "/v1"), ("anthropic", "")):
        row = Row("lionrx stream() → sentence_chunk → progress_tap → console sink", shape)
        missing = [p for p in needed if p not in parts]
        if missing:
            row.available, row.note = False, f"not available: {missing}"
            clients.append(Client(row, _zero, 0))
            continue
        imodel = parts["iModel"](shape, model=model, base_url=server.url + base, api_key="bench")

        async def run_pipeline(m: Any = imodel, row_: Row = row) -> int:
            reports: list[Any] = []
            observable = m.stream(MESSAGES).pipe(
                parts["sentence_chunk"](), parts["progress_tap"](reports.append, every=100)
            )
            handle = parts["console"](observable, stream=io.StringIO(), live=False)
            response = await handle
            # Counted in the provider's text chunks (the unit of every other row).
            row_.note = f"{response.chunks} chunks in, {reports[-1].chunks} sentences out"
            return int(response.chunks)

        clients.append(Client(row, run_pipeline, reps, imodel.aclose))

    await measure_interleaved(clients)
    return [c.row for c in clients]


async def _zero() -> int:
    return 0


# --------------------------------------------------------------------------- operator scaling


def _texts(size: int) -> dict[str, str]:
    # "boundaries": sentences, and a paragraph break (a markdown block end) every 4 of them;
    # "no boundaries": one endless sentence in one endless paragraph (the worst case).
    sentence = "The quick brown fox jumps over the lazy dog. " * 3 + "It ends here.\n\n"
    no_ends = "the quick brown fox jumps over the lazy dog and "
    return {
        "boundaries": (sentence * (size // len(sentence) + 1))[:size],
        "no boundaries": (no_ends * (size // len(no_ends) + 1))[:size],
    }


async def operator_scaling(parts: dict[str, Any], base: int) -> list[dict[str, Any]]:
    import reactivex

    cases: list[tuple[str, Callable[[], Any] | None, str]] = [
        (
            "sentence_chunk",
            (lambda: parts["sentence_chunk"]()) if "sentence_chunk" in parts else None,
            "",
        ),
        (
            "buffer(count=16)",
            (lambda: parts["buffer"](count=16)) if "buffer" in parts else None,
            "",
        ),
        (
            "markdown_blocks",
            (lambda: parts["markdown_blocks"]()) if "markdown_blocks" in parts else None,
            "",
        ),
    ]
    results: list[dict[str, Any]] = []

    # CPU time of this process, best of two when short: the machine is shared, and wall time
    # then measures the neighbours as much as the operator.
    def run_operator(make: Callable[[], Any], text: str) -> float:
        best = float("inf")
        for _ in range(2):
            out: list[Any] = []
            source = reactivex.from_iterable(text)  # one character per chunk
            gc.collect()
            start = time.process_time()
            source.pipe(make()).subscribe(out.append)
            best = min(best, time.process_time() - start)
            assert _joined(out) == text, "the operator lost or changed text"
            if best > 1.0:
                break
        return best

    async def run_console(text: str) -> float:
        best = float("inf")
        for _ in range(2):
            stream = _FakeTerminal()
            source = reactivex.from_iterable(text)
            gc.collect()
            start = time.process_time()
            handle = parts["console"](source, stream=stream, live=True, mode="markdown", rich=False)
            await handle.wait()
            best = min(best, time.process_time() - start)
            if best > 1.0:
                break
        return best

    async def scale(measure: Callable[[str], Awaitable[float]], variant: str) -> dict[str, Any]:
        """Time the input doubling from base/16 up to 2×base; stop early when the next size is
        projected past the budget (a superlinear operator), and report the last doubling."""
        sizes = [base // 16, base // 8, base // 4, base // 2, base, 2 * base]
        timings: list[tuple[int, float]] = []
        for size in sizes:
            if len(timings) >= 2:
                (_, t0), (_, t1) = timings[-2], timings[-1]
                projected = t1 * max(2.0, t1 / max(t0, 1e-9))
                if projected > OPERATOR_BUDGET_S:
                    break
            timings.append((size, await measure(_texts(size)[variant])))
        (small_n, small), (large_n, large) = timings[-2], timings[-1]
        row: dict[str, Any] = {
            "small_chars": small_n,
            "large_chars": large_n,
            "small_s": small,
            "large_s": large,
            "ratio": large / small,
            "us_per_char": large / large_n * 1e6,
        }
        if large_n < 2 * base:
            row["note"] = (
                f"stopped at {large_n // 1024} KB: the next doubling was projected past "
                f"{OPERATOR_BUDGET_S:.0f} s"
            )
        return row

    async def as_async(make: Callable[[], Any], text: str) -> float:
        return run_operator(make, text)

    for name, make, _ in cases:
        for variant in ("boundaries", "no boundaries"):
            row: dict[str, Any] = {"operator": name, "input": variant}
            if make is None:
                row["note"] = "not available"
                results.append(row)
                continue
            try:
                row.update(await scale(lambda t, m=make: as_async(m, t), variant))
            except Exception as exc:  # noqa: BLE001
                row["note"] = f"{type(exc).__name__}: {exc}"
            results.append(row)
    for variant in ("boundaries", "no boundaries"):
        row = {"operator": "console live renderer (markdown)", "input": variant}
        if "console" not in parts:
            row["note"] = "not available"
        else:
            try:
                row.update(await scale(run_console, variant))
            except Exception as exc:  # noqa: BLE001
                row["note"] = f"{type(exc).__name__}: {exc}"
        results.append(row)
    return results


def _joined(items: list[Any]) -> str:
    """The text an operator's output stands for (str chunks, or markdown updates)."""
    if items and hasattr(items[0], "committed"):
        text = "".join(block.text for update in items for block in update.committed)
        return text + items[-1].pending
    return "".join(items)


class _FakeTerminal(io.StringIO):
    """A StringIO that says it is a terminal, so the console sink renders live."""

    def isatty(self) -> bool:
        return True


# --------------------------------------------------------------------------- concurrency


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def concurrency(
    server: Server, parts: dict[str, Any], plan: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    iModel = parts.get("iModel")
    if iModel is None:
        return [{"streams": s, "note": "lionrx iModel not available"} for s, _ in plan]
    from server import words  # the server's exact text, to check every byte arrived

    out: list[dict[str, Any]] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for streams, n in plan:
            model = spec(n, "trickle", group=8)
            expected = "".join(words(n))
            imodel = iModel(
                "openai",
                model=model,
                base_url=f"{server.url}/v1",
                api_key="b",
                http_session=session,
            )

            async def one(m: Any = imodel) -> str:
                parts_: list[str] = []
                async for text in m.invoke_stream(MESSAGES):
                    parts_.append(text)
                return "".join(parts_)

            await one()  # warm-up (connection)
            gc.collect()
            baseline = _rss()
            peak = baseline
            stop = asyncio.Event()

            async def sample(stop: asyncio.Event = stop) -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, _rss())
                    await asyncio.sleep(0.005)

            sampler = asyncio.create_task(sample())
            # One stream is short: time it several times and keep the median.
            times: list[float] = []
            cpu_times: list[float] = []
            texts: list[str] = []
            for _ in range((15 if n <= 1000 else 3) if streams == 1 else 1):
                start, cpu = time.perf_counter(), time.process_time()
                texts = list(await asyncio.gather(*(one() for _ in range(streams))))
                times.append(time.perf_counter() - start)
                cpu_times.append(time.process_time() - cpu)
            elapsed = statistics.median(times)
            cpu_elapsed = statistics.median(cpu_times)
            stop.set()
            await sampler
            complete = sum(t == expected for t in texts)
            out.append(
                {
                    "streams": streams,
                    "chunks_per_stream": n,
                    "all_bytes_delivered": complete == streams,
                    "complete_streams": complete,
                    "seconds": elapsed,
                    "aggregate_chunks_per_s": streams * n / elapsed,
                    "cpu_seconds": cpu_elapsed,
                    "cpu_chunks_per_s": streams * n / cpu_elapsed,
                    "peak_rss_per_stream_kb": max(0, peak - baseline) / streams / 1024,
                }
            )
    return out


# --------------------------------------------------------------------------- latency


async def latency(server: Server, parts: dict[str, Any], samples: int) -> dict[str, Any]:
    """Server flush of the first text event → the subscriber's receipt, in milliseconds."""
    url = f"{server.url}/v1/chat/completions"
    result: dict[str, Any] = {}

    async def timings(session: aiohttp.ClientSession) -> dict[str, float]:
        async with session.get(f"{server.url}/timings") as response:
            return dict(await response.json())

    async with aiohttp.ClientSession() as session:
        received: dict[str, float] = {}

        async def raw(i: int) -> None:
            key = f"raw-{i}"
            first = True

            def on_text(_text: str) -> None:
                nonlocal first
                if first:
                    received[key] = time.perf_counter()
                    first = False

            await raw_parse(session, url, spec(20, "latency", id=key), _openai_delta, on_text)

        iModel = parts.get("iModel")
        imodel = (
            iModel(
                "openai", model="x", base_url=f"{server.url}/v1", api_key="b", http_session=session
            )
            if iModel is not None
            else None
        )

        async def lionrx_(i: int) -> None:
            key = f"lionrx-{i}"
            assert imodel is not None
            first = True
            async for _text in imodel.invoke_stream(MESSAGES, model=spec(20, "latency", id=key)):
                if first:
                    received[key] = time.perf_counter()
                    first = False

        clients: list[tuple[str, Callable[[int], Awaitable[None]]]] = [("raw aiohttp", raw)]
        if imodel is not None:
            clients.append(("lionrx invoke_stream", lionrx_))
        for i in range(-5, samples):  # interleaved, first five are warm-up
            for _name, run in clients:
                await run(i)
        flushed = await timings(session)
        for name, _run in clients:
            prefix = "raw" if name == "raw aiohttp" else "lionrx"
            values = sorted(
                (received[k] - flushed[k]) * 1000
                for k in received
                if k.startswith(prefix + "-") and not k.startswith(prefix + "--") and k in flushed
            )
            if values:
                result[name] = {
                    "median_ms": statistics.median(values),
                    "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                    "samples": len(values),
                }
        if imodel is None:
            result["lionrx invoke_stream"] = {"note": "not available"}
    return result


# --------------------------------------------------------------------------- report


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    operators: list[dict[str, Any]] = field(default_factory=list)
    concurrency: list[dict[str, Any]] = field(default_factory=list)
    latency: dict[str, Any] = field(default_factory=dict)
    targets: list[tuple[str, bool | None, str]] = field(default_factory=list)

    def row(self, prefix: str, shape: str) -> Row | None:
        for row in self.rows:
            if row.name.startswith(prefix) and row.shape == shape and row.available:
                return row
        return None


def evaluate(report: Report) -> None:
    t = report.targets
    for shape in ("openai", "anthropic"):
        floor = report.row("raw aiohttp + json.loads", shape)
        invoke = report.row("lionrx invoke_stream", shape)
        pipe = report.row("lionrx stream()", shape)
        if floor and invoke:
            ratio = invoke.us_per_chunk / floor.us_per_chunk
            t.append((f"{shape}: invoke_stream ≤ 1.3× parse floor", ratio <= 1.3, f"{ratio:.2f}×"))
        else:
            t.append((f"{shape}: invoke_stream ≤ 1.3× parse floor", None, "not measured"))
        if floor and pipe:
            ratio = pipe.us_per_chunk / floor.us_per_chunk
            t.append(
                (
                    f"{shape}: stream() + 3 operators/sink ≤ 2.5× parse floor",
                    ratio <= 2.5,
                    f"{ratio:.2f}×",
                )
            )
        else:
            t.append(
                (f"{shape}: stream() + 3 operators/sink ≤ 2.5× parse floor", None, "not measured")
            )
    sdk = report.row("openai SDK", "openai")
    invoke = report.row("lionrx invoke_stream", "openai")
    if sdk and invoke:
        ratio = sdk.us_per_chunk / invoke.us_per_chunk
        t.append(
            ("openai: invoke_stream ≈ 8× the openai SDK (chunk cost)", ratio >= 8, f"{ratio:.1f}×")
        )
    for op in report.operators:
        if "ratio" in op:
            t.append(
                (
                    f"linear: {op['operator']} ({op['input']}) 2× input ≤ 2.3× time",
                    op["ratio"] <= 2.3,
                    f"{op['ratio']:.2f}×",
                )
            )
    same = next((c for c in report.concurrency if c.get("streams") == 1 and "seconds" in c), None)
    long = next((c for c in report.concurrency if c.get("streams") == 1 and c is not same), None)
    for c in report.concurrency:
        if c.get("streams") == 1000 and same and "seconds" in c:
            # Client CPU time (the machine is shared); wall-clock ratio shown beside it.
            ratio = c["cpu_chunks_per_s"] / same["cpu_chunks_per_s"]
            wall = c["aggregate_chunks_per_s"] / same["aggregate_chunks_per_s"]
            ok = c["all_bytes_delivered"] and ratio >= 0.7
            detail = (
                f"CPU {ratio:.2f}× (wall {wall:.2f}×) one {same['chunks_per_stream']}-chunk stream"
            )
            if long and "seconds" in long:
                detail += (
                    f"; CPU {c['cpu_chunks_per_s'] / long['cpu_chunks_per_s']:.2f}× one "
                    f"{long['chunks_per_stream']}-chunk stream"
                )
            t.append(
                (
                    "1,000 streams: all bytes, ≥ 0.7× one stream's chunks/s",
                    ok,
                    f"{detail}; complete {c['complete_streams']}/1000",
                )
            )
    raw = report.latency.get("raw aiohttp", {})
    lx = report.latency.get("lionrx invoke_stream", {})
    if "median_ms" in raw and "median_ms" in lx:
        added = lx["median_ms"] - raw["median_ms"]
        t.append(("first event: median added latency < 0.5 ms", added < 0.5, f"{added:+.3f} ms"))


def render(report: Report, meta: dict[str, Any]) -> str:
    lines: list[str] = []
    lines.append(f"lionrx benchmarks — {meta['date']} — {meta['machine']}")
    lines.append("")
    lines.append(
        "| client | shape | chunks | chunks/s (wall) | µs/chunk (CPU) | × parse floor "
        "| × wire floor | note |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---:|---|")
    for row in report.rows:
        if not row.available:
            lines.append(
                f"| {row.name} | {row.shape} | — | not available | — | — | — | {row.note} |"
            )
            continue
        floor = report.row("raw aiohttp + json.loads", row.shape)
        wire = report.row("raw aiohttp: count", row.shape)
        pf = row.us_per_chunk / floor.us_per_chunk if floor else float("nan")
        wf = row.us_per_chunk / wire.us_per_chunk if wire else float("nan")
        lines.append(
            f"| {row.name} | {row.shape} | {row.chunks} | {row.chunks_per_s:,.0f} | "
            f"{row.us_per_chunk:.2f} | {pf:.2f} | {wf:.2f} | {row.note} |"
        )
    lines.append("")
    lines.append(
        "| operator (1 char/chunk) | input | sizes | CPU s | CPU s at 2× | ratio | µs/char | note |"
    )
    lines.append("|---|---|---|---:|---:|---:|---:|---|")
    for op in report.operators:
        if "ratio" in op:
            lines.append(
                f"| {op['operator']} | {op['input']} | {op['small_chars'] // 1024} KB → "
                f"{op['large_chars'] // 1024} KB | {op['small_s']:.3f} | {op['large_s']:.3f} | "
                f"{op['ratio']:.2f} | {op['us_per_char']:.2f} | {op.get('note', '')} |"
            )
        else:
            lines.append(
                f"| {op['operator']} | {op['input']} | — | — | — | — | — | {op.get('note', '')} |"
            )
    lines.append("")
    lines.append(
        "| streams | chunks each | all bytes | seconds | aggregate chunks/s (wall) "
        "| chunks/s of client CPU | peak RSS/stream |"
    )
    lines.append("|---:|---:|---|---:|---:|---:|---:|")
    for c in report.concurrency:
        if "seconds" in c:
            lines.append(
                f"| {c['streams']} | {c['chunks_per_stream']} | {c['all_bytes_delivered']} | "
                f"{c['seconds']:.2f} | {c['aggregate_chunks_per_s']:,.0f} | "
                f"{c['cpu_chunks_per_s']:,.0f} | "
                f"{c['peak_rss_per_stream_kb']:.1f} KB |"
            )
        else:
            lines.append(f"| {c['streams']} | — | — | — | — | — | {c.get('note', '')} |")
    lines.append("")
    lines.append("| first text event: flush → receipt | median ms | p99 ms | samples |")
    lines.append("|---|---:|---:|---:|")
    for name, value in report.latency.items():
        if "median_ms" in value:
            lines.append(
                f"| {name} | {value['median_ms']:.3f} | {value['p99_ms']:.3f} | "
                f"{value['samples']} |"
            )
        else:
            lines.append(f"| {name} | — | — | {value.get('note', '')} |")
    lines.append("")
    lines.append("| target | result | measured |")
    lines.append("|---|---|---|")
    for name, ok, measured in report.targets:
        verdict = "not measured" if ok is None else ("met" if ok else "MISSED")
        lines.append(f"| {name} | {verdict} | {measured} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("aiohttp", "openai", "anthropic", "orjson", "reactivex", "pydantic", "lionrx"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument(
        "--only", choices=["throughput", "operators", "concurrency", "latency"], default=None
    )
    parser.add_argument("--no-write", action="store_true", help="do not write results/docs")
    args = parser.parse_args(argv)
    quick = args.quick
    sys.path.insert(0, str(HERE))
    parts = lionrx_parts()
    report = Report()
    started = time.perf_counter()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "quick": quick,
    }
    async with Server() as server:
        if args.only in (None, "throughput"):
            print("throughput...", flush=True)
            report.rows = await throughput(
                server, 2000 if quick else 20000, 2 if quick else 5, parts
            )
        if args.only in (None, "operators"):
            print("operator scaling...", flush=True)
            report.operators = await operator_scaling(parts, 20_000 if quick else 512 * 1024)
        if args.only in (None, "concurrency"):
            print("concurrency...", flush=True)
            per_stream = 50 if quick else 200
            plan = [(1, per_stream), (1, 100 * per_stream), (100, per_stream), (1000, per_stream)]
            report.concurrency = await concurrency(server, parts, plan)
        if args.only in (None, "latency"):
            print("latency...", flush=True)
            report.latency = await latency(server, parts, 20 if quick else 200)
    evaluate(report)
    meta["seconds"] = round(time.perf_counter() - started, 1)
    table = render(report, meta)
    print()
    print(table)
    print(f"\nwhole run: {meta['seconds']} s")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        data = {
            **meta,
            "clients": [
                {
                    "name": r.name,
                    "shape": r.shape,
                    "available": r.available,
                    "chunks": r.chunks,
                    "seconds": r.seconds,
                    "us_per_chunk": r.us_per_chunk if r.available else None,
                    "chunks_per_s": r.chunks_per_s if r.available else None,
                    "note": r.note,
                }
                for r in report.rows
            ],
            "operators": report.operators,
            "concurrency": report.concurrency,
            "latency": report.latency,
            "targets": [{"target": n, "met": ok, "measured": m} for n, ok, m in report.targets],
        }
        RESULTS.write_text(json.dumps(data, indent=2, default=str) + "\n")
        if DOCS_PAGE.parent.is_dir():
            DOCS_PAGE.write_text(
                "# Benchmarks\n\n"
                "`make bench` runs `benchmarks/run.py`: lionrx beside the wire floor, the parse "
                "floor and the official SDKs, against a local pre-encoded server in its own "
                "process. Ratios matter, not absolute numbers (they depend on the machine and "
                "on what else runs). Latest run:\n\n"
                f"{table}\n\n{PROFILE_NOTES}"
            )
        print(f"wrote {RESULTS.relative_to(ROOT)} and {DOCS_PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
