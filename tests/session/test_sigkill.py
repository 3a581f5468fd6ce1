"""A process killed with SIGKILL while an answer streams into a persistent session leaves,
after restart, that partial answer — marked incomplete, reason ``interrupted``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from lionrx import Session
from lionrx.session import AssistantResponseContent
from lionrx.testing import FakeProviderServer, Script

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, sys
from lionrx import Session
from lionrx.services import iModel

async def main(db: str, base_url: str) -> None:
    session = Session.open(db)
    model = iModel(provider="openai", model="gpt-4o-mini", base_url=base_url, name="m")
    session.services.register(model)
    done = asyncio.Event()
    session.stream(None, "Tell me a long story", imodel="m", persist_interval=0.1).subscribe(
        on_completed=done.set
    )
    print("streaming", flush=True)
    await done.wait()
    print("finished", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def _persisted(db: Path) -> tuple[str | None, str]:
    """Status and text of the newest assistant answer on disk (read-only peek)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return None, ""
    try:
        row = conn.execute(
            "SELECT status, data FROM messages WHERE status IS NOT NULL ORDER BY rowid DESC"
        ).fetchone()
    except sqlite3.OperationalError:
        row = None
    finally:
        conn.close()
    if row is None:
        return None, ""
    return row[0], json.loads(row[1])["content"]["assistant_response"]


async def test_sigkill_mid_stream_leaves_partial_marked_incomplete(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    story = " ".join(f"word{i}" for i in range(1000))
    async with FakeProviderServer() as server:
        server.queue(Script(text=story, delay=0.01))  # ~10 s of streaming; killed long before
        script = tmp_path / "child.py"
        script.write_text(CHILD)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(db),
            server.openai_base_url,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            assert proc.stdout is not None
            assert (await asyncio.wait_for(proc.stdout.readline(), 30)) == b"streaming\n"
            # Wait until the child has persisted a partial answer several times over: the
            # first write happens at the first text, later ones every persist_interval.
            status, text = None, ""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                status, text = _persisted(db)
                if len(text.split()) >= 30:
                    break
                await asyncio.sleep(0.01)
            assert status == "in_progress", (status, text)
            assert server.completed == 0  # still streaming
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            await proc.stdout.read()  # type: ignore[union-attr]
        assert proc.returncode == -signal.SIGKILL

    on_disk_status, on_disk_text = _persisted(db)
    assert on_disk_status == "in_progress"

    session = Session.open(db)
    try:
        branch = session.default_branch
        assert [session.messages[i].role.value for i in branch.order] == ["user", "assistant"]
        assert session.messages[branch.order[0]].content.instruction == "Tell me a long story"  # type: ignore[union-attr]
        answer = session.messages[branch.order[1]].content
        assert isinstance(answer, AssistantResponseContent)
        assert answer.status == "incomplete" and not answer.is_complete
        assert answer.incomplete_reason == "interrupted"
        assert answer.assistant_response == on_disk_text
        assert len(on_disk_text.split()) >= 30
        assert story.startswith(answer.assistant_response) and answer.assistant_response != story
    finally:
        session.close()

    # Recovery was written back: a second open finds nothing left in progress.
    assert _persisted(db)[0] == "incomplete"
