"""The docs' code blocks compile, and the self-contained ones run."""

from __future__ import annotations

import ast
import asyncio
import re
import sys
import textwrap
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        for i, match in enumerate(BLOCK.finditer(page.read_text("utf-8"))):
            found.append((str(page.relative_to(ROOT)), i, match.group(1)))
    return found


def test_there_are_code_blocks() -> None:
    assert len(blocks()) >= 10


@pytest.mark.parametrize(("page", "index", "code"), blocks(), ids=lambda v: str(v)[:40])
def test_block_compiles(page: str, index: int, code: str) -> None:
    compile(code, f"{page}#{index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _self_contained() -> list[tuple[str, int, str]]:
    return [b for b in blocks() if "FakeProviderServer()" in b[2]]


@pytest.mark.parametrize(("page", "index", "code"), _self_contained(), ids=lambda v: str(v)[:40])
async def test_self_contained_block_runs(page: str, index: int, code: str) -> None:
    if "asyncio.run(" in code:  # a whole program: run it as one
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=PIPE, stderr=PIPE, cwd=ROOT
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert out, "the program printed nothing"
        return
    source = "async def __block():\n" + textwrap.indent(code, "    ") + "\n    return locals()\n"
    namespace: dict[str, object] = {}
    exec(compile(source, f"{page}#{index}", "exec"), namespace)
    scope = await asyncio.wait_for(namespace["__block"](), 30)  # type: ignore[operator]
    assert scope  # the block ran to its end


# Blocks that are fragments or need what a test cannot give them; every other block runs.
NOT_RUN = {
    ("docs/concepts.md", 0): "three shapes side by side; `...` stands for operators",
}

# What a snippet assumes exists: a model on the fake provider server, messages, callbacks.
PRELUDE = """
from lionrx import operators as _ops
from lionrx.services import iModel
from lionrx.sinks import record as _record
model = _prelude_model = iModel(provider="openai", model="gpt-4o-mini")
msgs = messages = [{"role": "user", "content": "Explain streams"}]
progress_seen = []
def on_progress(progress):
    progress_seen.append(progress)
def my_operator(scheduler=None):
    return _ops.sentence_chunk()
await _record(model.stream(msgs), "answer.jsonl")  # for the replay snippets
"""

# After a snippet: run what it built (a snippet that builds a pipeline runs it; an SSE
# handler is served and asked), so that a snippet that stopped working fails here.
POSTLUDE = """
import reactivex as _rx
import reactivex.operators as _rxo
for _value in list(locals().values()):
    if isinstance(_value, _rx.Observable):
        _items = []
        await _value.pipe(_rxo.do_action(_items.append), _rxo.last_or_default(None))
        assert _items, "the pipeline emitted nothing"
if "answer" in locals() and callable(answer):
    await _check_handler(answer)
"""


async def _check_handler(handler: Any) -> None:
    """Serve an aiohttp handler on 127.0.0.1 and read its SSE answer to the end."""
    import aiohttp
    from aiohttp import web

    app = web.Application()
    app.router.add_get("/answer", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/answer", params={"q": "Hi"}) as resp:
                assert resp.headers["Content-Type"].startswith("text/event-stream")
                body = await resp.text()
    finally:
        await runner.cleanup()
    assert "event: text" in body and "event: completed" in body, body[-500:]


def _local() -> list[tuple[str, int, str]]:
    return [b for b in blocks() if 'provider="local"' in b[2]]


def _injected() -> list[tuple[str, int, str]]:
    return [
        b
        for b in blocks()
        if "FakeProviderServer()" not in b[2]
        and 'provider="local"' not in b[2]
        and (b[0], b[1]) not in NOT_RUN
    ]


@pytest.mark.local_model
@pytest.mark.parametrize(("page", "index", "code"), _local(), ids=lambda v: str(v)[:40])
async def test_local_model_block_runs(page: str, index: int, code: str, tmp_path: Path) -> None:
    """Programs on the embedded local model run as written (offline)."""
    assert "asyncio.run(" in code, "a local-model block is a whole program"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=PIPE, stderr=PIPE, cwd=tmp_path
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()
    assert out.strip(), "the program printed nothing"


@pytest.mark.parametrize(("page", "index", "code"), _injected(), ids=lambda v: str(v)[:40])
async def test_block_runs_against_the_fake_server(
    page: str, index: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block runs with OPENAI_BASE_URL pointing at the fake provider server."""
    from lionrx.testing import FakeProviderServer

    async with FakeProviderServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-test-not-a-real-key")
        monkeypatch.chdir(tmp_path)
        if "asyncio.run(" in code:  # a whole program: run it as one
            env = {
                **__import__("os").environ,
                "OPENAI_BASE_URL": server.openai_base_url,
                "OPENAI_API_KEY": "sk-docs-test-not-a-real-key",
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, stdout=PIPE, stderr=PIPE, cwd=tmp_path, env=env
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            assert out, "the program printed nothing"
            return
        source = (
            "async def __block():\n"
            + textwrap.indent(PRELUDE + code + POSTLUDE, "    ")
            + "\n    return locals()\n"
        )
        namespace: dict[str, object] = {
            "_check_handler": _check_handler,
        }
        exec(compile(source, f"{page}#{index}", "exec"), namespace)
        scope: dict[str, Any] = {}
        try:
            scope = await asyncio.wait_for(namespace["__block"](), 30)  # type: ignore[operator]
        finally:
            await _close(scope)
        assert "_prelude_model" in scope  # the block ran to its end


async def _close(scope: dict[str, Any]) -> None:
    """Close what a snippet opened: its models (and the prelude's) and sessions, after every
    sink it started has finished (a sink the snippet did not await still writes its file)."""
    from lionrx.services import iModel
    from lionrx.sinks import SinkHandle

    for value in scope.values():
        if isinstance(value, SinkHandle):
            await asyncio.wait_for(value.wait(), 30)
    for value in scope.values():
        if isinstance(value, iModel):
            await value.aclose()
        elif type(value).__name__ == "Session" and hasattr(value, "close"):
            result = value.close()
            if asyncio.iscoroutine(result):
                await result
