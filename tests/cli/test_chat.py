"""``lionrx chat`` in a pseudo-terminal: turns, Ctrl-C mid-answer, commands, resuming."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pexpect
from cli_helpers import plain  # type: ignore[import-not-found]

from lionrx.session import AssistantResponseContent, InstructionContent, Session

FIRST = "The first answer is short."
SECOND = (
    "The second answer is long and slow, word after word after word, so that there is "
    "plenty of time to stop it before it ends."
)


def _chat(spawn: Callable[..., Any], session: Path, *extra: str) -> Any:
    return spawn(
        "chat",
        "--fake",
        "--session",
        str(session),
        "--fake-text",
        FIRST,
        "--fake-text",
        SECOND,
        "--fake-delay",
        "0.15",
        *extra,
    )


def test_two_turns_ctrl_c_keeps_partial_and_history_survives_restart(
    spawn: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "chat.sqlite"
    child = _chat(spawn, path)
    child.expect(r"new conversation")
    child.expect("you> ")
    child.sendline("Hello there")
    child.expect("assistant> ")
    child.expect(r"Stats: \d+ chunks")
    assert FIRST in plain(child.before or "")
    child.expect("you> ")
    # Second turn: stop it mid-answer with Ctrl-C; the chat goes on.
    child.sendline("Tell me more")
    child.expect("The second answer")
    child.sendintr()
    child.expect(r"stopped \((\d+) characters kept\)")
    kept = int(child.match.group(1))
    child.expect("you> ")
    assert child.isalive()
    child.sendline("/history")
    child.expect("you> ")
    history = plain(child.before or "")
    assert "you: Hello there" in history and f"assistant: {FIRST}" in history
    assert "[incomplete: cancelled]" in history
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    # The session file holds both turns; the stopped answer is partial and marked.
    with Session.open(path) as session:
        messages = [session.messages[i] for i in session.default_branch.order]
        contents = [m.content for m in messages]
        assert [type(c) for c in contents] == [
            InstructionContent,
            AssistantResponseContent,
            InstructionContent,
            AssistantResponseContent,
        ]
        first, stopped = contents[1], contents[3]
        assert isinstance(first, AssistantResponseContent)
        assert isinstance(stopped, AssistantResponseContent)
        assert first.assistant_response == FIRST and first.status == "complete"
        assert stopped.status == "incomplete" and stopped.incomplete_reason == "cancelled"
        assert SECOND.startswith(stopped.assistant_response)
        assert len(stopped.assistant_response) == kept < len(SECOND)

    # Restart: the conversation resumes where it was, and goes on.
    child = _chat(spawn, path)
    child.expect(r"resumed 4 messages")
    child.expect("you> ")
    child.sendline("/history")
    child.expect("you> ")
    history = plain(child.before or "")
    assert f"assistant: {FIRST}" in history and "[incomplete: cancelled]" in history
    child.sendline("And now?")
    child.expect(r"Stats: \d+ chunks")
    child.expect("you> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with Session.open(path) as session:
        assert len(session.default_branch.order) == 6


def test_branch_fork_model_stats_commands(spawn: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite"
    child = spawn(
        "chat", "--fake", "--session", str(path), "--fake-text", FIRST, "--fake-delay", "0.01"
    )
    child.expect("you> ")
    child.sendline("/stats")
    child.expect("no answer yet")
    child.expect("you> ")
    child.sendline("Question one")
    child.expect(r"Stats: \d+ chunks")
    child.expect("you> ")
    child.sendline("/fork side")
    child.expect(r"forked default → side \(2 messages\)")
    child.expect("you> ")
    child.sendline("Question on the side")
    child.expect(r"Stats: \d+ chunks")
    child.expect("you> ")
    child.sendline("/branch")
    child.expect(r"\* side \(4 messages\)")
    child.expect("you> ")
    child.sendline("/branch default")
    child.expect(r"on branch default \(2 messages\)")
    child.expect("you> ")
    child.sendline("/branch empty")
    child.expect("new branch empty")
    child.expect("you> ")
    child.sendline("/model other-model")
    child.expect("model: other-model")
    child.expect("you> ")
    child.sendline("/model")
    child.expect(r"model: other-model \(openai\)")
    child.expect("you> ")
    child.sendline("/system Answer in French.")
    child.expect("system prompt set")
    child.expect("you> ")
    child.sendline("/stats")
    child.expect(r"Stats: \d+ chunks .*\r\n.*branch empty: 0 answers")
    child.expect("you> ")
    child.sendline("/nonsense")
    child.expect(r"unknown command /nonsense")
    child.expect("you> ")
    # The next answer comes from the model switched to (the server echoes the model asked for).
    child.sendline("Question to the other model")
    child.expect(r"Stats: \d+ chunks")
    child.expect("you> ")
    # Ctrl-C at the prompt does not leave the chat.
    child.sendintr()
    child.expect(r"Ctrl-D or /exit leaves")
    child.expect("you> ")
    child.sendline("/branch side")
    child.expect(r"on branch side \(4 messages\)")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with Session.open(path) as session:
        assert set(session.branches) == {"default", "side", "empty"}
        side = session.get_branch("side")
        default = session.get_branch("default")
        # The fork shares the first turn's messages (same ids), then goes its own way.
        assert side.order[:2] == default.order
        empty = session.get_branch("empty")
        assert empty.system is not None
        models = {
            name: [
                c.model_name
                for c in (session.messages[i].content for i in session.get_branch(name).order)
                if isinstance(c, AssistantResponseContent)
            ]
            for name in ("side", "empty")
        }
        assert models == {"side": ["fake-model", "fake-model"], "empty": ["other-model"]}


def test_chat_with_the_local_model(spawn: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite"
    child = spawn(
        "chat",
        "--session",
        str(path),
        "--max-tokens",
        "12",
        "--temperature",
        "0",
        timeout=120,
    )
    child.expect("using the local model")
    child.expect("you> ")
    child.sendline("What is 2+2?")
    child.expect(r"Stats: \d+ chunks")
    child.expect("you> ")
    child.sendline("And 3+3?")
    child.expect(r"Stats: \d+ chunks")
    child.expect("you> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with Session.open(path) as session:
        answers = [
            session.messages[i].content
            for i in session.default_branch.order
            if isinstance(session.messages[i].content, AssistantResponseContent)
        ]
        assert len(answers) == 2
        assert all(
            isinstance(a, AssistantResponseContent) and a.assistant_response for a in answers
        )


def test_timeout_in_chat_is_recorded_as_timeout(spawn: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "chat.sqlite"
    child = spawn(
        "chat",
        "--fake",
        "--session",
        str(path),
        "--fake-text",
        SECOND,
        "--fake-delay",
        "0.6",
        "--timeout-idle",
        "0.3",
    )
    child.expect("you> ")
    child.sendline("Hello")
    child.expect(r"timeout: no event for 0.3s")
    child.expect("you> ")
    child.sendline("/history")
    child.expect("you> ")
    assert "[incomplete: timeout]" in plain(child.before or "")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_chat_display_flags(spawn: Callable[..., Any], tmp_path: Path) -> None:
    """``--progress line``, ``--markdown`` and ``--no-stats`` apply to every chat answer."""
    markdown = "Some *text* here.\n\n- one\n- two\n"
    child = spawn(
        "chat",
        "--fake",
        "--session",
        str(tmp_path / "chat.sqlite"),
        "--fake-text",
        markdown,
        "--fake-delay",
        "0.05",
        "--progress",
        "line",
        "--markdown",
        "--no-stats",
    )
    child.expect("you> ")
    child.sendline("Hello")
    child.expect(r"⏳ [\d.]+s · \d+ chunks")
    child.expect("you> ")
    answer = str(child.before or "")
    assert "\x1b[3mtext\x1b[0m" in answer and "• two" in plain(answer)
    assert "Stats:" not in plain(answer)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_closes_the_connection_and_the_chat_goes_on(
    spawn: Callable[..., Any], tmp_path: Path
) -> None:
    """Against a server in this process: Ctrl-C mid-answer closes the HTTP connection (the
    server sees the client leave before the answer is complete), and the next turn works."""
    import time

    from lionrx.testing import FakeProviderServer, Script

    server = FakeProviderServer(Script(text=SECOND, delay=0.15))
    with server.in_thread():
        child = spawn(
            "chat",
            "--session",
            str(tmp_path / "chat.sqlite"),
            "--base-url",
            server.openai_base_url,
            "--model",
            "m",
        )
        child.expect("you> ")
        child.sendline("Tell me more")
        child.expect("The second answer")
        assert server.disconnects == 0
        child.sendintr()
        child.expect(r"stopped \(\d+ characters kept\)")
        deadline = time.monotonic() + 5
        while server.disconnects == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.disconnects == 1 and server.completed == 0
        child.expect("you> ")
        server.queue(Script(text=FIRST))
        child.sendline("Short one?")
        child.expect(r"Stats: \d+ chunks")
        assert FIRST in plain(child.before or "")
        child.expect("you> ")
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert server.completed == 1


def test_chat_branch_and_system_flags(spawn: Callable[..., Any], tmp_path: Path) -> None:
    """``--system`` reaches the model on the branch ``--branch`` names; resuming that branch
    later sends the whole conversation."""
    from lionrx.testing import FakeProviderServer, Script

    path = tmp_path / "chat.sqlite"
    server = FakeProviderServer(Script(text=FIRST))
    with server.in_thread():
        base = ("chat", "--session", str(path), "--base-url", server.openai_base_url)
        child = spawn(*base, "--model", "m", "--branch", "work", "--system", "Be terse.")
        child.expect(r"branch work \(new conversation\)")
        child.sendline("Hi")
        child.expect(r"Stats: \d+ chunks")
        child.expect("you> ")
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert server.requests[-1].json["messages"] == [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
        ]
        child = spawn(*base, "--model", "m", "--branch", "work")
        child.expect(r"branch work \(resumed 2 messages\)")
        child.sendline("Again")
        child.expect(r"Stats: \d+ chunks")
        child.expect("you> ")
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert [m["content"] for m in server.requests[-1].json["messages"]] == [
            "Be terse.",
            "Hi",
            FIRST,
            "Again",
        ]
    with Session.open(path) as session:
        assert set(session.branches) == {"work"}
        assert len(session.get_branch("work").order) == 4
