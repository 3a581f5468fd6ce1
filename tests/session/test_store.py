"""SQLite persistence: layout, reopening, recovery, schema versions, write cost."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from lionrx import Session
from lionrx.session import (
    SCHEMA_VERSION,
    AssistantResponseContent,
    InstructionContent,
    Message,
    SystemContent,
)


def _turn(session: Session, branch: object, q: str, a: str) -> None:
    session.add_message(Message(content=InstructionContent(instruction=q)), branches=branch)  # type: ignore[arg-type]
    session.add_message(
        Message(content=AssistantResponseContent(assistant_response=a)),
        branches=branch,  # type: ignore[arg-type]
    )


def test_reopen_restores_everything(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    with Session.open(db, name="demo") as session:
        main = session.create_branch(name="main", system="Be kind.")
        _turn(session, main, "q1", "a1")
        _turn(session, main, "q2", "a2")
        alt = main.fork(at=main.order[1], name="alt")
        _turn(session, alt, "q2b", "a2b")
        _turn(session, None, "dq", "da")
        session.set_system("main", "Be very kind.")
        expected = {
            "id": session.id,
            "branches": {n: (b.id, list(b.order), b.system) for n, b in session.branches.items()},
            "messages": dict(session.messages),
            "default": session.default_branch.id,
        }
        assert session.path == str(db)

    with Session.open(db) as again:
        assert again.id == expected["id"] and again.name == "demo"
        assert {n: (b.id, list(b.order), b.system) for n, b in again.branches.items()} == expected[
            "branches"
        ]
        assert dict(again.messages) == expected["messages"]
        assert again.default_branch.id == expected["default"]
        assert again.branches["main"].system is not None
        assert again.branches["main"].system.content == SystemContent(
            system_message="Be very kind."
        )
        # The reopened branches work as before.
        fork = again.branches["main"].fork(name="later")
        assert fork.order == again.branches["main"].order

    with Session.open(db) as third:
        assert "later" in third.branches


def test_layout_wal_and_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    Session.open(db).close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(RuntimeError, match="schema version"):
        Session.open(db)


def test_several_sessions_in_one_file(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    first = Session.open(db)
    _turn(first, None, "first", "1")
    first.close()
    wanted = uuid.uuid4()
    second = Session.open(db, session_id=wanted)
    assert second.id == wanted and len(second.messages) == 0
    _turn(second, None, "second", "2")
    second.close()
    with Session.open(db) as default:
        assert default.id == first.id
    with Session.open(db, session_id=str(wanted)) as again:
        assert [m.text for m in again.messages.values()] == ["second", "2"]


def test_recovery_marks_in_progress_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    with Session.open(db) as session:
        msg = Message(
            content=AssistantResponseContent(assistant_response="half", status="in_progress")
        )
        session.add_message(msg)
    with Session.open(db, recover=False) as peek:
        assert peek.messages[msg.id].content.status == "in_progress"  # type: ignore[union-attr]
    with Session.open(db) as session:
        content = session.messages[msg.id].content
        assert isinstance(content, AssistantResponseContent)
        assert (content.status, content.incomplete_reason, content.assistant_response) == (
            "incomplete",
            "interrupted",
            "half",
        )


def test_write_cost_is_small(tmp_path: Path) -> None:
    """A streamed answer's partial write is one short transaction on the loop: measure it."""
    with Session.open(tmp_path / "chat.db") as session:
        msg = session.add_message(
            Message(content=AssistantResponseContent(assistant_response="", status="in_progress"))
        )
        text = ""
        n = 300
        start = time.perf_counter()
        for i in range(n):
            text += f"token{i} "
            msg = session.update_message(
                msg.with_content(
                    AssistantResponseContent(assistant_response=text, status="in_progress")
                )
            )
        per_write = (time.perf_counter() - start) / n
    print(f"\nSQLite partial-answer write: {per_write * 1e6:.0f} µs per write ({n} writes)")
    # Writes happen at most once per persist_interval (1 s) per answer; even a slow disk must
    # stay far below a frame's worth of loop time.
    assert per_write < 0.010


def test_closed_session_refuses_changes(tmp_path: Path) -> None:
    session = Session.open(tmp_path / "chat.db")
    session.close()
    session.close()  # idempotent
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        session.add_message(Message(content=InstructionContent(instruction="lost?")))
    assert len(session.messages) == 0  # memory stays as on disk


def test_in_memory_session_has_no_path() -> None:
    session = Session()
    assert session.path is None
    session.close()  # harmless
    assert "0 messages" in repr(session)
