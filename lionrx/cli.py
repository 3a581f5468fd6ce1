"""The ``lionrx`` command (also ``python -m lionrx``).

- ``lionrx run "prompt"``: one streamed answer through a pipeline, with the notebook's stats;
- ``lionrx chat``: multi-turn chat kept in a SQLite session (``--session FILE``, resumable);
- ``lionrx compare "prompt" --model A --model B``: several models in parallel, side by side;
- ``lionrx record FILE "prompt"`` / ``lionrx replay FILE``: recordings of event streams;
- ``lionrx web``: the browser chat page (``lionrx.web``).

With no API key configured, the embedded local model answers (and the command says so).
Errors are one line with what to do; the exit status is 0 (answered), 1 (failed), 2 (bad
usage or configuration) or 130 (stopped with Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

__all__ = ["build_parser", "main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _model_flags(p: argparse.ArgumentParser, *, many: bool = False) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--provider",
        help="local, openai, anthropic, ollama (default: $LIONRX_PROVIDER, else openai with "
        "OPENAI_API_KEY, anthropic with ANTHROPIC_API_KEY, else local)",
    )
    if many:
        g.add_argument(
            "--model",
            action="append",
            help="a model to compare (repeat); PROVIDER:MODEL picks its provider too",
        )
    else:
        g.add_argument(
            "--model",
            help="model name (PROVIDER:MODEL picks the provider too; for local, a .gguf file)",
        )
    g.add_argument("--base-url", help="server root (an OpenAI-compatible server with no provider)")
    g.add_argument("--temperature", type=float, help="sampling temperature")
    g.add_argument("--max-tokens", type=_positive_int, help="longest answer, in tokens")
    g.add_argument("--seed", type=int, help="sampling seed (local and OpenAI-compatible servers)")
    g.add_argument(
        "--max-retries",
        type=int,
        default=2,
        metavar="N",
        help="retries before an answer starts (connect errors, 429, 5xx; default 2)",
    )
    f = p.add_argument_group("fake provider (tests and demos)")
    f.add_argument(
        "--fake",
        action="store_true",
        help="answer from lionrx's fake provider server, in-process (no model, no network)",
    )
    f.add_argument(
        "--fake-text",
        action="append",
        help="the scripted answer (repeat: one per request, the last one for the rest)",
    )
    f.add_argument(
        "--fake-delay", type=float, default=0.05, help="seconds between fake chunks (0.05)"
    )


def _display_flags(p: argparse.ArgumentParser, *, json: bool = True) -> None:
    g = p.add_argument_group("pipeline and display")
    g.add_argument("--sentence", action="store_true", help="whole sentences (sentence_chunk)")
    g.add_argument("--buffer", type=_positive_int, metavar="N", help="join every N chunks")
    g.add_argument("--markdown", action="store_true", help="render markdown blocks as they end")
    g.add_argument(
        "--progress",
        nargs="?",
        const="dots",
        choices=("dots", "line"),
        help="progress while streaming: dots (default) or a live line",
    )
    g.add_argument(
        "--timeout-first", type=_positive_float, metavar="S", help="first-token deadline"
    )
    g.add_argument(
        "--timeout-idle", type=_positive_float, metavar="S", help="deadline between events"
    )
    g.add_argument(
        "--timeout-total", type=_positive_float, metavar="S", help="whole-answer deadline"
    )
    g.add_argument("--no-stats", action="store_true", help="no stats line after the answer")
    if json:
        g.add_argument("--json", action="store_true", help="events as JSON lines on stdout")
        g.add_argument("--record", metavar="FILE", help="also record the events (jsonl) to FILE")


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="lionrx",
        description="Stream LLM answers through lionrx pipelines to the terminal.",
        epilog="lionrx web --help: the browser chat page.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="stream one answer with stats")
    run.add_argument("prompt", nargs="?", help="the prompt ('-' or none: read stdin)")
    run.add_argument("--system", help="system prompt")
    run.add_argument(
        "--record-wire",
        metavar="FILE",
        help="also append the provider's raw SSE body, with timestamps, to FILE (replayable)",
    )
    _model_flags(run)
    _display_flags(run)

    chat = sub.add_parser("chat", help="multi-turn chat, kept in a session file")
    chat.add_argument(
        "--session", metavar="FILE", help="SQLite session file (resumed if it exists)"
    )
    chat.add_argument("--branch", help="branch to continue (default: the session's default)")
    chat.add_argument("--system", help="set the branch's system prompt")
    _model_flags(chat)
    _display_flags(chat, json=False)

    compare = sub.add_parser("compare", help="several models on one prompt, side by side")
    compare.add_argument("prompt", nargs="?", help="the prompt ('-' or none: read stdin)")
    compare.add_argument("--system", help="system prompt")
    compare.add_argument(
        "--layout",
        choices=("columns", "lines"),
        default="columns",
        help="side-by-side columns in a terminal (default) or labelled lines",
    )
    _model_flags(compare, many=True)
    _display_flags(compare)

    record = sub.add_parser("record", help="run a prompt and record its events to FILE")
    record.add_argument("file", help="recording file (jsonl; appended to)")
    record.add_argument("prompt", nargs="?", help="the prompt ('-' or none: read stdin)")
    record.add_argument("--system", help="system prompt")
    _model_flags(record)
    _display_flags(record, json=False)
    record.set_defaults(json=False)

    replay = sub.add_parser("replay", help="play a recording back through the pipeline")
    replay.add_argument("file", help="a recording made by lionrx record / --record")
    replay.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = recorded timing, 10 = ten times faster, 0 = at once",
    )
    replay.add_argument("--index", type=int, help="which recording of the file (default: first)")
    replay.add_argument("--source", help="the label to replay from a recorded comparison")
    _display_flags(replay)

    sub.add_parser("web", help="serve the browser chat page (lionrx web --help)", add_help=False)
    return parser


def _runner(command: str) -> Callable[[argparse.Namespace], Coroutine[Any, Any, int]]:
    from lionrx._cli import _chat, _run

    commands: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "run": _run.run_command,
        "chat": _chat.chat_command,
        "compare": _run.compare_command,
        "record": _run.record_command,
        "replay": _run.replay_command,
    }
    return commands[command]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (the ``lionrx`` script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["web"]:
        from lionrx.web import main as web_main

        return web_main(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    from lionrx._cli._errors import describe_error
    from lionrx._errors import LionrxError

    try:
        return asyncio.run(_runner(args.command)(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(file=sys.stderr)
        return 130
    except LionrxError as exc:
        print(f"lionrx: {describe_error(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lionrx: {describe_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
