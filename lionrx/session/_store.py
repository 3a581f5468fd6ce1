"""SQLite persistence for sessions: sessions, branches and messages in one WAL-mode file.

Each write is one short transaction on the event loop's thread: with WAL and
``synchronous=NORMAL`` a commit appends to the log without an fsync, which costs tens of
microseconds (see ``tests/session/test_store.py::test_write_cost``), cheaper than handing the
write to a thread. Messages are stored whole as JSON (their pydantic form) with their status in
a column, so interrupted answers can be found on the next open.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lionrx.session._branch import Branch
from lionrx.session.messages._message import AssistantResponseContent, Message

__all__ = ["SCHEMA_VERSION", "SqliteStore", "StoredSession"]

SCHEMA_VERSION = 1
"""Version of the database layout; a file written by a newer lionrx is refused."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT,
    created_at TEXT NOT NULL,
    default_branch TEXT,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS branches (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    system TEXT,
    created_at TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    UNIQUE (session_id, name)
);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    status TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (session_id, status);
CREATE TABLE IF NOT EXISTS branch_messages (
    branch_id TEXT NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages(id),
    PRIMARY KEY (branch_id, position)
);
"""


@dataclass
class StoredSession:
    """What `SqliteStore.load` reads back."""

    id: uuid.UUID
    name: str | None
    created_at: dt.datetime
    default_branch: uuid.UUID | None
    metadata: dict[str, Any]
    messages: dict[uuid.UUID, Message]
    branches: list[Branch]


def _status(message: Message) -> str | None:
    content = message.content
    return content.status if isinstance(content, AssistantResponseContent) else None


class SqliteStore:
    """One SQLite file. Not thread-safe: use it from the event loop's thread only."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _migrate(self) -> None:
        with self._tx():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} uses schema version {row[0]}; this lionrx reads up to "
                    f"{SCHEMA_VERSION} (upgrade lionrx)"
                )

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _tx(self) -> SqliteStore._Tx:
        return SqliteStore._Tx(self._conn)

    # -- reads -----------------------------------------------------------------------------

    def session_ids(self) -> list[uuid.UUID]:
        """Sessions in the file, oldest first."""
        rows = self._conn.execute("SELECT id FROM sessions ORDER BY rowid").fetchall()
        return [uuid.UUID(r[0]) for r in rows]

    def load(self, session_id: uuid.UUID) -> StoredSession:
        """Read one session whole."""
        row = self._conn.execute(
            "SELECT name, created_at, default_branch, metadata FROM sessions WHERE id = ?",
            (str(session_id),),
        ).fetchone()
        if row is None:
            raise KeyError(f"no session {session_id} in {self.path}")
        messages = {
            uuid.UUID(mid): Message.model_validate_json(data)
            for mid, data in self._conn.execute(
                "SELECT id, data FROM messages WHERE session_id = ? ORDER BY rowid",
                (str(session_id),),
            )
        }
        branches = []
        for bid, name, system, created_at, metadata in self._conn.execute(
            "SELECT id, name, system, created_at, metadata FROM branches "
            "WHERE session_id = ? ORDER BY rowid",
            (str(session_id),),
        ).fetchall():
            order = [
                uuid.UUID(r[0])
                for r in self._conn.execute(
                    "SELECT message_id FROM branch_messages WHERE branch_id = ? ORDER BY position",
                    (bid,),
                )
            ]
            branches.append(
                Branch(
                    id=uuid.UUID(bid),
                    name=name,
                    order=order,
                    system=None if system is None else Message.model_validate_json(system),
                    created_at=dt.datetime.fromisoformat(created_at),
                    metadata=json.loads(metadata),
                )
            )
        return StoredSession(
            id=session_id,
            name=row[0],
            created_at=dt.datetime.fromisoformat(row[1]),
            default_branch=None if row[2] is None else uuid.UUID(row[2]),
            metadata=json.loads(row[3]),
            messages=messages,
            branches=branches,
        )

    def in_progress(self, session_id: uuid.UUID) -> Iterator[Message]:
        """Answers stored as still streaming."""
        for (data,) in self._conn.execute(
            "SELECT data FROM messages WHERE session_id = ? AND status = 'in_progress'",
            (str(session_id),),
        ).fetchall():
            yield Message.model_validate_json(data)

    # -- writes ----------------------------------------------------------------------------

    def create_session(
        self,
        session_id: uuid.UUID,
        name: str | None,
        created_at: dt.datetime,
        metadata: dict[str, Any],
    ) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO sessions (id, name, created_at, metadata) VALUES (?, ?, ?, ?)",
                (str(session_id), name, created_at.isoformat(), json.dumps(metadata)),
            )

    def set_default_branch(self, session_id: uuid.UUID, branch_id: uuid.UUID) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE sessions SET default_branch = ? WHERE id = ?",
                (str(branch_id), str(session_id)),
            )

    def save_branch(self, session_id: uuid.UUID, branch: Branch) -> None:
        """Insert or replace a branch with its whole order."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO branches (id, session_id, name, system, created_at, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "system = excluded.system, metadata = excluded.metadata",
                (
                    str(branch.id),
                    str(session_id),
                    branch.name,
                    None if branch.system is None else branch.system.model_dump_json(),
                    branch.created_at.isoformat(),
                    json.dumps(branch.metadata),
                ),
            )
            c.execute("DELETE FROM branch_messages WHERE branch_id = ?", (str(branch.id),))
            c.executemany(
                "INSERT INTO branch_messages (branch_id, position, message_id) VALUES (?, ?, ?)",
                [(str(branch.id), i, str(mid)) for i, mid in enumerate(branch.order)],
            )

    def save_message(
        self,
        session_id: uuid.UUID,
        message: Message,
        append_to: Sequence[tuple[uuid.UUID, int]] = (),
    ) -> None:
        """Insert or replace a message, and append it to branches at the given positions."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO messages (id, session_id, status, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET status = excluded.status, data = excluded.data",
                (str(message.id), str(session_id), _status(message), message.model_dump_json()),
            )
            if append_to:
                c.executemany(
                    "INSERT INTO branch_messages (branch_id, position, message_id) "
                    "VALUES (?, ?, ?)",
                    [(str(bid), pos, str(message.id)) for bid, pos in append_to],
                )

    def delete_branch(self, branch_id: uuid.UUID) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM branches WHERE id = ?", (str(branch_id),))

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self._conn.close()
