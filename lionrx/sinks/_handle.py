"""`SinkHandle`: what every sink returns — a subscription you can await for the stream's outcome.

A sink is a function that subscribes a `Sink` (three callbacks) to an event or text Observable
and returns the handle. The handle normalises both stream shapes of the stream contract into
events, so a sink only ever sees ``on_event`` (non-terminal events), ``on_outcome`` (one
`Completed` / `Failed` per source) and ``on_close`` (once, at the very end).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from reactivex import Observable
from reactivex.abc import SchedulerBase
from reactivex.disposable import SingleAssignmentDisposable

from lionrx._errors import StreamCancelled
from lionrx._events import Completed, Event, Failed, Response, ResponseBuilder, TextDelta

__all__ = ["Outcome", "Sink", "SinkHandle"]

Outcome = Completed | Failed
"""A terminal event: how one source's stream ended."""


class Sink:
    """Base of sink bodies: override what you need; every method defaults to doing nothing.

    The handle calls them on the event loop, in stream order:

    - ``on_event(event)`` for each non-terminal event (``str`` items of a text stream arrive as
      `TextDelta`);
    - ``on_outcome(outcome)`` once per source when its `Completed` / `Failed` arrives (a text
      stream's completion or error is turned into one; disposal gives ``Failed(StreamCancelled)``);
    - ``on_close()`` once after the last outcome, to release files and flush terminals.

    ``on_outcome`` and ``on_close`` may return an awaitable (e.g. an ``fsync`` or a database
    write run off the loop): the handle runs them in order and counts as done only after them.

    Exceptions raised by a callback stop the stream (the subscription is disposed, closing the
    HTTP connection) and become the handle's failure: a sink that cannot write must not lose
    that fact silently.
    """

    def on_event(self, event: Event) -> None:
        """A non-terminal event arrived."""

    def on_text(self, text: str) -> None:
        """A ``str`` chunk of a text stream arrived (never empty).

        The default hands it to `on_event` as a `TextDelta`; sinks that only need the text
        override it to skip building an event per chunk (the hot path).
        """
        self.on_event(TextDelta.model_construct(text=text, source=None, choice=0))

    def on_outcome(self, outcome: Outcome) -> Awaitable[None] | None:
        """One source's stream ended (a merged stream has one outcome per label)."""
        return None

    def on_close(self) -> Awaitable[None] | None:
        """The stream is over (all outcomes delivered); release resources."""
        return None


class SinkHandle:
    """A running sink. Await it for the final `Response`, or ``wait()`` for the outcome.

    - ``await handle`` returns the `Response` when the stream completed and **raises** the
      failure (a `LionrxError` whose ``.partial`` holds everything received) when it failed —
      the same contract as ``invoke_stream``.
    - ``await handle.wait()`` never raises for stream failures: it returns the last outcome
      (`Completed` or `Failed`).
    - ``handle.response`` is the final (or partial) `Response`, ``handle.error`` the failure,
      ``handle.outcome`` the last outcome, ``handle.outcomes`` every outcome by source label
      (merged streams end with one per label), ``handle.done`` whether it ended.
    - ``handle.dispose()`` unsubscribes (closing the HTTP connection); the sink then sees
      ``Failed(StreamCancelled, partial)``, so nothing received is lost. Cancelling a task that
      awaits the handle disposes it too.

    For a merged stream ``await handle`` returns the response of the last source to finish, and
    raises the first failure if any source failed; use ``outcomes`` for the rest.
    """

    def __init__(
        self,
        observable: Observable[Any],
        sink: Sink,
        *,
        scheduler: SchedulerBase | None = None,
        name: str | None = None,
    ) -> None:
        self.sink = sink
        self.name = name or type(sink).__name__
        self.outcomes: dict[str | None, Outcome] = {}
        self.outcome: Outcome | None = None
        self._builders: dict[str | None, ResponseBuilder] = {}
        # Text-stream chunks are folded into the builder once, at the end: no event per chunk.
        self._text_parts: list[str] = []
        self._first_text_at: float | None = None
        self._closed = False
        self._settled = False
        self._chain: asyncio.Future[None] | None = None
        self._sink_error: BaseException | None = None
        self._event = asyncio.Event()
        self._callbacks: list[Callable[[SinkHandle], None]] = []
        self._subscription = SingleAssignmentDisposable()
        subscription = observable.subscribe(
            on_next=self._on_next,
            on_error=self._on_error,
            on_completed=self._on_completed,
            scheduler=scheduler,
        )
        self._subscription.disposable = subscription
        if self._closed:
            # The stream finished synchronously inside subscribe().
            subscription.dispose()

    # -- public face ---------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the stream ended (completed, failed or disposed) and the sink finished."""
        return self._settled

    @property
    def response(self) -> Response | None:
        """The final response, or the partial one of a failure; None while running."""
        outcome = self.outcome
        if outcome is None:
            return None
        return outcome.response if isinstance(outcome, Completed) else outcome.partial

    @property
    def error(self) -> BaseException | None:
        """The sink's own failure (it could not write), else the first stream failure, or None."""
        if self._sink_error is not None:
            return self._sink_error
        for outcome in self.outcomes.values():
            if isinstance(outcome, Failed):
                return outcome.error
        return None

    async def wait(self) -> Outcome:
        """Wait for the end of the stream and return its (last) outcome; never raises for
        stream failures. Cancelling the waiting task disposes the subscription."""
        if not self._settled:
            try:
                await self._event.wait()
            except asyncio.CancelledError:
                self.dispose()
                raise
        assert self.outcome is not None
        return self.outcome

    async def result(self) -> Response:
        """The final `Response`; raises the failure (with ``.partial``) if the stream failed."""
        outcome = await self.wait()
        error = self.error
        if error is not None:
            raise error
        assert isinstance(outcome, Completed)
        return outcome.response

    def __await__(self) -> Generator[Any, None, Response]:
        return self.result().__await__()

    def add_done_callback(self, callback: Callable[[SinkHandle], None]) -> None:
        """Call ``callback(handle)`` when the handle is done (at once if it already is)."""
        if self._settled:
            callback(self)
        else:
            self._callbacks.append(callback)

    def dispose(self) -> None:
        """Stop: unsubscribe (closing the connection); the sink sees a cancelled outcome."""
        if self._closed:
            return
        self._subscription.dispose()
        self._end_pending(self._cancelled)

    def __repr__(self) -> str:
        state = "running" if not self._settled else type(self.outcome).__name__.lower()
        return f"<SinkHandle {self.name} {state}>"

    # -- observer ------------------------------------------------------------------------

    def _builder(self, source: str | None) -> ResponseBuilder:
        builder = self._builders.get(source)
        if builder is None:
            builder = self._builders[source] = ResponseBuilder(source=source)
        return builder

    def _on_next(self, item: Any) -> None:
        if self._closed:
            return
        if type(item) is str:
            if item:
                parts = self._text_parts
                if not parts:
                    self._first_text_at = time.perf_counter()
                parts.append(item)
                try:
                    self.sink.on_text(item)
                except Exception as exc:  # noqa: BLE001 - the sink's own failure ends the stream
                    self._sink_failed(exc)
            return
        try:
            kind = item.kind
            if kind == "completed" or kind == "failed":
                self._record(item)
                return
            if kind == "fallback":
                # The failed stream hands over to the next one (which may carry another
                # label): it is no longer a source awaiting its own outcome.
                self._builders.pop(item.source, None)
                self.sink.on_event(item)
                return
            self._builder(item.source).add(item)
            self.sink.on_event(item)
        except Exception as exc:  # noqa: BLE001 - the sink's own failure ends the stream
            self._sink_failed(exc)

    def _on_error(self, error: Exception) -> None:
        partial = getattr(error, "partial", None)

        def make(source: str | None, builder: ResponseBuilder) -> Outcome:
            response = partial if isinstance(partial, Response) else builder.finish()
            return Failed.model_construct(error=error, partial=response, source=source)

        self._end_pending(make)

    def _on_completed(self) -> None:
        # A text stream (or an event stream cut short by e.g. ``take``) ends without a
        # terminal event: its completion means success with what was received.
        self._end_pending(
            lambda source, builder: Completed.model_construct(
                response=builder.finish(), source=source
            )
        )

    # -- internals -----------------------------------------------------------------------

    def _fold_text(self) -> None:
        """Fold the ``str`` chunks of a text stream into the unlabelled source's builder."""
        parts = self._text_parts
        if not parts:
            return
        self._text_parts = []
        builder = self._builder(None)
        builder.add(TextDelta.model_construct(text="".join(parts), source=None, choice=0))
        builder.chunks += len(parts) - 1
        builder.first_text_at = self._first_text_at

    def _end_pending(self, make: Callable[[str | None, ResponseBuilder], Outcome]) -> None:
        """Give every source still without an outcome one, then close."""
        if self._closed:
            return
        self._fold_text()
        pending = [s for s in self._builders if s not in self.outcomes]
        if not self.outcomes and not pending:
            pending = [None]
        for source in pending:
            if self._closed:
                return
            self._record(make(source, self._builder(source)))
        self._close()

    def _record(self, outcome: Outcome) -> None:
        self.outcomes[outcome.source] = outcome
        self.outcome = outcome
        try:
            self._later(self.sink.on_outcome(outcome))
        except Exception as exc:  # noqa: BLE001 - the sink failed to finish: say so
            self._sink_failed(exc)

    def _cancelled(self, source: str | None, builder: ResponseBuilder) -> Outcome:
        partial = builder.finish()
        error = StreamCancelled("the sink was disposed", partial=partial)
        return Failed.model_construct(error=error, partial=partial, source=source)

    def _sink_failed(self, exc: Exception) -> None:
        if self._closed or self._sink_error is not None:
            return
        self._subscription.dispose()
        self._sink_error = exc
        self._fold_text()
        pending = [s for s in self._builders if s not in self.outcomes] or [None]
        for source in pending:
            builder = self._builder(source)
            failed = Failed.model_construct(error=exc, partial=builder.finish(), source=source)
            self.outcomes[source] = failed
            self.outcome = failed
            try:
                self._later(self.sink.on_outcome(failed))
            except Exception:  # noqa: BLE001 - already failing; keep the first error
                pass
        self._close()

    def _later(self, result: Awaitable[None] | None) -> None:
        """Run a sink's awaitable after the ones before it (order matters: outcome, close)."""
        if result is None or not inspect.isawaitable(result):
            return
        previous = self._chain

        async def run() -> None:
            if previous is not None:
                await previous
            try:
                await result
            except Exception as exc:  # noqa: BLE001 - reported through the handle
                if self._sink_error is None:
                    self._sink_error = exc

        self._chain = asyncio.ensure_future(run())

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._later(self.sink.on_close())
        except Exception as exc:  # noqa: BLE001 - e.g. a flush failed: the handle must say so
            if self._sink_error is None:
                self._sink_error = exc
        if self._chain is None:
            self._settle()
        else:
            self._chain.add_done_callback(lambda _: self._settle())

    def _settle(self) -> None:
        self._settled = True
        self._event.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)
