"""`Calling`: the record of one `iModel.invoke` (lionpride's shape): status, response, error and
duration, with ``raise_for_status`` for callers who prefer exceptions."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from lionrx._events import Response

__all__ = ["Calling", "EventStatus", "Execution"]


class EventStatus(enum.StrEnum):
    """Where a call stands."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class Execution:
    """The outcome of a call. ``response`` is the full `Response` on success and None otherwise;
    on failure ``error`` holds the exception, whose ``partial`` keeps what was received."""

    status: EventStatus = EventStatus.PENDING
    response: Response | None = None
    error: BaseException | None = None
    duration: float | None = None
    """Seconds from the start of the call to its outcome."""

    @property
    def partial(self) -> Response | None:
        """What was received before a failure (None when nothing, or on success)."""
        return getattr(self.error, "partial", None)


@dataclass
class Calling:
    """One call to a model: what was asked (``model_name``, ``messages``, ``params``) and its
    ``execution``."""

    model_name: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    execution: Execution = field(default_factory=Execution)

    @property
    def status(self) -> EventStatus:
        """Shortcut for ``execution.status``."""
        return self.execution.status

    @property
    def response(self) -> Response | None:
        """Shortcut for ``execution.response``."""
        return self.execution.response

    def raise_for_status(self) -> Calling:
        """Raise the failure (with its partial response) if the call failed; else return self."""
        if self.execution.error is not None:
            raise self.execution.error
        return self

    def __repr__(self) -> str:
        return (
            f"Calling(model={self.model_name!r}, status={self.execution.status.value!r}, "
            f"duration={self.execution.duration!r})"
        )
