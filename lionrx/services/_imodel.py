"""`iModel`: one configured model with three faces on ONE event path.

`iModel._events` is the core: it runs the provider, labels and accumulates every event, and ends
with exactly one `Completed` or `Failed`. `stream` wraps it as a cold Observable, `invoke_stream`
as an async iterator of text, `invoke` as a `Calling`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import aiohttp
from reactivex import Observable
from reactivex.abc import SchedulerBase

from lionrx._bridge import from_async_iterable
from lionrx._errors import ConfigurationError, LionrxError
from lionrx._events import Completed, Event, Failed, ResponseBuilder, TextDelta
from lionrx.providers import Provider, ProviderConfig, get_provider
from lionrx.services._calling import Calling, EventStatus

__all__ = ["iModel"]

Messages = Sequence[Any] | str


def _normalise(messages: Messages | None) -> list[dict[str, Any]]:
    if messages is None:
        raise ConfigurationError("messages= is required")
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, dict):
            out.append(message)
        elif hasattr(message, "to_chat"):
            out.append(message.to_chat())
        elif hasattr(message, "chat_msg"):
            out.append(message.chat_msg)
        else:
            raise ConfigurationError(
                f"each message must be a dict like {{'role': 'user', 'content': ...}}, "
                f"got {type(message).__name__}"
            )
    return out


class iModel:  # noqa: N801 - lionpride's name, kept so that migrating is a search and replace
    """A configured model: ``iModel(provider="openai", model="gpt-4o-mini", temperature=0.7)``.

    Keyword arguments other than the named ones are request defaults sent with every call
    (``temperature``, ``max_tokens``...), except the provider's client options
    (``Provider.client_options``), which configure the provider itself. ``model.backend`` is the
    provider and ``model.backend.config`` its resolved configuration.
    One `aiohttp.ClientSession` serves all calls (pass ``http_session=`` to share one); close it
    with ``await model.aclose()`` or ``async with model:``.
    """

    def __init__(
        self,
        provider: str = "openai",
        model: str | None = None,
        *,
        name: str | None = None,
        endpoint: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = 600.0,
        max_retries: int = 2,
        http_session: aiohttp.ClientSession | None = None,
        **request_defaults: Any,
    ) -> None:
        cls = get_provider(provider)
        options = {
            k: request_defaults.pop(k) for k in list(request_defaults) if k in cls.client_options
        }
        config = ProviderConfig(
            provider=provider,
            model=model,
            endpoint=endpoint,
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            max_retries=max_retries,
            request_defaults=request_defaults,
            options=options,
        )
        self.name: str = name or (f"{provider}/{model}" if model else provider)
        self.backend: Provider = cls(config)
        if hasattr(self.backend, "source"):
            self.backend.source = self.name
        if http_session is not None:
            attach = getattr(self.backend, "attach_session", None)
            if attach is None:
                raise ConfigurationError(f"provider {provider!r} does not use HTTP sessions")
            attach(http_session)

    @property
    def config(self) -> ProviderConfig:
        """The resolved configuration (same as ``backend.config``)."""
        return self.backend.config

    def __repr__(self) -> str:
        config = self.config
        return f"iModel(name={self.name!r}, provider={config.provider!r}, model={config.model!r})"

    # -- the one event path ----------------------------------------------------------------------

    async def _events(
        self, messages: Messages | None, overrides: dict[str, Any]
    ) -> AsyncGenerator[Event, None]:
        """Every event of one call, ending with exactly one `Completed` or `Failed`."""
        name = self.name
        builder = ResponseBuilder(source=name)
        try:
            chat = _normalise(messages)
            params = {**self.backend.config.request_defaults, **overrides}
            events = self.backend.events(chat, params)
            try:
                async for event in events:
                    if event.source != name:
                        event = event.model_copy(update={"source": name})
                    builder.add(event)
                    yield event
            finally:
                # Close the provider's stream now (not at garbage collection): this is what
                # closes the HTTP connection when the consumer stops.
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
        except LionrxError as exc:
            partial = builder.finish()
            exc.partial = partial
            yield Failed.model_construct(source=name, error=exc, partial=partial)
            return
        except Exception as exc:
            # A bug or an unexpected library error is still a value of the stream, not a crash.
            partial = builder.finish()
            error = LionrxError(f"{type(exc).__name__}: {exc}", partial=partial)
            error.__cause__ = exc
            yield Failed.model_construct(source=name, error=error, partial=partial)
            return
        yield Completed.model_construct(source=name, response=builder.finish())

    # -- faces --------------------------------------------------------------------------------

    def stream(
        self,
        messages: Messages | None = None,
        *,
        scheduler: SchedulerBase | None = None,
        **overrides: Any,
    ) -> Observable[Event]:
        """A cold Observable of this call's events: each subscription sends one request; it ends
        with exactly one `Completed` or `Failed`; disposing closes the connection."""
        return from_async_iterable(lambda: self._events(messages, overrides), scheduler=scheduler)

    async def invoke_stream(
        self, messages: Messages | None = None, **overrides: Any
    ) -> AsyncIterator[str]:
        """The answer's text chunks (choice 0). A failure is raised, with ``.partial``, after
        every chunk received before it; leaving the loop closes the connection."""
        async with aclosing(self._events(messages, overrides)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    if event.choice == 0:
                        yield event.text
                elif isinstance(event, Failed):
                    raise event.error

    async def invoke(self, messages: Messages | None = None, **overrides: Any) -> Calling:
        """Run one call to its end and return its `Calling`. Provider failures do not raise:
        the calling comes back ``FAILED`` with the error (``calling.raise_for_status()``)."""
        try:
            chat = _normalise(messages)
        except ConfigurationError:
            chat = []  # the event path reports it as the call's failure
        calling = Calling(model_name=self.name, messages=chat, params=dict(overrides))
        execution = calling.execution
        execution.status = EventStatus.PROCESSING
        start = time.perf_counter()
        try:
            async with aclosing(self._events(messages, overrides)) as events:
                async for event in events:
                    if isinstance(event, Completed):
                        execution.response = event.response
                        execution.status = EventStatus.COMPLETED
                    elif isinstance(event, Failed):
                        execution.error = event.error
                        execution.status = EventStatus.FAILED
        except asyncio.CancelledError:
            execution.status = EventStatus.CANCELLED
            execution.duration = time.perf_counter() - start
            raise
        execution.duration = time.perf_counter() - start
        return calling

    # -- lifetime -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP session this model created (a shared one is left to its owner)."""
        await self.backend.aclose()

    async def __aenter__(self) -> iModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
