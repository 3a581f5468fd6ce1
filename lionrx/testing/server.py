"""Run the fake provider server from the command line: ``python -m lionrx.testing.server``.

Prints the server's URL on the first line of stdout, then serves until interrupted. Point an
OpenAI client at ``URL/v1``, an Anthropic client at ``URL``, Ollama at ``URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from lionrx.testing._server import FakeProviderServer, Recording, Reply, Script

__all__ = ["main"]


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
    return p


def _reply(args: argparse.Namespace) -> Reply:
    if args.recording:
        size: int | str | None = args.chunk_size
        if size is not None and size != "random":
            size = int(size)
        return Recording(args.recording, chunk_size=size, delay=args.delay)  # type: ignore[arg-type]
    return Script(
        text=args.text,
        chunk_size=int(args.chunk_size) if args.chunk_size else None,
        delay=args.delay,
        first_delay=args.first_delay,
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
