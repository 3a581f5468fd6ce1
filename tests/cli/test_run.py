"""``lionrx run``, ``record`` and ``replay`` through a pseudo-terminal and through pipes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
import pytest
from cli_helpers import plain  # type: ignore[import-not-found]

SLOW = "Streams flow slowly here. Every word takes its time. The reader watches it grow."


def test_run_streams_progressively_then_shows_stats(spawn: Callable[..., Any]) -> None:
    child = spawn(
        "run", "Tell me about streams.", "--fake", "--fake-text", SLOW, "--fake-delay", "0.15"
    )
    child.expect("Streams flow")
    # Text is on screen while the answer is still streaming: the process has not finished.
    assert child.isalive()
    child.expect(r"Stats: (\d+) chunks \| first chunk [\d.]+s \| total [\d.]+s \| [\d.]+ tokens/s")
    chunks = int(child.match.group(1))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out = plain(child.before or "")
    assert chunks == len(SLOW.split())
    assert "Traceback" not in out


def test_run_local_model_by_default(spawn: Callable[..., Any]) -> None:
    child = spawn(
        "run", "Say hello.", "--max-tokens", "12", "--temperature", "0", "--seed", "1", timeout=120
    )
    # No key configured: the embedded model answers, and the command says so in one line.
    child.expect("no API key configured .* using the local model SmolLM2-135M-Instruct")
    child.expect(
        r"Stats: (\d+) chunks \| first chunk ([\d.]+)s \| total ([\d.]+)s \| ([\d.]+) tokens/s"
    )
    chunks, first, total, rate = child.match.groups()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert int(chunks) >= 2
    assert float(first) < float(total)
    assert float(rate) > 1
    print(f"local model via CLI: first chunk {first}s, total {total}s, {rate} tokens/s")


def test_run_pipeline_flags(spawn: Callable[..., Any]) -> None:
    child = spawn(
        "run",
        "Hi",
        "--fake",
        "--fake-text",
        "First sentence here. Second one follows! Third?",
        "--fake-delay",
        "0.01",
        "--sentence",
        "--progress",
        "--system",
        "Be brief.",
        "--timeout-first",
        "30",
        "--timeout-idle",
        "30",
        "--timeout-total",
        "60",
    )
    child.expect(r"Stats: (\d+) chunks")
    # The stats count what the provider sent (seven word chunks), however they were re-cut.
    assert child.match.group(1) == "7"
    out = plain(child.before or "")
    assert "First sentence here. Second one follows! Third?" in out
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_run_sentence_flag_reshapes_the_events(lionrx_run: Callable[..., Any]) -> None:
    text = "First sentence here. Second one follows! Third?"
    done = lionrx_run(
        "run", "x", "--fake", "--fake-text", text, "--fake-delay", "0", "--sentence", "--json"
    )
    assert done.returncode == 0, done.stderr
    texts = [e["text"] for e in map(json.loads, done.stdout.splitlines()) if e["kind"] == "text"]
    assert texts == ["First sentence here. ", "Second one follows! ", "Third?"]


def test_run_buffer_and_markdown(lionrx_run: Callable[..., Any]) -> None:
    text = "# Title\n\nSome *text* here.\n\n- one\n- two\n"
    done = lionrx_run(
        "run",
        "x",
        "--fake",
        "--fake-text",
        text,
        "--fake-delay",
        "0",
        "--buffer",
        "4",
        "--markdown",
    )
    assert done.returncode == 0, done.stderr
    # Not a terminal: plain markdown text, no escape codes.
    assert done.stdout.startswith(text)
    assert "\x1b" not in done.stdout
    chunks = int(re.search(r"(\d+) chunks", done.stdout).group(1))  # type: ignore[union-attr]
    words = len(re.findall(r"\s*\S+|\s+", text))
    assert chunks == words
    # --buffer 4 joins every four chunks into one.
    events = lionrx_run(
        "run", "x", "--fake", "--fake-text", text, "--fake-delay", "0", "--buffer", "4", "--json"
    )
    texts = [e["text"] for e in map(json.loads, events.stdout.splitlines()) if e["kind"] == "text"]
    assert "".join(texts) == text
    assert len(texts) == -(-words // 4)


def test_run_json_events(lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run("run", "x", "--fake", "--fake-text", SLOW, "--fake-delay", "0", "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "completed"
    assert "".join(e["text"] for e in events if e["kind"] == "text") == SLOW
    assert events[-1]["response"]["texts"]["0"] == SLOW


def test_ctrl_c_stops_run_and_keeps_partial(spawn: Callable[..., Any]) -> None:
    child = spawn("run", "x", "--fake", "--fake-text", SLOW, "--fake-delay", "0.2")
    child.expect("Streams flow")
    child.sendintr()
    child.expect(r"stopped \((\d+) characters kept\)")
    kept = int(child.match.group(1))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert len("Streams flow") <= kept < len(SLOW)
    assert "Traceback" not in plain(child.before or "")


def test_record_then_replay(tmp_path: Path, lionrx_run: Callable[..., Any]) -> None:
    path = tmp_path / "answer.jsonl"
    done = lionrx_run(
        "record", str(path), "x", "--fake", "--fake-text", SLOW, "--fake-delay", "0.01"
    )
    assert done.returncode == 0, done.stderr
    assert f"recorded to {path}" in done.stderr
    assert (
        path.read_text().count('"kind": "completed"') + path.read_text().count('"kind":"completed"')
        == 1
    )
    replayed = lionrx_run("replay", str(path), "--speed", "0", "--no-stats")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == SLOW
    as_json = lionrx_run("replay", str(path), "--speed", "0", "--json")
    texts = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert "".join(e["text"] for e in texts if e["kind"] == "text") == SLOW
    # --record on run appends a second recording to the same file (a cassette).
    again = lionrx_run("run", "x", "--fake", "--fake-text", "Second.", "--record", str(path))
    assert again.returncode == 0, again.stderr
    first = lionrx_run("replay", str(path), "--speed", "0", "--no-stats")
    assert first.stdout.strip() == SLOW
    second = lionrx_run("replay", str(path), "--speed", "0", "--no-stats", "--index", "1")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Second."


@pytest.mark.parametrize("flag", ["--buffer", "--max-tokens"])
def test_bad_flag_values_are_usage_errors(flag: str, lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run("run", "x", "--fake", flag, "0")
    assert done.returncode == 2
    assert "not a positive integer" in done.stderr


def test_ctrl_c_stops_the_local_model_promptly(spawn: Callable[..., Any]) -> None:
    import time

    child = spawn(
        "run", "Write a very long story about the sea.", "--max-tokens", "500", timeout=120
    )
    child.expect(r"using the local model .*choose\)\r?\n")
    child.expect(r"\w+ \w+ \w+")  # the story has started
    child.sendintr()
    started = time.monotonic()
    child.expect(r"stopped \((\d+) characters kept\)")
    kept = int(child.match.group(1))
    child.expect(pexpect.EOF)
    child.close()
    # Generation stopped at once (500 tokens would take several seconds), and the exit says so.
    assert time.monotonic() - started < 3.0
    assert child.exitstatus == 130
    assert kept > 0


def test_record_a_comparison_and_replay_one_model(
    tmp_path: Path, lionrx_run: Callable[..., Any]
) -> None:
    path = tmp_path / "compare.jsonl"
    done = lionrx_run(
        "compare",
        "x",
        "--fake",
        "--fake-text",
        SLOW,
        "--fake-delay",
        "0.03",
        "--model",
        "alpha",
        "--model",
        "beta",
        "--record",
        str(path),
        "--layout",
        "lines",
    )
    assert done.returncode == 0, done.stderr
    merged = lionrx_run("replay", str(path), "--speed", "0")
    # A merged recording needs a label: one clear line, no traceback.
    assert merged.returncode == 1
    assert "holds a merged stream (alpha, beta)" in merged.stdout
    assert "Traceback" not in merged.stdout + merged.stderr
    one = lionrx_run("replay", str(path), "--speed", "0", "--source", "beta", "--no-stats")
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip() == SLOW


def test_run_record_wire_keeps_the_raw_body_and_replays_it(
    tmp_path: Path, lionrx_run: Callable[..., Any]
) -> None:
    path = tmp_path / "wire.sse"
    done = lionrx_run(
        "run", "x", "--fake", "--fake-text", SLOW, "--fake-delay", "0", "--record-wire", str(path)
    )
    assert done.returncode == 0, done.stderr
    raw = path.read_text()
    assert raw.startswith(": lionrx-wire ") and "\n: t=" in raw and "data: [DONE]" in raw
    assert "fake-key" not in raw
    replayed = lionrx_run("replay", str(path), "--speed", "0", "--no-stats")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == SLOW
