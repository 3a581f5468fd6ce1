"""A streamed turn: instruction in, the model's events out, both recorded in a branch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.abc import DisposableBase, ObserverBase, SchedulerBase
from reactivex.disposable import Disposable

from lionrx.session.messages._chat import prepare_anthropic_chat, prepare_messages_for_chat

if TYPE_CHECKING:
    from lionrx._events import Event
    from lionrx.session._session import BranchRef, Session

__all__ = ["chat_for_model", "stream_turn"]


def chat_for_model(model: Any, messages: Any, branch: Any) -> list[dict[str, Any]]:
    """The branch as chat messages for ``model``: OpenAI's shape, or for an Anthropic model the
    Anthropic blocks (tool use and results, merged roles, thinking) after a system message,
    which the provider moves out of the list."""
    provider = getattr(getattr(model, "config", None), "provider", None)
    if provider == "anthropic":
        chat = prepare_anthropic_chat(messages, branch)
        head = [{"role": "system", "content": chat["system"]}] if chat["system"] else []
        return head + chat["messages"]
    return prepare_messages_for_chat(messages, branch)


def stream_turn(
    session: Session,
    branch: BranchRef | None,
    instruction: Any,
    *,
    imodel: Any,
    context: Any,
    images: Sequence[str],
    persist_interval: float,
    pipe: Sequence[Callable[[Observable[Any]], Observable[Any]]],
    kwargs: dict[str, Any],
) -> Observable[Event]:
    """See `Session.stream`."""
    from lionrx.session._session import instruction_message
    from lionrx.sinks._handle import SinkHandle
    from lionrx.sinks._history import HistorySink

    model = session.resolve_model(imodel)
    target = session.get_branch(branch)

    def subscribe(
        observer: ObserverBase[Event], scheduler: SchedulerBase | None = None
    ) -> DisposableBase:
        message = instruction_message(instruction, context=context, images=images)
        session.add_message(message, branches=target)
        chat = chat_for_model(model, session.messages, target)
        # One request shared by the history sink and the caller: the sink subscribes first,
        # so the branch already holds the answer when the caller sees the terminal event.
        source: Observable[Any] = model.stream(messages=chat, **kwargs)
        for operator in pipe:
            source = operator(source)
        published = source.pipe(ops.publish())
        sink = HistorySink(
            session,
            target,
            persist_interval=persist_interval,
            model_name=getattr(model, "name", None),
            scheduler=scheduler,
        )
        handle = SinkHandle(published, sink, scheduler=scheduler, name="history")
        subscription = published.subscribe(observer, scheduler=scheduler)
        connection = published.connect(scheduler)

        def dispose() -> None:
            # Record the cancellation (with the partial answer) before closing the request.
            handle.dispose()
            subscription.dispose()
            if connection is not None:
                connection.dispose()

        return Disposable(dispose)

    return reactivex.create(subscribe)
