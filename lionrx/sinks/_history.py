"""The history sink: record a streamed answer in a session branch, whatever way it ends.

On `Completed` the answer is stored complete; on `Failed` (an error, a timeout) or disposal
(cancellation) the partial answer is stored ``incomplete`` with the reason, so nothing received
is lost and a cut-off answer never reads as complete. While the answer streams, its partial
text is written at most every ``persist_interval`` seconds (the first text at once), so a
process killed mid-stream leaves it in a persistent session, to be recovered as
``interrupted``. A merged multi-model stream gives one message per source label.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

from reactivex import Observable
from reactivex.abc import DisposableBase, SchedulerBase

from lionrx._errors import StreamCancelled, StreamTimeout, error_to_dict
from lionrx._events import Completed, Event, Failed, ResponseBuilder
from lionrx._rx import resolve_scheduler
from lionrx.session.messages._message import AssistantResponseContent, Message
from lionrx.sinks._handle import Outcome, Sink, SinkHandle

if TYPE_CHECKING:
    from lionrx.session._branch import Branch
    from lionrx.session._session import Session

__all__ = ["HistorySink", "SinkFactory", "history", "incomplete_reason"]

_CONTENT_KINDS = frozenset({"text", "reasoning", "refusal", "tool_call"})


def incomplete_reason(error: BaseException) -> str:
    """The ``incomplete_reason`` recorded for a failure: ``cancelled``, ``timeout`` or
    ``error``."""
    if isinstance(error, StreamCancelled):
        return "cancelled"
    if isinstance(error, StreamTimeout | TimeoutError):
        return "timeout"
    return "error"


class _Turn:
    __slots__ = ("builder", "message", "branch", "dirty", "last_write", "timer")

    def __init__(self, source: str | None, branch: Branch) -> None:
        self.builder = ResponseBuilder(source=source)
        self.message: Message | None = None
        self.branch = branch
        self.dirty = False
        self.last_write: dt.datetime | None = None
        self.timer: DisposableBase | None = None


class HistorySink(Sink):
    """Records each source's answer as an assistant `Message` in a session branch.

    ``branch`` is one branch for every source, or a mapping from source label to branch (a
    label not in the mapping goes to ``default``, the mapping's ``None`` key, when present).
    ``messages`` lists the recorded messages by label once they exist.
    """

    def __init__(
        self,
        session: Session,
        branch: Branch | Mapping[str | None, Branch],
        *,
        persist_interval: float = 1.0,
        model_name: str | None = None,
        metadata: dict[str, Any] | None = None,
        scheduler: SchedulerBase | None = None,
    ) -> None:
        if persist_interval < 0:
            raise ValueError("persist_interval must be >= 0")
        self.session = session
        self._branch = branch
        self.persist_interval = dt.timedelta(seconds=persist_interval)
        self.model_name = model_name
        self.metadata = dict(metadata or {})
        self._scheduler = scheduler
        self._turns: dict[str | None, _Turn] = {}
        self.messages: dict[str | None, Message] = {}

    # -- Sink ----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        turn = self._turn(event.source)
        turn.builder.add(event)
        if event.kind in _CONTENT_KINDS:
            turn.dirty = True
            if turn.timer is None:
                self._schedule(event.source, turn)

    def on_outcome(self, outcome: Outcome) -> None:
        turn = self._turn(outcome.source)
        if turn.timer is not None:
            turn.timer.dispose()
            turn.timer = None
        if isinstance(outcome, Completed):
            content = AssistantResponseContent.from_response(
                outcome.response, model_name=self.model_name
            )
        else:
            assert isinstance(outcome, Failed)
            error = outcome.error
            content = AssistantResponseContent.from_response(
                outcome.partial,
                status="incomplete",
                incomplete_reason=incomplete_reason(error),
                error=error_to_dict(error),
                model_name=self.model_name,
            )
        self._write(turn, content)

    def on_close(self) -> None:
        for turn in self._turns.values():
            if turn.timer is not None:
                turn.timer.dispose()
                turn.timer = None

    # -- internals -----------------------------------------------------------------------

    def _turn(self, source: str | None) -> _Turn:
        turn = self._turns.get(source)
        if turn is None:
            turn = self._turns[source] = _Turn(source, self._branch_for(source))
        return turn

    def _branch_for(self, source: str | None) -> Branch:
        branch = self._branch
        if isinstance(branch, Mapping):
            found = branch.get(source, branch.get(None))
            if found is None:
                raise KeyError(f"no branch for stream {source!r} in the history sink's mapping")
            return found
        return branch

    def _schedule(self, source: str | None, turn: _Turn) -> None:
        scheduler = self._scheduler = resolve_scheduler(self._scheduler)
        now = scheduler.now
        if turn.last_write is None or now - turn.last_write >= self.persist_interval:
            # The first text (and text after a quiet spell) is written at once.
            self._flush(turn)
            return
        delay = turn.last_write + self.persist_interval - now

        def fire(_: Any, __: Any = None) -> None:
            turn.timer = None
            if turn.dirty:
                self._flush(turn)

        turn.timer = scheduler.schedule_relative(delay, fire)

    def _flush(self, turn: _Turn) -> None:
        content = AssistantResponseContent.from_response(
            turn.builder.build(), status="in_progress", model_name=self.model_name
        )
        self._write(turn, content)

    def _write(self, turn: _Turn, content: AssistantResponseContent) -> None:
        turn.dirty = False
        if self._scheduler is not None:
            turn.last_write = self._scheduler.now
        source = turn.builder.source
        if turn.message is None:
            metadata = dict(self.metadata)
            if source is not None:
                metadata.setdefault("source", source)
            message = Message(id=uuid.uuid4(), content=content, metadata=metadata)
            self.session.add_message(message, branches=turn.branch)
        else:
            message = self.session.update_message(turn.message.with_content(content))
        turn.message = message
        self.messages[source] = message


SinkFactory = Callable[[Observable[Any]], SinkHandle]


@overload
def history(
    session: Session,
    branch: Branch | str | Mapping[str | None, Branch] | None = ...,
    stream: None = ...,
    *,
    persist_interval: float = ...,
    model_name: str | None = ...,
    metadata: dict[str, Any] | None = ...,
    scheduler: SchedulerBase | None = ...,
) -> SinkFactory: ...


@overload
def history(
    session: Session,
    branch: Branch | str | Mapping[str | None, Branch] | None,
    stream: Observable[Any],
    *,
    persist_interval: float = ...,
    model_name: str | None = ...,
    metadata: dict[str, Any] | None = ...,
    scheduler: SchedulerBase | None = ...,
) -> SinkHandle: ...


def history(
    session: Session,
    branch: Branch | str | Mapping[str | None, Branch] | None = None,
    stream: Observable[Any] | None = None,
    *,
    persist_interval: float = 1.0,
    model_name: str | None = None,
    metadata: dict[str, Any] | None = None,
    scheduler: SchedulerBase | None = None,
) -> SinkHandle | SinkFactory:
    """Record a stream's answer in ``session``'s ``branch`` (default: the default branch).

    ``history(session, branch, stream)`` subscribes now and returns the `SinkHandle` (await it
    for the `Response`; it raises the failure, which is recorded all the same);
    ``history(session, branch)`` returns a sink factory for ``stream.pipe(...)`` or `tee`.
    The handle's ``sink.messages`` holds the recorded messages by source label.

    On `Completed` the answer is stored complete; on failure, timeout or disposal the partial
    answer is stored ``incomplete`` with the reason (``error``, ``timeout``, ``cancelled``).
    While streaming, the partial text is written at most every ``persist_interval`` seconds.
    ``branch`` may map source labels to branches for a merged multi-model stream (one message
    per label either way).
    """
    target: Branch | Mapping[str | None, Branch]
    if isinstance(branch, Mapping):
        target = {k: session.get_branch(v) for k, v in branch.items()}
    else:
        target = session.get_branch(branch)

    def subscribe(observable: Observable[Any]) -> SinkHandle:
        sink = HistorySink(
            session,
            target,
            persist_interval=persist_interval,
            model_name=model_name,
            metadata=metadata,
            scheduler=scheduler,
        )
        return SinkHandle(observable, sink, scheduler=scheduler, name="history")

    if stream is None:
        return subscribe
    return subscribe(stream)
