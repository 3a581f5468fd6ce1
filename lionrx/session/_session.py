"""`Session`: messages, branches and models of one conversation space, optionally persisted.

In memory by default; ``Session.open("chat.db")`` keeps everything in SQLite so a conversation
outlives the process, including an answer that was streaming when the process died (it comes
back marked incomplete, reason ``interrupted``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from lionrx._errors import ConfigurationError
from lionrx.session._branch import Branch
from lionrx.session._services import ServiceRegistry
from lionrx.session._store import SqliteStore
from lionrx.session.messages._message import (
    AssistantResponseContent,
    InstructionContent,
    Message,
    SystemContent,
)

if TYPE_CHECKING:
    from reactivex import Observable

    from lionrx._events import Event

__all__ = ["BranchExport", "MessageStore", "Session"]

BranchRef = Branch | str | uuid.UUID
MessageRef = Message | uuid.UUID | str


def _key(ref: MessageRef) -> uuid.UUID:
    if isinstance(ref, Message):
        return ref.id
    if isinstance(ref, uuid.UUID):
        return ref
    return uuid.UUID(str(ref))


class MessageStore(Mapping[uuid.UUID, Message]):
    """All messages of a session by id (``session.messages[msg_id]``; ids may be given as
    `uuid.UUID` or string). Read-only: add and update messages through the session."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, Message] = {}

    def __getitem__(self, ref: MessageRef) -> Message:
        try:
            return self._data[_key(ref)]
        except (KeyError, ValueError):
            raise KeyError(f"no message {ref!s} in this session") from None

    def __contains__(self, ref: object) -> bool:
        try:
            return _key(ref) in self._data  # type: ignore[arg-type]
        except (ValueError, TypeError, AttributeError):
            return False

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"MessageStore({len(self._data)} messages)"


class BranchExport(BaseModel):
    """A branch with its messages, as shared in JSON (`Session.export_branch`)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["lionrx.branch"] = "lionrx.branch"
    """Marks the document's kind."""
    version: Literal[1] = 1
    """Version of this layout."""
    branch: Branch
    """The branch (its order refers to ``messages``)."""
    messages: list[Message]
    """The branch's messages, in order."""


class Session:
    """Messages, branches and models.

    - ``session.messages[msg_id]``: every message; ``session.branches``: branches by name;
      ``session.default_branch``; ``session.services``: models by name.
    - ``create_branch``, ``add_message``, ``fork_branch``, ``export_branch`` /
      ``import_branch``; ``stream(branch, instruction, imodel=...)`` runs a streamed turn and
      records it.
    - ``Session()`` lives in memory; ``Session.open(path)`` persists to SQLite.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        default_branch: str = "default",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.id = uuid.uuid4()
        self.name = name
        self.created_at = dt.datetime.now(dt.UTC)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.messages = MessageStore()
        self.services = ServiceRegistry()
        self._branches: dict[str, Branch] = {}
        self._store: SqliteStore | None = None
        self._default_name = default_branch
        self._default: Branch | None = None

    # -- persistence ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        session_id: uuid.UUID | str | None = None,
        name: str | None = None,
        recover: bool = True,
    ) -> Session:
        """Open (or create) a session stored in the SQLite file ``path``.

        With several sessions in the file pass ``session_id`` (default: the oldest). With
        ``recover`` (default), answers left ``in_progress`` by a process that died mid-stream
        are marked ``incomplete`` with reason ``interrupted`` — their partial text kept. Open a
        file from one process at a time (a second process would take a live answer for an
        interrupted one, until its writer's next write). The session's ``name`` and
        ``metadata`` are stored when it is created.
        """
        store = SqliteStore(path)
        try:
            session = cls(name=name)
            ids = store.session_ids()
            wanted = None if session_id is None else uuid.UUID(str(session_id))
            if wanted is None and ids:
                wanted = ids[0]
            if wanted is not None and wanted in ids:
                stored = store.load(wanted)
                session.id = stored.id
                session.name = stored.name
                session.created_at = stored.created_at
                session.metadata = stored.metadata
                session.messages._data.update(stored.messages)
                for branch in stored.branches:
                    branch._session = session
                    session._branches[branch.name] = branch
                    if branch.id == stored.default_branch:
                        session._default = branch
                session._store = store
            else:
                if wanted is not None:
                    session.id = wanted
                store.create_session(session.id, session.name, session.created_at, session.metadata)
                session._store = store
            if recover:
                for message in list(store.in_progress(session.id)):
                    content = message.content
                    assert isinstance(content, AssistantResponseContent)
                    session.update_message(
                        message.with_content(
                            content.model_copy(
                                update={"status": "incomplete", "incomplete_reason": "interrupted"}
                            )
                        )
                    )
        except BaseException:
            store.close()
            raise
        return session

    @property
    def path(self) -> str | None:
        """The SQLite file, or None for an in-memory session."""
        return None if self._store is None else self._store.path

    def close(self) -> None:
        """Close the database (in-memory sessions: nothing to do). A closed persistent session
        refuses further changes (`sqlite3.ProgrammingError`) rather than keep them in memory
        only."""
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- branches ------------------------------------------------------------------------

    @property
    def branches(self) -> Mapping[str, Branch]:
        """Branches by name, in creation order."""
        return dict(self._branches)

    @property
    def default_branch(self) -> Branch:
        """The branch used when none is given (created on first use)."""
        if self._default is None:
            existing = self._branches.get(self._default_name)
            self._default = existing or self.create_branch(name=self._default_name)
            if self._store is not None:
                self._store.set_default_branch(self.id, self._default.id)
        return self._default

    def create_branch(
        self,
        name: str | None = None,
        *,
        system: str | Message | None = None,
        messages: Iterable[Message] = (),
    ) -> Branch:
        """A new branch named ``name`` (unique; default ``branch-N``), with an optional system
        prompt and initial messages."""
        if name is None:
            n = len(self._branches) + 1
            while f"branch-{n}" in self._branches:
                n += 1
            name = f"branch-{n}"
        if name in self._branches:
            raise ConfigurationError(
                f"a branch named {name!r} already exists in this session; choose another name"
            )
        branch = Branch(name=name, system=_system_message(system))
        branch._session = self
        self._save_branch(branch)
        self._branches[name] = branch
        for message in messages:
            self.add_message(message, branches=branch)
        return branch

    def get_branch(self, ref: BranchRef | None = None) -> Branch:
        """A branch by object, name or id (None: the default branch)."""
        if ref is None:
            return self.default_branch
        if isinstance(ref, Branch):
            if self._branches.get(ref.name) is not ref:
                raise ConfigurationError(f"branch {ref.name!r} belongs to another session")
            return ref
        if isinstance(ref, str) and ref in self._branches:
            return self._branches[ref]
        if ref == self._default_name:
            return self.default_branch
        try:
            wanted = ref if isinstance(ref, uuid.UUID) else uuid.UUID(ref)
        except ValueError:
            wanted = None
        for branch in self._branches.values():
            if branch.id == wanted:
                return branch
        known = ", ".join(repr(n) for n in self._branches) or "none"
        raise ConfigurationError(f"no branch {ref!s} in this session (branches: {known})")

    def fork_branch(
        self,
        branch: BranchRef,
        at: MessageRef | None = None,
        name: str | None = None,
    ) -> Branch:
        """A new branch sharing ``branch``'s history up to and including message ``at`` (all
        of it when None), with the same system prompt."""
        source = self.get_branch(branch)
        order = list(source.order)
        if at is not None:
            key = _key(at)
            try:
                cut = order.index(key)
            except ValueError:
                raise ConfigurationError(
                    f"message {key} is not in branch {source.name!r}; cannot fork there"
                ) from None
            order = order[: cut + 1]
        if name is None:
            n = 1
            while f"{source.name}-fork-{n}" in self._branches:
                n += 1
            name = f"{source.name}-fork-{n}"
        forked = self.create_branch(name)
        forked.system = source.system
        forked.order = order
        forked.metadata = {"forked_from": str(source.id)}
        self._save_branch(forked)
        return forked

    def set_system(self, branch: BranchRef | None, system: str | Message | None) -> None:
        """Set (or clear, with None) a branch's system prompt."""
        target = self.get_branch(branch)
        target.system = _system_message(system)
        self._save_branch(target)

    def _save_branch(self, branch: Branch) -> None:
        if self._store is not None:
            self._store.save_branch(self.id, branch)

    # -- messages ------------------------------------------------------------------------

    def add_message(
        self,
        message: Message,
        branches: BranchRef | Sequence[BranchRef] | None = None,
    ) -> Message:
        """Store ``message`` and append it to ``branches`` (default: the default branch).

        A system message becomes the branches' system prompt instead. Adding a message that
        is already stored appends the same message (no copy) to the branches.
        """
        if not isinstance(message, Message):
            raise TypeError(f"add_message takes a Message, not {type(message).__name__}")
        targets = self._targets(branches)
        if isinstance(message.content, SystemContent):
            for branch in targets:
                branch.system = message
                self._save_branch(branch)
            return message
        # Disk first: when the write fails (closed session, full disk) memory stays as on disk.
        positions = [(branch.id, len(branch.order)) for branch in targets]
        if self._store is not None:
            self._store.save_message(self.id, message, positions)
        self.messages._data[message.id] = message
        for branch in targets:
            branch.order.append(message.id)
        return message

    def update_message(self, message: Message) -> Message:
        """Replace a stored message by one with the same id (e.g. a streamed answer that
        grew or ended)."""
        if message.id not in self.messages._data:
            raise KeyError(f"no message {message.id} in this session")
        if self._store is not None:
            self._store.save_message(self.id, message)
        self.messages._data[message.id] = message
        return message

    def append_to_branch(self, branch: BranchRef, message: MessageRef) -> None:
        """Append an already stored message to a branch."""
        target = self.get_branch(branch)
        stored = self.messages[message]
        if self._store is not None:
            self._store.save_message(self.id, stored, [(target.id, len(target.order))])
        target.order.append(stored.id)

    def _targets(self, branches: BranchRef | Sequence[BranchRef] | None) -> list[Branch]:
        if branches is None:
            return [self.default_branch]
        if isinstance(branches, Branch | str | uuid.UUID):
            return [self.get_branch(branches)]
        return [self.get_branch(b) for b in branches]

    # -- export / import -----------------------------------------------------------------

    def export_branch(self, branch: BranchRef | None = None, *, indent: int | None = None) -> str:
        """The branch and its messages as JSON (`BranchExport`)."""
        source = self.get_branch(branch)
        doc = BranchExport(branch=source, messages=[self.messages[i] for i in source.order])
        return doc.model_dump_json(indent=indent)

    def import_branch(
        self, data: str | bytes | dict[str, Any], *, name: str | None = None
    ) -> Branch:
        """Add a branch exported by `export_branch` (from any session).

        Messages keep their ids; one already stored must be identical. The branch gets a new
        id, and ``name`` (default: its exported name, which must be free).
        """
        if isinstance(data, dict):
            doc = BranchExport.model_validate(data)
        else:
            doc = BranchExport.model_validate_json(data)
        by_id = {m.id: m for m in doc.messages}
        missing = [i for i in doc.branch.order if i not in by_id]
        if missing:
            raise ValueError(f"exported branch refers to messages it does not contain: {missing}")
        for message in doc.messages:
            existing = self.messages.get(message.id)
            if existing is not None and existing != message:
                raise ValueError(f"message {message.id} already exists here with different content")
        branch = self.create_branch(name or doc.branch.name, system=doc.branch.system)
        branch.metadata = dict(doc.branch.metadata)
        for mid in doc.branch.order:
            message = by_id[mid]
            if mid in self.messages:
                self.append_to_branch(branch, mid)
            else:
                self.add_message(message, branches=branch)
        self._save_branch(branch)
        return branch

    # -- turns ---------------------------------------------------------------------------

    def stream(
        self,
        branch: BranchRef | None,
        instruction: str | Message,
        *,
        imodel: Any = None,
        context: Any = None,
        images: Sequence[str] = (),
        persist_interval: float = 1.0,
        pipe: Sequence[Callable[[Observable[Any]], Observable[Any]]] = (),
        **kwargs: Any,
    ) -> Observable[Event]:
        """A streamed turn: the model's event Observable, recorded in ``branch``.

        Cold, like every lionrx stream: each subscription is one turn — it appends the
        instruction, sends the branch's history to ``imodel`` (a registered name or a model;
        default: the only registered model), and records the answer with the history sink
        (`lionrx.sinks.history`): complete on `Completed`, incomplete with the reason on
        failure or disposal, and persisted while it streams at most every
        ``persist_interval`` seconds. ``pipe`` applies event operators to the model's stream
        before it is recorded, e.g. ``pipe=[operators.timeout(idle=10)]`` so that a timeout is
        recorded as one (reason ``timeout``). ``kwargs`` go to ``imodel.stream`` (temperature,
        ...).
        """
        from lionrx.session._turn import stream_turn

        return stream_turn(
            self,
            branch,
            instruction,
            imodel=imodel,
            context=context,
            images=images,
            persist_interval=persist_interval,
            pipe=pipe,
            kwargs=kwargs,
        )

    def resolve_model(self, imodel: Any = None) -> Any:
        """A model from a registered name, a model object, or (None) the only one
        registered."""
        if imodel is None:
            names = self.services.list_names()
            if len(names) != 1:
                raise ConfigurationError(
                    "say which model to use (imodel=...): "
                    f"{len(names)} models are registered in this session"
                )
            return self.services.get(names[0])
        if isinstance(imodel, str):
            return self.services.get(imodel)
        return imodel

    def __repr__(self) -> str:
        where = f" at {self.path}" if self._store is not None else ""
        return (
            f"<Session {self.name or self.id}{where}: {len(self.messages)} messages, "
            f"{len(self._branches)} branches>"
        )


def _system_message(system: str | Message | None) -> Message | None:
    if system is None:
        return None
    if isinstance(system, Message):
        if not isinstance(system.content, SystemContent):
            raise ConfigurationError("a branch's system prompt must be a SystemContent message")
        return system
    return Message(content=SystemContent(system_message=system))


def instruction_message(
    instruction: str | Message, *, context: Any = None, images: Sequence[str] = ()
) -> Message:
    """The user message of a turn."""
    if isinstance(instruction, Message):
        return instruction
    return Message(
        content=InstructionContent(instruction=instruction, context=context, images=tuple(images))
    )
