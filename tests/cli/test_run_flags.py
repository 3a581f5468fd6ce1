"""Each ``lionrx run`` flag changes what the command does: every test here fails if its flag
were parsed and then ignored (compared with the same command without the flag)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pexpect
import pytest
from cli_helpers import plain  # type: ignore[import-not-found]

from lionrx.testing import FakeProviderServer, Script

MARKDOWN = "# Title\n\nSome *text* here.\n\n- one\n- two\n"
TEXT = "Streams flow chunk by chunk. Each token arrives, and the reader sees it at once."


def _finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    return str(child.before or "")


# -- request parameters: what the provider receives ------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    """The fake provider server in a thread, so the test can read the requests it received."""
    srv = FakeProviderServer(Script(text="Fine."))
    with srv.in_thread():
        yield srv


def test_system_temperature_max_tokens_seed_reach_the_provider(
    server: FakeProviderServer, lionrx_run: Callable[..., Any]
) -> None:
    base = ("run", "Hello", "--base-url", server.openai_base_url, "--model", "m")
    plain_run = lionrx_run(*base)
    assert plain_run.returncode == 0, plain_run.stderr
    without = server.requests[-1].json
    assert without["messages"] == [{"role": "user", "content": "Hello"}]
    assert not {"temperature", "max_tokens", "seed"} & set(without)

    done = lionrx_run(
        *base,
        "--system",
        "Be brief.",
        "--temperature",
        "0.25",
        "--max-tokens",
        "7",
        "--seed",
        "42",
    )
    assert done.returncode == 0, done.stderr
    body = server.requests[-1].json
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.25, 7, 42)


def test_max_tokens_cuts_the_local_model(lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run(
        "run", "Write a long story about a cat.", "--max-tokens", "5", "--temperature", "0",
        "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    usage = [e for e in events if e["kind"] == "usage"][-1]
    assert usage["output_tokens"] == 5
    assert [e["reason"] for e in events if e["kind"] == "finish"] == ["length"]


# -- deadlines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "seconds", "delay", "message"),
    [
        ("--timeout-first", "0.3", "0.8", "timeout: no answer within 0.3s"),
        ("--timeout-idle", "0.3", "0.8", "timeout: no event for 0.3s"),
        ("--timeout-total", "0.6", "0.1", "timeout: stream took longer than 0.6s"),
    ],
)
def test_timeout_flags_stop_the_answer(
    flag: str, seconds: str, delay: str, message: str, lionrx_run: Callable[..., Any]
) -> None:
    base = ("run", "x", "--fake", "--fake-text", TEXT, "--fake-delay", delay, "--no-stats")
    done = lionrx_run(*base, flag, seconds)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert message in out and f"raise {flag}" in out
    assert "Traceback" not in out
    if flag == "--timeout-total":
        # Text arrived before the deadline: it was shown, and the failure line counts it.
        shown = done.stdout.split("✗")[0].strip()
        assert shown and TEXT.startswith(shown) and shown != TEXT
        assert f"({len(shown)} characters kept)" in out


# -- display -----------------------------------------------------------------------------------


def test_markdown_flag_renders_blocks_in_a_terminal(spawn: Callable[..., Any]) -> None:
    args = ("run", "x", "--fake", "--fake-text", MARKDOWN, "--fake-delay", "0.01")
    raw = _finish(spawn(*args))
    rendered = _finish(spawn(*args, "--markdown"))
    # Without the flag the markdown source is shown as it came; with it, rendered (rich):
    # emphasis in italics, list items with bullets, the heading without its '#'.
    assert "Some *text* here." in plain(raw) and "\x1b[3m" not in raw
    assert "\x1b[3mtext\x1b[0m" in rendered
    assert "• one" in plain(rendered) and "• two" in plain(rendered)


def test_progress_dots_hold_the_text_until_the_end(spawn: Callable[..., Any]) -> None:
    # 15 chunks at 0.1 s: a dot every 10 chunks while the text is held back.
    child = spawn("run", "x", "--fake", "--fake-text", TEXT, "--fake-delay", "0.1", "--progress")
    child.expect(r"\.")
    assert child.isalive()
    assert "Streams" not in plain(child.before or "")
    child.expect("Streams flow chunk by chunk")
    assert TEXT in plain(child.before or "") + "Streams flow chunk by chunk" + plain(_finish(child))


def test_progress_line_shows_live_counts(spawn: Callable[..., Any]) -> None:
    args = ("run", "x", "--fake", "--fake-text", TEXT, "--fake-delay", "0.05")
    line = r"⏳ [\d.]+s · (\d+) chunks · \d+ words"
    assert "⏳" not in _finish(spawn(*args))
    child = spawn(*args, "--progress", "line")
    child.expect(line)
    counts = [int(child.match.group(1))]
    child.expect(line)
    counts.append(int(child.match.group(1)))
    assert counts[1] >= counts[0]
    out = plain(_finish(child))
    assert "Stats: 15 chunks" in out


def test_no_stats_flag(lionrx_run: Callable[..., Any]) -> None:
    args = ("run", "x", "--fake", "--fake-text", TEXT, "--fake-delay", "0")
    assert "Stats:" in lionrx_run(*args).stdout
    done = lionrx_run(*args, "--no-stats")
    assert done.stdout.strip() == TEXT


def test_sentence_flag_shows_whole_sentences_in_a_terminal(spawn: Callable[..., Any]) -> None:
    import time

    text = "One two three four five. Six seven."
    args = ("run", "x", "--fake", "--fake-text", text, "--fake-delay", "0.6", "--no-stats")

    def shown_with_first_word(*flags: str) -> str:
        child = spawn(*args, *flags)
        child.expect("One")
        time.sleep(0.1)  # whatever was written together with "One" has arrived by now
        more = str(child.buffer)  # read along with "One", not yet matched
        try:
            more += child.read_nonblocking(1000, timeout=0.1)
        except pexpect.TIMEOUT:
            pass
        return "One" + plain(more)  # (the fixture ends the command)

    # Word by word without the flag; the whole sentence at once with it.
    assert shown_with_first_word().strip() == "One"
    assert shown_with_first_word("--sentence").startswith("One two three four five.")
