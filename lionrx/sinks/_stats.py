"""Text for the console's stats line and progress displays (pure functions, no I/O)."""

from __future__ import annotations

from typing import Any

from lionrx._events import Response

__all__ = ["format_progress", "format_stats", "output_tokens"]


def output_tokens(response: Response) -> tuple[int, bool]:
    """(output tokens, exact): the provider's count when it reported one, else ~4 chars/token."""
    usage = response.usage
    if usage is not None and usage.output_tokens is not None:
        return usage.output_tokens, True
    text = "".join(response.texts.values())
    return (len(text) + 3) // 4, False


def format_stats(response: Response, label: str | None = None) -> str:
    """The notebook's stats line: chunks, time to first chunk, total time, tokens/s."""
    parts = [f"{response.chunks} chunks"]
    if response.time_to_first_text is not None:
        parts.append(f"first chunk {response.time_to_first_text:.2f}s")
    total = response.total_time
    if total is not None:
        parts.append(f"total {total:.2f}s")
    tokens, exact = output_tokens(response)
    # Rate over the generation itself (after the first chunk), as token counters do.
    gen = None
    if total is not None:
        gen = total - (response.time_to_first_text or 0.0)
    if gen and gen > 0 and tokens:
        parts.append(f"{'' if exact else '~'}{tokens / gen:.1f} tokens/s")
    elif tokens:
        parts.append(f"{'' if exact else '~'}{tokens} tokens")
    prefix = f"[{label}] " if label else ""
    return f"{prefix}📊 Stats: " + " | ".join(parts)


_MIN_RATE_WINDOW = 0.25
"""Seconds of generation before a progress line shows a rate."""


def _get(progress: Any, *names: str) -> Any:
    for name in names:
        value = getattr(progress, name, None)
        if value is not None:
            return value
    return None


def format_progress(progress: Any, label: str | None = None, width: int = 80) -> str:
    """One progress line from a `lionrx.operators.Progress`: elapsed time, chunks, words,
    approximate tokens and the rate. Cut to ``width`` terminal cells."""
    from lionrx.sinks._terminal import fit

    chunks = _get(progress, "chunks") or 0
    words = _get(progress, "words")
    tokens = _get(progress, "tokens")
    elapsed = _get(progress, "elapsed") or 0.0
    first = _get(progress, "time_to_first_chunk")
    parts = [f"{elapsed:.1f}s", f"{chunks} chunks"]
    if words is not None:
        parts.append(f"{words} words")
    rate = None
    if tokens is not None:
        parts.append(f"~{tokens} tokens")
        generating = elapsed - (first or 0.0)
        # A rate over a few milliseconds says nothing: wait for a meaningful window.
        if generating >= _MIN_RATE_WINDOW:
            rate = f"~{tokens / generating:.1f} tokens/s"
    if rate is None and elapsed >= _MIN_RATE_WINDOW:
        per_second = _get(progress, "chunks_per_second")
        if per_second:
            rate = f"{per_second:.1f} chunks/s"
    if rate is not None:
        parts.append(rate)
    prefix = f"[{label}] " if label else ""
    return fit(f"{prefix}⏳ " + " · ".join(parts), width)
