"""`sentence_chunk()`: re-chunk text into whole sentences, each emitted once its end is certain."""

from __future__ import annotations

from lionrx._segment import SentenceSegmenter
from lionrx.operators._common import Operator, rechunk

__all__ = ["sentence_chunk"]


def sentence_chunk(max_chars: int | None = None) -> Operator:
    """Whole sentences, emitted as soon as each one's end is certain; the rest at the end.

    ::

        text:  -"Dr. Sm"-"ith is here. He"-" left."-|
                 sentence_chunk()
        out:   ------------------"Dr. Smith is here. "-"He left."|

    Sentences keep their closing quotes and brackets and the whitespace after them, so joining
    the output gives back the input exactly. It does not cut at abbreviations, decimals,
    versions, ellipses followed by lower case, URLs, e-mail addresses, file names, list numbers
    or initials; blank lines and new markdown blocks are boundaries; ``。！？`` end sentences
    without a space; a fenced code block is never cut (it comes out whole). See
    `lionrx._segment.SentenceSegmenter` for the rules. ``max_chars`` bounds every piece (an
    endless sentence is cut at its last space before the bound).

    After a single letter or a dotted abbreviation (``Plan B.``, ``the U.S.``) the sentence
    ends only when a common sentence-starting word follows (``Then``, ``The``, ``I``, ``It``...),
    so names (``J. K. Rowling``, ``U.S. Army``) are never cut while ``"Plan B. Then we go."`` is.

    Works on text streams and event streams (each source and choice on its own; other events
    pass through; pending text is flushed before `Finish`, the terminal event, a `Fallback`
    marker, completion and errors). Cost is linear in the text, however it is split.
    """
    if max_chars is not None and max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    return rechunk(lambda: SentenceSegmenter(max_chars))
