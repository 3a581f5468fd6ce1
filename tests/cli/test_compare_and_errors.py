"""``lionrx compare`` (side by side, each model's stats) and the one-line errors."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pexpect
from cli_helpers import plain  # type: ignore[import-not-found]

from lionrx.testing import ErrorReply, FakeProviderServer, Script

TEXT = "Both models answer at once, each in its own column."


def test_compare_two_fake_models_side_by_side(spawn: Callable[..., Any]) -> None:
    child = spawn(
        "compare",
        "Say something.",
        "--fake",
        "--fake-text",
        TEXT,
        "--fake-delay",
        "0.05",
        "--model",
        "alpha",
        "--model",
        "beta",
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out = plain(child.before or "")
    # Columns: both labels head one row, separated by the column rule.
    assert any("[alpha]" in line and "│" in line and "[beta]" in line for line in out.split("\n"))
    assert "[alpha] 📊 Stats:" in out and "[beta] 📊 Stats:" in out


def test_compare_lines_layout_in_a_pipe(lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run(
        "compare",
        "x",
        "--fake",
        "--fake-text",
        TEXT,
        "--fake-delay",
        "0.01",
        "--model",
        "alpha",
        "--model",
        "beta",
        "--layout",
        "lines",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for label in ("alpha", "beta"):
        text = "".join(
            line.removeprefix(f"[{label}] ")
            for line in lines
            if line.startswith(f"[{label}] ") and "Stats:" not in line
        )
        assert text.replace(" ", "") == TEXT.replace(" ", "")
        assert any(line.startswith(f"[{label}] 📊 Stats: ") for line in lines)


def test_compare_json_has_both_sources(lionrx_run: Callable[..., Any]) -> None:
    import json

    done = lionrx_run(
        "compare",
        "x",
        "--fake",
        "--fake-text",
        TEXT,
        "--fake-delay",
        "0",
        "--model",
        "alpha",
        "--model",
        "alpha",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    finished = {e["source"] for e in events if e["kind"] == "completed"}
    assert finished == {"alpha", "alpha#2"}
    for source in finished:
        text = "".join(e["text"] for e in events if e["kind"] == "text" and e["source"] == source)
        assert text == TEXT


def test_compare_two_local_models(spawn: Callable[..., Any]) -> None:
    child = spawn(
        "compare",
        "Say hi.",
        "--model",
        "local",
        "--model",
        "smollm2",
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "--layout",
        "lines",
        timeout=180,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    out = plain(child.before or "")
    assert "using the local model" in out
    assert "[local] 📊 Stats:" in out and "[smollm2] 📊 Stats:" in out


def _one_error_line(done: Any) -> str:
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, lines
    return lines[0]


def test_error_unreachable_server(lionrx_run: Callable[..., Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    done = lionrx_run(
        "run",
        "hi",
        "--base-url",
        f"http://127.0.0.1:{port}/v1",
        "--model",
        "m",
        "--max-retries",
        "0",
    )
    assert done.returncode == 1
    line = _one_error_line(done)
    assert f"127.0.0.1:{port}" in line and "is the server running?" in line


def test_error_missing_key(lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run("run", "hi", "--provider", "openai")
    assert done.returncode == 2
    assert "set OPENAI_API_KEY" in _one_error_line(done)
    done = lionrx_run("run", "hi", "--provider", "anthropic")
    assert "set ANTHROPIC_API_KEY" in _one_error_line(done)


def test_error_model_file_not_found(lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run("run", "hi", "--provider", "local", "--model", "/nowhere/model.gguf")
    assert done.returncode == 2
    assert "model file not found: /nowhere/model.gguf" in _one_error_line(done)


def test_error_rate_limited_with_retry_delay(lionrx_run: Callable[..., Any]) -> None:
    server = FakeProviderServer(Script(text="never sent"))
    server.queue(
        ErrorReply(
            429,
            {"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}},
            headers={"retry-after": "7"},
        )
    )
    with server.in_thread():
        done = lionrx_run(
            "run",
            "hi",
            "--base-url",
            server.openai_base_url,
            "--model",
            "m",
            "--max-retries",
            "0",
        )
    assert done.returncode == 1
    assert "rate limited by openai (429): retry in 7s" in _one_error_line(done)


def test_error_key_is_never_shown(lionrx_run: Callable[..., Any], cli_env: dict[str, str]) -> None:
    secret = "sk-test-abcdefghijklmnopqrstuvwxyz123456"
    server = FakeProviderServer(Script(text="never sent"))
    server.queue(ErrorReply(401, {"error": {"message": f"Incorrect API key provided: {secret}"}}))
    cli_env["OPENAI_API_KEY"] = secret
    with server.in_thread():
        done = lionrx_run("run", "hi", "--base-url", server.openai_base_url, "--model", "m")
    assert done.returncode == 1
    line = _one_error_line(done)
    assert "rejected the API key (401): check OPENAI_API_KEY" in line
    assert secret not in done.stdout + done.stderr


def test_no_traceback_on_usage_errors(lionrx_run: Callable[..., Any]) -> None:
    done = lionrx_run("compare", "hi", "--provider", "local")
    assert done.returncode == 2
    assert "--model A --model B" in _one_error_line(done)
    done = lionrx_run("replay", "/nowhere.jsonl")
    assert done.returncode in (1, 2)
    assert "recording not found" in _one_error_line(done)


def test_provider_from_the_environment(
    lionrx_run: Callable[..., Any], cli_env: dict[str, str]
) -> None:
    # LIONRX_PROVIDER picks the provider: with no key for it, the one-line key error.
    cli_env["LIONRX_PROVIDER"] = "anthropic"
    done = lionrx_run("run", "hi")
    assert done.returncode == 2
    assert "set ANTHROPIC_API_KEY" in _one_error_line(done)
    # OPENAI_API_KEY (+ OPENAI_BASE_URL) alone: openai, no local-model notice, the key sent.
    del cli_env["LIONRX_PROVIDER"]
    server = FakeProviderServer(Script(text="From the environment."))
    cli_env["OPENAI_API_KEY"] = "sk-env-key-0000000000"
    with server.in_thread():
        cli_env["OPENAI_BASE_URL"] = server.openai_base_url
        done = lionrx_run("run", "hi", "--no-stats")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "From the environment."
    assert "local model" not in done.stderr
    assert server.requests[-1].json["model"] == "gpt-4o-mini"


def test_retry_waits_are_announced_and_ctrl_c_stops_them(spawn: Callable[..., Any]) -> None:
    """A server's long retry-after is waited out with a line saying so (not in silence), and
    Ctrl-C during the wait stops the command at once."""
    import time

    server = FakeProviderServer(Script(text="never sent"))
    limited = ErrorReply(
        429,
        {"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}},
        headers={"retry-after": "30"},
    )
    server.queue(limited, limited, limited)
    with server.in_thread():
        child = spawn("run", "hi", "--base-url", server.openai_base_url, "--model", "m")
        child.expect(r"rate limited by openai \(429\): retrying in 30\.0s \(1 of 2; Ctrl-C stops\)")
        assert len(server.requests) == 1
        child.sendintr()
        started = time.monotonic()
        child.expect(pexpect.EOF)
        child.close()
        assert time.monotonic() - started < 3
        assert child.exitstatus == 130
        assert "Traceback" not in plain(child.before or "")
        assert len(server.requests) == 1


def test_unreachable_server_with_default_retries_is_still_one_line(
    lionrx_run: Callable[..., Any],
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = lionrx_run("run", "hi", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m")
    assert done.returncode == 1
    line = _one_error_line(done)  # short backoffs between the retries are not announced
    assert "is the server running?" in line
