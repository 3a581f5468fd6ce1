"""Fixtures for the command-line tests: a clean environment (no API keys, a private data
directory) and ``lionrx`` spawned in a pseudo-terminal with pexpect."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """No API keys, no LIONRX_* settings, a private HOME and data directory."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "LIONRX_", "PYTEST_"))
    }
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        TERM="xterm-256color",
        PYTHONWARNINGS="ignore",
        COLUMNS="120",
        LINES="40",
    )
    return env


Spawn = Callable[..., pexpect.spawn]


@pytest.fixture
def spawn(cli_env: dict[str, str]) -> Iterator[Spawn]:
    """``spawn("run", "hi", ...)``: ``python -m lionrx ...`` in a pty (120x40)."""
    children: list[pexpect.spawn] = []

    def start(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> pexpect.spawn:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "lionrx", *args],
            env=env or cli_env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
            dimensions=(40, 120),
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)
        child.close()


@pytest.fixture
def lionrx_run(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``lionrx_run("run", "hi", ...)``: the command without a terminal (pipes)."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lionrx", *args],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return run
