"""The docs' code blocks compile, and the self-contained ones run."""

from __future__ import annotations

import ast
import asyncio
import re
import sys
import textwrap
from asyncio.subprocess import PIPE
from pathlib import Path

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
