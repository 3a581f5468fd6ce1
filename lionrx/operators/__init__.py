"""Operators for lionrx streams, to use in ``observable.pipe(...)`` next to reactivex's own.

Every operator here accepts the two stream shapes of lionrx:

- an **event stream** (``iModel.stream()``): events, then exactly one terminal `Completed` or
  `Failed` (``on_next``), then ``on_completed``;
- a **text stream** (after `text()`): non-empty ``str`` chunks, then ``on_completed``, or
  ``on_error(LionrxError)`` whose ``.partial`` is the partial `Response`.

Text-reshaping operators (`sentence_chunk`, `buffer`, `smooth`, `markdown_blocks`,
`accumulate`) re-chunk ``str`` items, or the `TextDelta` events of each source and choice,
passing other events through in order and flushing pending text before the terminal event, on
completion and on error. Time-based operators take ``scheduler=`` (default: the running
asyncio loop's) and run deterministically under ``reactivex.testing.TestScheduler``.
Disposing a subscription disposes the source, which closes its HTTP connection.

Each operator's docstring draws its marble diagram. To write a text-reshaping operator of your
own, give `rechunk` a pure re-chunker (``feed(text) -> list[str]``, ``close() -> list[str]``):
it handles both stream shapes, channels and flushing; check it with
`lionrx.testing.assert_stream_laws`.
"""

from lionrx._segment import BlockKind, MarkdownBlock
from lionrx.operators._accumulate import Snapshot, accumulate
from lionrx.operators._buffer import buffer
from lionrx.operators._common import Rechunker, rechunk
from lionrx.operators._fallback import FallbackStream, fallback, fallback_mode
from lionrx.operators._markdown_blocks import MarkdownUpdate, markdown_blocks
from lionrx.operators._merge_labeled import merge_labeled
from lionrx.operators._progress_tap import Progress, progress_tap
from lionrx.operators._race import race
from lionrx.operators._sentence_chunk import sentence_chunk
from lionrx.operators._smooth import smooth
from lionrx.operators._text import text
from lionrx.operators._timeout import timeout

__all__ = [
    "BlockKind",
    "FallbackStream",
    "MarkdownBlock",
    "MarkdownUpdate",
    "Progress",
    "Rechunker",
    "Snapshot",
    "accumulate",
    "buffer",
    "fallback",
    "fallback_mode",
    "markdown_blocks",
    "merge_labeled",
    "progress_tap",
    "race",
    "rechunk",
    "sentence_chunk",
    "smooth",
    "text",
    "timeout",
]
