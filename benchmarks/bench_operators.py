"""Operator benchmarks: sentence_chunk's cost is linear in the text however it is split.

Run: ``.venv/bin/python benchmarks/bench_operators.py`` (``--quick`` for a short run).

Prints, for growing text sizes and chunk sizes, the time per character of
`lionrx._segment.SentenceSegmenter` next to a naive segmenter measured in the same run that
re-scans its whole pending buffer on every chunk (what incremental code must avoid). A linear
segmenter keeps a flat ns/char column as the text grows; the naive one grows with the length of
the unfinished sentence. Also: the per-chunk cost of the Rx operators on an event stream.
Numbers are for comparison within one run, not absolute targets.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

import reactivex

from lionrx import operators as ops
from lionrx._events import Completed, Response, TextDelta
from lionrx._segment import SentenceSegmenter

PROSE = (
    'Dr. Smith paid $3.50 at 5 p.m. for version 1.2.3 of the tool. He said "Thanks." '
    "Then he left, e.g. to the U.S. office. Was it worth it? Yes! "
)
# Chat-like markdown: paragraphs, a list, a code block.
MARKDOWN = (
    "## Result\n\nThe tool works. It costs $3.50 per run, e.g. for version 1.2.3.\n\n"
    "- first point\n- second point\n\n```python\nprint('hi. there')\n```\n\n"
)
# One endless "sentence": a fenced code block is never cut, so everything stays pending.
CODE = "```\n" + "x = compute(a.b, c.d) # no sentence end here \n" * 100_000


class NaiveSegmenter:
    """Re-splits the whole pending buffer on each chunk (quadratic on long sentences)."""

    _END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")

    def __init__(self) -> None:
        self.buf = ""

    def feed(self, text: str) -> list[str]:
        self.buf += text
        parts = self._END.split(self.buf)
        self.buf = parts.pop()
        return parts

    def close(self) -> list[str]:
        rest, self.buf = self.buf, ""
        return [rest] if rest else []


def _time(make: Callable[[], object], text: str, chunk: int) -> float:
    segmenter = make()
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    feed = segmenter.feed  # type: ignore[attr-defined]
    start = time.perf_counter()
    for piece in pieces:
        feed(piece)
    segmenter.close()  # type: ignore[attr-defined]
    return time.perf_counter() - start


def bench_segmenter(quick: bool) -> None:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    print("sentence segmentation, ns per character (lower is better)")
    print(f"{'text':>8} {'size':>9} {'chunk':>5} {'lionrx':>9} {'naive':>9} {'naive/lionrx':>12}")
    for label, source in (("prose", PROSE), ("code", CODE)):
        for size in sizes:
            text = (source * (size // len(source) + 1))[:size]
            for chunk in (1, 4, 64):
                ours = _time(SentenceSegmenter, text, chunk)
                # The naive segmenter is only timed where it finishes in reasonable time.
                naive_ok = label == "prose" or size * size / chunk <= 1e9
                naive = _time(NaiveSegmenter, text, chunk) if naive_ok else float("nan")
                print(
                    f"{label:>8} {size:>9} {chunk:>5} {ours / size * 1e9:>9.0f} "
                    f"{naive / size * 1e9:>9.0f} {naive / ours:>12.1f}"
                )


def bench_operators(quick: bool) -> None:
    n = 20_000 if quick else 100_000
    words = (MARKDOWN * (n // 40)).split(" ")[:n]
    events = [TextDelta.model_construct(text=w + " ", source="m", choice=0) for w in words]
    events.append(Completed.model_construct(response=Response(), source="m"))
    print(f"\nRx operators over {len(events)} markdown text deltas (word-sized), ns per delta")
    cases: list[tuple[str, Callable[[Any], Any]]] = [
        ("(no operator)", lambda o: o),
        ("text()", ops.text()),
        ("sentence_chunk()", ops.sentence_chunk()),
        ("buffer(count=8)", ops.buffer(count=8)),
        ("smooth('word')", ops.smooth("word")),
        ("markdown_blocks()", ops.markdown_blocks()),
        ("accumulate() [copies]", ops.accumulate()),
    ]
    base = None
    for name, op in cases:
        if name.startswith("accumulate") and not quick and len(events) > 50_000:
            sample = events[:20_000] + events[-1:]
        else:
            sample = events
        count = [0]

        def sink(_item: object, count: list[int] = count) -> None:
            count[0] += 1  # keep nothing: measure the operator, not the garbage collector

        start = time.perf_counter()
        op(reactivex.from_iterable(sample)).subscribe(sink)
        per = (time.perf_counter() - start) / len(sample) * 1e9
        base = base or per
        print(f"{name:>24} {per:>8.0f}  ({per / base:.1f}x no-op)")


def main() -> None:
    quick = "--quick" in sys.argv
    bench_segmenter(quick)
    bench_operators(quick)


if __name__ == "__main__":
    main()
