"""Pure, incremental text segmenters (no I/O, no Rx): sentences and markdown blocks.

Both take text in any split through ``feed(text)`` and return finished pieces; ``close()``
returns the rest. Operators in `lionrx.operators` drive them.
"""

from lionrx._segment._markdown import (
    BlockKind,
    MarkdownBlock,
    MarkdownBlockSplitter,
    PendingText,
)
from lionrx._segment._sentence import SentenceSegmenter

__all__ = [
    "BlockKind",
    "MarkdownBlock",
    "MarkdownBlockSplitter",
    "PendingText",
    "SentenceSegmenter",
]
