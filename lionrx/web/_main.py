"""``lionrx web``: serve the chat page (``lionrx.web.main(argv)``; ``python -m lionrx.web``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from lionrx._errors import LionrxError, redact

__all__ = ["build_parser", "main"]

_DEMO_ANSWER = """\
## Streaming, progressively

Each answer arrives **chunk by chunk**. Finished blocks are rendered once; only the last one is \
redrawn while it grows.

- time to first token, tokens/s and chunks update live below the answer
- *Stop* cancels the request upstream and keeps the partial answer, marked
- compare mode streams two models side by side

```python
async for chunk in model.invoke_stream(messages=messages):
    print(chunk, end="", flush=True)
```

Model output is shown as text or safe markdown: <script>alert(1)</script> stays text, and \
[links](javascript:alert(1)) only work for http(s).
"""


def default_session_path() -> Path:
    """Where conversations are kept by default: ``$XDG_DATA_HOME/lionrx/web.sqlite``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lionrx" / "web.sqlite"


def build_parser(prog: str = "lionrx web") -> argparse.ArgumentParser:
    """The command's arguments (the ``lionrx`` CLI can reuse this parser)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve lionrx's streaming chat page in the browser."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any)")
    parser.add_argument(
        "--session",
        type=Path,
        default=None,
        help=f"SQLite file for conversations (default {default_session_path()})",
    )
    parser.add_argument(
        "--provider",
        default=None,
        help="provider: local, openai, anthropic, ollama (default: $LIONRX_PROVIDER, else "
        "the provider whose API key is set, else the embedded local model)",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=None,
        help="model (or provider:model); repeat to offer several (compare mode picks two)",
    )
    parser.add_argument("--base-url", default=None, help="server root for the provider")
    parser.add_argument("--max-tokens", type=int, default=None, help="cap each answer's tokens")
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    parser.add_argument(
        "--fake",
        action="store_true",
        help="answer from lionrx's fake provider server (tests and demos, no model needed)",
    )
    parser.add_argument(
        "--fake-delay", type=float, default=0.03, help="seconds between fake chunks"
    )
    return parser


def _models(args: argparse.Namespace, fake_url: str | None) -> list[Any]:
    # The same choice as every lionrx command: flags, then environment, then the local model.
    from lionrx._cli._models import ModelFactory

    defaults: dict[str, Any] = {}
    if args.max_tokens is not None:
        defaults["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        defaults["temperature"] = args.temperature
    factory = ModelFactory(
        provider=args.provider, base_url=args.base_url, fake_base_url=fake_url, defaults=defaults
    )
    specs: list[str] = args.model or (["fake-alpha", "fake-beta"] if fake_url else [])
    models = factory.build_many(specs) if specs else [factory.build(None)]
    if factory.notice:
        print(factory.notice, file=sys.stderr, flush=True)
    return models


async def _serve(args: argparse.Namespace) -> None:
    from lionrx.web._app import create_app

    fake = None
    if args.fake:
        from lionrx.testing._server import FakeProviderServer, Script

        fake = FakeProviderServer(Script(text=_DEMO_ANSWER, delay=args.fake_delay))
        await fake.start()
    try:
        models = _models(args, fake.openai_base_url if fake is not None else None)
        path = args.session or default_session_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        app = create_app(models, session=path, close_models=True)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in str(host) else host
        print(
            f"lionrx web: serving on http://{shown}:{port}/ "
            f"(models: {', '.join(m.name for m in models)}; "
            f"conversations in {path})",
            flush=True,
        )
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
    finally:
        if fake is not None:
            await fake.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lionrx web``; returns the exit status. Errors are one line, no traceback."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0
    except (LionrxError, OSError, ValueError) as exc:
        print(f"lionrx web: {redact(str(exc))}", file=sys.stderr)
        return 1
    return 0
