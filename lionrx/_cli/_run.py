"""``lionrx run``, ``compare``, ``record`` and ``replay``: one prompt through a pipeline to the
terminal, with the notebook's stats."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

from reactivex import Observable

from lionrx._cli._errors import describe_error
from lionrx._cli._models import DEFAULT_FAKE_TEXT, ModelFactory
from lionrx._cli._output import interrupts, show, show_json
from lionrx._errors import ConfigurationError, StreamCancelled
from lionrx._events import Completed, Failed
from lionrx.providers._base import get_provider
from lionrx.sinks import SinkHandle, file, tee

__all__ = [
    "compare_command",
    "exit_status",
    "model_factory",
    "deadlines",
    "pipeline",
    "present",
    "reshape",
    "record_command",
    "replay_command",
    "run_command",
]


def request_params(args: argparse.Namespace) -> dict[str, Any]:
    """Request parameters from the flags (only those given)."""
    params: dict[str, Any] = {}
    for flag, key in (
        ("temperature", "temperature"),
        ("max_tokens", "max_tokens"),
        ("seed", "seed"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            params[key] = value
    return params


@contextlib.asynccontextmanager
async def model_factory(args: argparse.Namespace) -> AsyncIterator[ModelFactory]:
    """The run's model factory (and its fake server with ``--fake``); closes both at the end."""
    factory = ModelFactory(
        provider=getattr(args, "provider", None),
        base_url=getattr(args, "base_url", None),
        defaults=request_params(args),
        max_retries=getattr(args, "max_retries", 2),
        announce_retries=True,
    )
    server = None
    if getattr(args, "fake", False):
        from lionrx.testing import FakeProviderServer, Script

        texts = list(args.fake_text or [DEFAULT_FAKE_TEXT])

        def script(text: str) -> Script:
            return Script(text=text, delay=args.fake_delay, first_delay=args.fake_delay)

        server = FakeProviderServer(script(texts[-1]))
        server.queue(*(script(t) for t in texts[:-1]))
        await server.start()
        factory.fake_base_url = server.openai_base_url
    try:
        yield factory
    finally:
        try:
            await factory.aclose()
        finally:
            if server is not None:
                await server.close()


async def preload(*models: Any) -> None:
    """Load in-process models now (in threads), so that the stats time the answer, not the
    model's loading."""
    loaders = [m.backend.load() for m in models if callable(getattr(m.backend, "load", None))]
    if loaders:
        await asyncio.gather(*loaders)


def announce(factory: ModelFactory) -> None:
    """Print the model notice (e.g. the local-model default) once, on stderr."""
    if factory.notice:
        print(factory.notice, file=sys.stderr, flush=True)
        factory.notice = None


def deadlines(observable: Observable[Any], args: argparse.Namespace) -> Observable[Any]:
    """``--timeout-first/--timeout-idle/--timeout-total`` on an event stream."""
    from lionrx import operators

    first = getattr(args, "timeout_first", None)
    idle = getattr(args, "timeout_idle", None)
    total = getattr(args, "timeout_total", None)
    if first or idle or total:
        observable = observable.pipe(operators.timeout(first=first, idle=idle, total=total))
    return observable


def reshape(observable: Observable[Any], args: argparse.Namespace) -> Observable[Any]:
    """``--sentence`` and ``--buffer N``: re-chunk the text for display."""
    from lionrx import operators

    if getattr(args, "sentence", False):
        observable = observable.pipe(operators.sentence_chunk())
    size = getattr(args, "buffer", None)
    if size:
        observable = observable.pipe(operators.buffer(count=size))
    return observable


def pipeline(observable: Observable[Any], args: argparse.Namespace) -> Observable[Any]:
    """The flags' operators on an event stream: timeouts, then re-chunking."""
    return reshape(deadlines(observable, args), args)


def exit_status(outcome: Completed | Failed) -> int:
    """0 for an answer, 130 when stopped (Ctrl-C), 1 for a failure."""
    if isinstance(outcome, Completed):
        return 0
    return 130 if isinstance(outcome.error, StreamCancelled) else 1


async def present(
    observable: Observable[Any],
    args: argparse.Namespace,
    *,
    labels: str = "auto",
) -> int:
    """Show a stream (console or ``--json``), record it with ``--record``; Ctrl-C stops it and
    keeps what arrived. Returns the exit status."""
    as_json = getattr(args, "json", False)
    progress = getattr(args, "progress", None)
    mode = "markdown" if getattr(args, "markdown", False) else "raw"

    def display(source: Observable[Any]) -> SinkHandle:
        if as_json:
            return show_json(source)
        return show(
            source,
            mode=mode,  # type: ignore[arg-type]
            stats=not getattr(args, "no_stats", False),
            progress=progress,
            labels=labels,  # type: ignore[arg-type]
        )

    recording = getattr(args, "record", None)
    if recording:
        handles = tee(observable, display, file(recording, format="jsonl"))
    else:
        handles = (display(observable),)

    task = asyncio.current_task()
    presses = 0

    def stop() -> None:
        # First Ctrl-C: stop the answer (connection closed, partial kept). A second one while
        # that is still winding down gives up on it.
        nonlocal presses
        presses += 1
        if presses > 1 and task is not None:
            task.cancel()
        for handle in handles:
            handle.dispose()

    with interrupts(stop):
        outcome = await handles[0].wait()
        for handle in handles[1:]:
            await handle.wait()
    for handle in handles[1:]:
        if handle.error is not None and not isinstance(handle.error, StreamCancelled):
            print(f"lionrx: recording failed: {describe_error(handle.error)}", file=sys.stderr)
    if recording and isinstance(outcome, Completed | Failed):
        print(f"lionrx: recorded to {recording}", file=sys.stderr)
    if as_json and isinstance(outcome, Failed):
        print(f"lionrx: {describe_error(outcome.error)}", file=sys.stderr)
    # A merged stream has one outcome per model: any failure makes the status.
    failures = [o for o in handles[0].outcomes.values() if isinstance(o, Failed)]
    return exit_status(failures[0] if failures else outcome)


def _messages(args: argparse.Namespace) -> list[dict[str, str]]:
    prompt = args.prompt
    if prompt in (None, "-"):
        if sys.stdin.isatty():
            raise ConfigurationError('give a prompt: lionrx run "your question"')
        prompt = sys.stdin.read()
    messages = []
    if getattr(args, "system", None):
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    return messages


async def run_command(args: argparse.Namespace) -> int:
    """``lionrx run "prompt"``."""
    messages = _messages(args)
    async with model_factory(args) as factory:
        wire = getattr(args, "record_wire", None)
        if wire:
            provider = factory.choose(args.model).provider
            if "wire_log" not in get_provider(provider).client_options:
                raise ConfigurationError(
                    f"--record-wire records an HTTP provider's raw body; {provider} has none"
                )
            factory.defaults["wire_log"] = wire
        model = factory.build(args.model)
        announce(factory)
        await preload(model)
        return await present(pipeline(model.stream(messages), args), args)


async def record_command(args: argparse.Namespace) -> int:
    """``lionrx record FILE "prompt"``: ``run`` that also records the events."""
    args.record = args.file
    return await run_command(args)


async def replay_command(args: argparse.Namespace) -> int:
    """``lionrx replay FILE``: a recording played back through the same pipeline."""
    from lionrx.services import iModel

    options: dict[str, Any] = {"path": args.file, "speed": args.speed}
    if args.index is not None:
        options["index"] = args.index
    if args.source:
        options["source"] = args.source
    model = iModel(provider="replay", name=args.source or "replay", **options)
    try:
        return await present(pipeline(model.stream("replay"), args), args)
    finally:
        await model.aclose()


async def compare_command(args: argparse.Namespace) -> int:
    """``lionrx compare "prompt" --model A --model B``: in parallel, side by side."""
    from lionrx.operators import merge_labeled

    messages = _messages(args)
    async with model_factory(args) as factory:
        specs = list(args.model or [])
        if not specs and factory.fake_base_url is not None:
            specs = ["fake-alpha", "fake-beta"]
        if not specs:
            raise ConfigurationError(
                'name the models to compare: lionrx compare "prompt" --model A --model B'
            )
        models = factory.build_many(specs)
        announce(factory)
        await preload(*models)
        streams = {model.name: pipeline(model.stream(messages), args) for model in models}
        layout = args.layout
        return await present(merge_labeled(streams), args, labels=layout)
