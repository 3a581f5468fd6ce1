"""The lionpride streaming notebook, run cell by cell as written with ``lionpride`` replaced by
``lionrx``, against the fake provider server (found through ``OPENAI_BASE_URL`` /
``ANTHROPIC_BASE_URL``, as the official clients do). Sections 4 and 5 (sessions, communicate)
are also covered in tests/session/test_notebook.py."""

from __future__ import annotations

import ast
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Fault, Script

LOCAL_COPY = Path(__file__).resolve().parent / "streaming-notebook.md"  # copy of the seed
ANSWER = (
    "Async code waits without blocking. The event loop runs other tasks meanwhile, so one "
    "thread can serve many slow network calls. "
) * 3


def _cells() -> list[str]:
    text = LOCAL_COPY.read_text()
    cells = []
    for raw in re.split(r"In \[None\]:\n", text)[1:]:
        end = raw.find("\n## ")
        cells.append((raw[:end] if end >= 0 else raw).replace("lionpride", "lionrx"))
    return cells


@pytest.fixture
async def notebook_env(
    fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeProviderServer]:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.anthropic_base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    fake_server.default = Script(text=ANSWER, delay=0.001, first_delay=0.01)
    created: list[iModel] = []
    original = iModel.__init__

    def tracking_init(self: iModel, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    # The notebook never closes its models; the test does, so no session is left open.
    monkeypatch.setattr(iModel, "__init__", tracking_init)
    try:
        yield fake_server
    finally:
        for model in created:
            await model.aclose()


async def _run(cell: str, namespace: dict[str, Any]) -> None:
    code = compile(cell, "<notebook>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # the notebook's own code, with top-level await
    if result is not None:
        await result


async def test_notebook_has_nine_cells() -> None:
    assert len(_cells()) == 9


@pytest.mark.parametrize("index", [1, 2, 3, 6, 7])
async def test_notebook_cell(
    notebook_env: FakeProviderServer, capsys: pytest.CaptureFixture[str], index: int
) -> None:
    cells = _cells()
    namespace: dict[str, Any] = {"__name__": "notebook"}
    await _run(cells[0], namespace)
    await _run(cells[index], namespace)
    out = capsys.readouterr().out
    assert ANSWER.strip() in out.replace("\n", "") or ANSWER[:60] in out
    if index == 1:
        assert namespace["result"] == ANSWER
        assert re.search(rf"Received \d+ chunks \({len(ANSWER)} chars\)", out)
    if index == 2:
        assert "First token after" in out and "perceived" in out
    if index == 6:
        assert namespace["results"] == [ANSWER, ANSWER]
        paths = sorted(r.path for r in notebook_env.requests)
        assert paths == ["/v1/chat/completions", "/v1/messages"]
        claude = next(r for r in notebook_env.requests if r.path == "/v1/messages")
        assert claude.json["max_tokens"] == 1024 and claude.json["temperature"] == 0.7
    if index == 7:
        assert "Buffered" in out and "flushed every 10 chunks" in out


async def test_notebook_error_handling_cell_keeps_the_partial_answer(
    notebook_env: FakeProviderServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = _cells()
    namespace: dict[str, Any] = {"__name__": "notebook"}
    await _run(cells[0], namespace)
    notebook_env.queue(Script(text=ANSWER, fault=Fault.drop(at_byte=1500)))
    await _run(cells[8], namespace)
    out = capsys.readouterr().out
    assert "Streaming error: ProtocolError" in out or "Streaming error: APIConnectionError" in out
    received = int(re.search(r"Received (\d+) chunks before error", out).group(1))  # type: ignore[union-attr]
    assert received > 0
    assert ANSWER.startswith(namespace["result"]) and namespace["result"]


async def test_notebook_error_handling_cell_success(
    notebook_env: FakeProviderServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = _cells()
    namespace: dict[str, Any] = {"__name__": "notebook"}
    await _run(cells[0], namespace)
    await _run(cells[8], namespace)
    out = capsys.readouterr().out
    assert "Streaming completed successfully" in out
    assert namespace["result"] == ANSWER


WHOLE_NOTEBOOK = r"""
import ast, asyncio, os, re, sys
from pathlib import Path
from lionrx.testing import FakeProviderServer, Script

text = Path(sys.argv[1]).read_text()
cells = []
for raw in re.split(r"In \[None\]:\n", text)[1:]:
    end = raw.find("\n## ")
    cells.append((raw[:end] if end >= 0 else raw).replace("lionpride", "lionrx"))

with FakeProviderServer(Script(text=sys.argv[2], delay=0.0005)).in_thread() as server:
    os.environ["OPENAI_BASE_URL"] = server.openai_base_url
    os.environ["ANTHROPIC_BASE_URL"] = server.anthropic_base_url

    async def main() -> None:
        namespace = {"__name__": "notebook"}
        for index, cell in enumerate(cells):
            code = compile(cell, f"<cell {index}>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            result = eval(code, namespace)
            if result is not None:
                await result
            print(f"\n<<cell {index} done>>", flush=True)

    # Like a Jupyter kernel: every cell on one loop, and no model is ever closed.
    asyncio.run(main())
    import gc

    gc.collect()  # the cells' namespace (a cycle) and its models are collected now
    paths = sorted({r.path for r in server.requests})
    print("PATHS", paths, len(server.requests))
"""


def test_the_whole_notebook_runs_as_written_without_warnings(tmp_path: Path) -> None:
    """All nine cells in order, in one namespace and loop, as a notebook runs them, with no
    ``aclose()`` anywhere (the notebook has none): every section works and nothing warns."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-W",
            "always",
            "-c",
            WHOLE_NOTEBOOK,
            str(LOCAL_COPY),
            ANSWER,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for index in range(9):
        assert f"<<cell {index} done>>" in out
    assert "Streaming completed successfully" in out
    # Section 4: communicate saves the instruction and answer, the cell saves the streamed one.
    assert "Conversation has 3 messages" in out
    assert out.count("Stats: ") == 3  # section 5: three chat turns
    assert "CONVERSATION HISTORY" in out
    assert "PATHS ['/v1/chat/completions', '/v1/messages']" in out
    assert "Unclosed" not in result.stderr and "ResourceWarning" not in result.stderr, (
        result.stderr[-3000:]
    )
    assert "Exception ignored" not in result.stderr, result.stderr[-3000:]
