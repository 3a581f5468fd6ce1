"""`Branch`: one line of conversation — an ordered list of message ids and a system prompt."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from lionrx.session.messages._message import Message

if TYPE_CHECKING:
    from lionrx.session._session import Session

__all__ = ["Branch"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Branch(BaseModel):
    """A conversation line. Messages live in the session; a branch only orders their ids, so
    forks share history without copying it.

    Change a branch through its session (``session.add_message(msg, branches=branch)``), which
    also persists the change.
    """

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    """Unique id."""
    name: str
    """Unique name within the session."""
    order: list[uuid.UUID] = Field(default_factory=list)
    """Message ids, oldest first (lionpride's ``progression``)."""
    system: Message | None = None
    """The system prompt (a `Message` with `SystemContent`), sent first; not in ``order``."""
    created_at: dt.datetime = Field(default_factory=_now)
    """When the branch was created."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Free-form JSON-safe data."""

    _session: Session | None = PrivateAttr(default=None)

    def __len__(self) -> int:
        return len(self.order)

    def __contains__(self, ref: object) -> bool:
        key = ref.id if isinstance(ref, Message) else ref
        if isinstance(key, str):
            try:
                key = uuid.UUID(key)
            except ValueError:
                return False
        return key in self.order

    @property
    def messages(self) -> list[Message]:
        """The branch's messages, in order (needs the branch to belong to a session)."""
        return [self._owner().messages[i] for i in self.order]

    def fork(self, at: uuid.UUID | str | Message | None = None, name: str | None = None) -> Branch:
        """A new branch sharing this one's history up to and including message ``at`` (all of
        it when ``at`` is None), with the same system prompt."""
        return self._owner().fork_branch(self, at=at, name=name)

    def _owner(self) -> Session:
        if self._session is None:
            raise RuntimeError(f"branch {self.name!r} does not belong to a session")
        return self._session
