"""``lionrx web`` with no flags and no API keys: the embedded local model answers in the page."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from web_helpers import shot

pytestmark = [pytest.mark.browser, pytest.mark.local_model]


async def test_lionrx_web_defaults_to_the_local_model(page: Any, tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LIONRX_PROVIDER")
    }
    env["XDG_DATA_HOME"] = str(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lionrx.web", "--port", "0", "--max-tokens", "40",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        assert match, line
        await page.goto(match.group(1) + "/")
        await page.wait_for_selector("body[data-ready=true]")
        assert await page.locator("#model option").all_inner_texts() == ["local"]
        await page.fill("#prompt", "Name three colours.")
        await page.keyboard.press("Enter")
        box = page.locator(".answer").first
        await box.locator(".stats").filter(has_text="TTFT").wait_for(timeout=120_000)
        await page.locator(".answer[data-status]").wait_for(timeout=180_000)
        assert await box.get_attribute("data-status") == "complete"
        assert (await box.locator(".body").inner_text()).strip()
        assert await box.locator(".model").inner_text() == "local"
        await page.screenshot(path=shot("local-model"))
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
    stderr = (await proc.stderr.read()).decode()
    assert "using the local model" in stderr
    assert proc.returncode == 0
    assert page.errors == []
