"""Every example runs, offline, and prints what it promises."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, *args: str, timeout: float = 120) -> str:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_every_example_is_tested() -> None:
    tested = {name for name in globals() if name.startswith("test_0") or name.startswith("test_1")}
    scripts = sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py"))
    assert len(scripts) == 14
    assert {f"test_{s}" for s in scripts} <= tested, sorted({f"test_{s}" for s in scripts} - tested)


def test_01_basic_streaming() -> None:
    out = run("01_basic_streaming.py", "--fake")
    assert "Assistant: Streams let a program act on data" in out
    assert "Received 54 chunks (338 chars)" in out
    assert "Pipeline answer: 338 chars, stop reason stop" in out
    assert "Stats: 54 chunks" in out


def test_02_stream_vs_invoke() -> None:
    out = run("02_stream_vs_invoke.py", "--fake")
    assert "status=completed" in out
    assert "First token after" in out
    assert "Same text both ways: True" in out


def test_03_progress() -> None:
    out = run("03_progress.py", "--fake")
    assert "Generating response....." in out
    assert "Received 54 chunks (~54 words)" in out
    assert "final: 54 chunks, 54 words, 338 chars" in out


def test_04_conversation_context() -> None:
    out = run("04_conversation_context.py", "--fake")
    assert "Assistant: Decorators wrap a function" in out
    assert "def shout(f):" in out
    assert "Conversation has 4 messages" in out
    assert out.rstrip().endswith("user\n  assistant\n  user\n  assistant")


def test_05_streaming_chat(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    out = run("05_streaming_chat.py", "--fake", "--db", str(db))
    assert out.count("Stats: ") == 3
    assert "CONVERSATION HISTORY" in out
    assert "assistant: Forgetting to await" in out
    assert db.exists() and db.stat().st_size > 0


def test_06_parallel_models() -> None:
    out = run("06_parallel_models.py", "--fake")
    assert "[GPT] complete:" in out and "[Claude] complete:" in out
    assert "merge_labeled outcomes: ['claude:completed', 'gpt:completed']" in out
    # Both models were streaming at once: each had sent text before the first one finished.
    assert "streaming at once: ['claude', 'gpt'] had sent text" in out
    assert "gpt: 50 chars, same as invoke_stream: True" in out
    assert "claude: 44 chars, same as invoke_stream: True" in out


def test_07_buffered() -> None:
    out = run("07_buffered.py", "--fake", "--size", "10")
    assert "Buffered 54 chunks into 6 writes" in out
    assert "Same text both ways: True" in out
    # 54 chunks by tens: 6 flushes (a few more if the 0.25 s limit cuts first on a busy
    # machine), far fewer than the chunks: that is the point of buffering.
    flushes = int(out.strip().splitlines()[-1].split()[0])
    assert 6 <= flushes <= 12


def test_08_error_handling() -> None:
    out = run("08_error_handling.py", "--fake")
    assert "Streaming error: ProtocolError" in out
    assert "error.partial holds the same text: True" in out
    assert "Failed: ProtocolError; partial" in out
    assert "fake-key" not in out


def test_09_speech_sentences() -> None:
    out = run("09_speech_sentences.py", "--fake")
    lines = [ln for ln in out.splitlines() if ln.startswith("[speak")]
    assert len(lines) == 5
    assert "Dr. Ada's rule of thumb: show the first words within 0.5 s" in lines[1]
    assert "5 utterances" in out


def test_10_race_and_fallback() -> None:
    out = run("10_race_and_fallback.py", "--fake")
    assert "race winner: backup" in out
    assert "fallback mode: continue" in out
    # The primary broke after "The cat"; that partial stays and the backup's text follows it
    # (the fake backup ignores the assistant prefix it is handed, so it starts over: 7 + 59).
    assert "kept the primary's partial 'The cat': True" in out
    assert "answer = partial + continuation: True" in out
    assert "fallback completed: 66 chars in total" in out


def test_11_record_replay() -> None:
    out = run("11_record_replay.py", "--fake")
    assert "recorded 54 chunks" in out
    assert "same text: True" in out
    assert "same stop reason: True" in out


def test_12_progress_line() -> None:
    out = run("12_progress_line.py", "--fake")
    assert "54 chunks, 54 words" in out
    assert "\x1b[" not in out  # not a terminal: plain text only


def test_13_property_test_operator() -> None:
    out = run("13_property_test_operator.py")
    assert "paragraphs(): all stream laws hold" in out
    assert "caught by the laws: lossless" in out


def test_14_web_app() -> None:
    out = run("14_web_app.py", "--fake", "--check")
    assert "content-type: text/event-stream" in out
    assert "last: completed" in out
    # The page would show exactly the answer, one SSE event per sentence.
    assert "text events: 5; 338 chars" in out
    assert "same text as the completed response: True" in out


@pytest.mark.local_model
def test_01_basic_streaming_with_the_local_model() -> None:
    out = run("01_basic_streaming.py", "--max-tokens", "24", timeout=300)
    assert "Received 24 chunks" in out and "Pipeline answer:" in out


# With the embedded local model (the default, offline): what each example proves that does
# not depend on the words the model picks.
LOCAL = [
    ("02_stream_vs_invoke.py", (), ["Same text both ways: True", "First token after"]),
    ("03_progress.py", (), ["Received 24 chunks", "final: 24 chunks"]),
    ("04_conversation_context.py", (), ["Conversation has 4 messages"]),
    ("06_parallel_models.py", (), ["gpt: ", "claude: ", "same as invoke_stream: True"]),
    ("07_buffered.py", (), ["Buffered 24 chunks into 3 writes", "Same text both ways: True"]),
    ("08_error_handling.py", (), ["Completed: "]),
    ("09_speech_sentences.py", (), ["[speak", "utterances"]),
    ("10_race_and_fallback.py", (), ["race winner: ", "fallback completed: "]),
    (
        "11_record_replay.py",
        (),
        ["recorded 24 chunks", "same text: True", "same stop reason: True"],
    ),
    ("12_progress_line.py", (), ["24 chunks"]),
    (
        "14_web_app.py",
        ("--check",),
        ["last: completed", "same text as the completed response: True"],
    ),
]


@pytest.mark.local_model
@pytest.mark.parametrize(("script", "extra", "expected"), LOCAL, ids=[c[0] for c in LOCAL])
def test_example_runs_with_the_local_model(
    script: str, extra: tuple[str, ...], expected: list[str]
) -> None:
    out = run(script, "--max-tokens", "24", *extra, timeout=300)
    for line in expected:
        assert line in out, f"{line!r} not in:\n{out}"


@pytest.mark.local_model
def test_05_streaming_chat_with_the_local_model(tmp_path: Path) -> None:
    out = run("05_streaming_chat.py", "--max-tokens", "24", "--db", str(tmp_path / "c.db"))
    assert out.count("Stats: ") == 3 and "CONVERSATION HISTORY" in out


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("01_basic_streaming.py", "Received 3 chunks"),
        ("02_stream_vs_invoke.py", "Same text both ways: True"),
        ("08_error_handling.py", "Streaming completed successfully"),
    ],
)
async def test_provider_and_model_flags_reach_a_real_provider(script: str, expected: str) -> None:
    """``--provider openai --model ... --base-url`` goes through the real OpenAI provider (to the
    fake server standing in for the API): the flags real users pass work."""
    from lionrx.testing import FakeProviderServer, Script

    async with FakeProviderServer() as server:
        server.default = Script(text="Real provider path.", chunk_size=7)
        env = {**os.environ, "OPENAI_API_KEY": "sk-examples-test-not-a-real-key"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLES / script), "--provider", "openai",
            "--model", "gpt-4o-mini", "--base-url", server.openai_base_url,
            cwd=EXAMPLES, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        models = {r.json["model"] for r in server.requests}
    assert proc.returncode == 0, err.decode()
    assert expected in out.decode()
    assert models == {"gpt-4o-mini"}
