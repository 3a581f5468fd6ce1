"""Crash safety: a process SIGKILLed mid-stream leaves everything it received on disk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import reactivex
    from reactivex import operators as ops
    from lionrx._rx import loop_scheduler
    from lionrx.sinks import Sink, SinkHandle, file, tee

    class Report(Sink):
        def on_event(self, event):
            print(event.text, flush=True)

    async def main(path, fmt):
        source = reactivex.interval(0.002, scheduler=loop_scheduler()).pipe(
            ops.map(lambda i: f"w{i} ")
        )
        file_handle, _ = tee(source, file(path, format=fmt), lambda o: SinkHandle(o, Report()))
        await file_handle

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def _texts_on_disk(path: Path, fmt: str) -> str:
    data = path.read_text("utf-8")
    if fmt == "text":
        return data
    out = []
    for line in data.splitlines():
        row = json.loads(line)  # every line on disk is complete: one write per event
        if "event" in row:
            out.append(row["event"]["text"])
    return "".join(out)


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
async def test_sigkill_mid_stream_keeps_everything_received(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"crash.{fmt}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(path), fmt, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    reported: list[str] = []
    try:
        while len(reported) < 60:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, "child ended early"
            reported.append(line.decode().rstrip("\n"))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    on_disk = _texts_on_disk(path, fmt)
    # The file sink wrote each chunk before the reporter saw it: the disk holds at least every
    # reported chunk, in order, and nothing that was not streamed.
    expected_prefix = "".join(reported)
    assert on_disk.startswith(expected_prefix)
    n = len(on_disk.split())
    assert on_disk == "".join(f"w{i} " for i in range(n))


HTTP_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from lionrx.services import iModel
    from lionrx.sinks import Sink, SinkHandle, file, tee

    class Report(Sink):
        def on_event(self, event):
            if event.kind == "text":
                print(repr(event.text), flush=True)

    async def main(base_url, path, fmt):
        async with iModel(provider="openai", model="m", base_url=base_url) as model:
            saved, _ = tee(
                model.stream("hi"), file(path, format=fmt), lambda o: SinkHandle(o, Report())
            )
            await saved

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.mark.parametrize("fmt", ["text", "jsonl", "sse"])
async def test_sigkill_during_a_real_http_stream(tmp_path: Path, fmt: str) -> None:
    import ast

    from lionrx.providers._replay import load_recordings
    from lionrx.testing import FakeProviderServer, Script

    answer = "".join(f"word{i} " for i in range(400))
    path = tmp_path / f"crash.{fmt}"
    async with FakeProviderServer() as server:
        server.queue(Script(text=answer, delay=0.005))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HTTP_CHILD,
            server.openai_base_url,
            str(path),
            fmt,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        reported: list[str] = []
        try:
            while len(reported) < 50:
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert line, "child ended early"
                reported.append(ast.literal_eval(line.decode()))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if fmt == "text":
        on_disk = path.read_text("utf-8")
    else:
        [stream] = load_recordings(path)
        assert stream.outcome is None  # the recorder died: no outcome was written
        on_disk = "".join(getattr(e, "text", "") for _, e in stream.events if e.kind == "text")
    assert on_disk.startswith("".join(reported))
    assert answer.startswith(on_disk) and len(on_disk) < len(answer)
