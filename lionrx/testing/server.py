"""Run the fake provider server from the command line: ``python -m lionrx.testing.server``.

Prints the server's URL on the first line of stdout, then serves until interrupted. Point an
OpenAI client at ``URL/v1``, an Anthropic client at ``URL``, Ollama at ``URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys

from lionrx.testing._chaos import Fault
from lionrx.testing._server import FakeProviderServer, Recording, Reply, Script

__all__ = ["main", "parse_fault"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lionrx.testing.server",
        description="A fake OpenAI / Anthropic / Ollama streaming server for tests and demos.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument(
        "--text",
        default="Hello from the lionrx fake provider server.",
        help="the scripted answer",
    )
    p.add_argument("--recording", help="serve this raw recorded body instead of --text")
    p.add_argument("--delay", type=float, default=0.0, help="seconds between chunks")
    p.add_argument("--first-delay", type=float, default=0.0, help="seconds before the first chunk")
    p.add_argument(
        "--chunk-size",
        default=None,
        help="characters per text chunk (bytes per write for --recording; 'random' allowed)",
    )
    p.add_argument(
        "--keepalive-every",
        type=float,
        default=None,
        help="seconds between keep-alives while the server waits (--delay, --first-delay)",
    )
    p.add_argument(
        "--fault",
        type=parse_fault,
        default=None,
        metavar="KIND[:ARG...]",
        help="misbehave: drop:K, stall:K:SECONDS, keepalive_only[:SECONDS], garbage[:I], "
        "invalid_json[:I], invalid_utf8[:I], huge_line[:SIZE], trickle[:DELAY], "
        "close_before_headers, wrong_content_type[:TYPE]",
    )
    return p


def parse_fault(spec: str) -> Fault:
    """A `Fault` from ``KIND[:ARG...]`` (the ``--fault`` option)."""
    kind, *args = spec.split(":", 2) if spec.startswith("wrong_content_type") else spec.split(":")
    try:
        if kind == "drop":
            return Fault.drop(int(args[0]))
        if kind == "stall":
            return Fault.stall(int(args[0]), float(args[1]))
        if kind == "keepalive_only":
            return Fault.keepalive_only(float(args[0]) if args else math.inf)
        if kind in ("garbage", "invalid_json", "invalid_utf8"):
            return getattr(Fault, kind)(int(args[0]) if args else 1)  # type: ignore[no-any-return]
        if kind == "huge_line":
            return Fault.huge_line(int(args[0]) if args else 4 * 1024 * 1024)
        if kind == "trickle":
            return Fault.trickle(float(args[0]) if args else 0.0)
        if kind == "close_before_headers":
            return Fault.close_before_headers()
        if kind == "wrong_content_type":
            return Fault.wrong_content_type(args[0] if args else "text/html; charset=utf-8")
    except (IndexError, ValueError):
        raise argparse.ArgumentTypeError(f"bad arguments in fault {spec!r}") from None
    raise argparse.ArgumentTypeError(f"unknown fault {kind!r}")


def _reply(args: argparse.Namespace) -> Reply:
    if args.recording:
        size: int | str | None = args.chunk_size
        if size is not None and size != "random":
            size = int(size)
        return Recording(
            args.recording,
            chunk_size=size,  # type: ignore[arg-type]
            delay=args.delay,
            fault=args.fault,
        )
    return Script(
        text=args.text,
        chunk_size=int(args.chunk_size) if args.chunk_size else None,
        delay=args.delay,
        first_delay=args.first_delay,
        keepalive_every=args.keepalive_every,
        fault=args.fault,
    )


async def _serve(args: argparse.Namespace) -> None:
    async with FakeProviderServer(_reply(args), host=args.host, port=args.port) as server:
        print(server.url, flush=True)
        print(
            f"openai base_url {server.openai_base_url}; anthropic/ollama base_url {server.url}",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m lionrx.testing.server``."""
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
