"""What goes on the wire to the browser: lionrx stream items as SSE ``(event, data)`` pairs.

Pure and I/O-free: `WireEncoder` turns each item of an event stream (lionrx events) or a text
stream (``str``) into SSE events whose data is JSON, and the stream's end into one final
outcome event (``completed`` or ``failed``). Optionally it marks where markdown blocks are
committed, so a browser renders each finished block once and redraws only the pending tail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from lionrx._errors import LionrxError, StreamCancelled, error_to_dict
from lionrx._events import Completed, Failed, Response, ResponseBuilder, TextDelta, dump_event
from lionrx._segment._markdown import MarkdownBlockSplitter

__all__ = [
    "BlockSplitter",
    "MarkdownSplitter",
    "WireEncoder",
    "default_splitter",
    "sse_frame",
    "utf16_len",
]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class BlockSplitter(Protocol):
    """An incremental markdown block splitter: ``feed`` text, get the blocks now committed."""

    def feed(self, text: str) -> list[str]: ...

    def close(self) -> list[str]: ...


class MarkdownSplitter:
    """lionrx's one markdown block splitter (``lionrx._segment``) as a `BlockSplitter`."""

    __slots__ = ("_core",)

    def __init__(self) -> None:
        self._core = MarkdownBlockSplitter()

    def feed(self, text: str) -> list[str]:
        return [block.text for block in self._core.feed(text)]

    def close(self) -> list[str]:
        return [block.text for block in self._core.close()]


def default_splitter() -> Callable[[], BlockSplitter]:
    """The markdown block splitter factory used for ``blocks=True``."""
    return MarkdownSplitter


def sse_frame(event_id: str | None, event: str, data: str) -> bytes:
    """One SSE event as bytes. ``data`` must hold no line break (compact JSON never does)."""
    if event_id is None:
        return f"event: {event}\ndata: {data}\n\n".encode()
    return f"id: {event_id}\nevent: {event}\ndata: {data}\n\n".encode()


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units: how JavaScript measures strings."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


class _Blocks:
    """Block commit offsets (in UTF-16 units) for one (source, choice) text."""

    __slots__ = ("splitter", "offset")

    def __init__(self, splitter: BlockSplitter) -> None:
        self.splitter = splitter
        self.offset = 0

    def commits(self, blocks: list[str], source: str | None, choice: int) -> list[tuple[str, str]]:
        out = []
        for block in blocks:
            self.offset += utf16_len(block)
            out.append(
                (
                    "block",
                    _dumps(
                        {"kind": "block", "source": source, "choice": choice, "end": self.offset}
                    ),
                )
            )
        return out


class WireEncoder:
    """Encodes one stream's items as SSE ``(event, data)`` pairs.

    Text (a ``TextDelta`` or a ``str`` item) becomes ``text`` events shaped like `TextDelta`'s
    JSON; other events keep their ``kind`` as the event name and `dump_event` as data. The end
    of the stream is one final ``completed`` or ``failed`` event (``failed`` carries the error
    and the partial `Response`). With a ``splitter`` factory, ``block`` events
    ``{"end": n}`` follow the text that commits a markdown block (``n`` counts UTF-16 units
    of that source's text, as a browser measures it).

    The encoder also accumulates what it saw, so that `cancelled` can report the partial answer.
    """

    def __init__(self, splitter: Callable[[], BlockSplitter] | None = None) -> None:
        self._splitter = splitter
        self._blocks: dict[tuple[str | None, int], _Blocks] = {}
        self._builder = ResponseBuilder()
        self._texts: list[str] = []
        self.outcome: Completed | Failed | None = None
        """The terminal outcome, once encoded."""

    @property
    def done(self) -> bool:
        """True once the final event was produced."""
        return self.outcome is not None

    def _text(self, text: str, source: str | None, choice: int) -> list[tuple[str, str]]:
        out = [("text", _dumps({"source": source, "choice": choice, "kind": "text", "text": text}))]
        if self._splitter is not None:
            blocks = self._blocks.get((source, choice))
            if blocks is None:
                blocks = self._blocks[(source, choice)] = _Blocks(self._splitter())
            committed = blocks.splitter.feed(text)
            if committed:
                out += blocks.commits(committed, source, choice)
        return out

    def _flush_blocks(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for (source, choice), blocks in self._blocks.items():
            out += blocks.commits(blocks.splitter.close(), source, choice)
        return out

    def item(self, item: Any) -> list[tuple[str, str]]:
        """Encode one ``on_next`` item."""
        if self.outcome is not None:
            return []
        if isinstance(item, str):
            if not item:
                return []
            self._texts.append(item)
            return self._text(item, None, 0)
        if isinstance(item, TextDelta):
            self._builder.add(item)
            return self._text(item.text, item.source, item.choice)
        if isinstance(item, Completed | Failed):
            self.outcome = item
            return self._flush_blocks() + [(item.kind, dump_event(item))]
        kind = getattr(item, "kind", None)
        if kind is None:
            raise TypeError(f"cannot stream {type(item).__name__} items to a browser")
        self._builder.add(item)
        return [(str(kind), dump_event(item))]

    def partial(self) -> Response:
        """Everything seen so far, as a `Response`."""
        response = self._builder.build()
        if self._texts:
            response = response.model_copy(
                update={"texts": {0: "".join(self._texts)}, "chunks": len(self._texts)}
            )
        return response

    def completed(self) -> list[tuple[str, str]]:
        """Encode ``on_completed`` (nothing if a terminal event was already seen)."""
        if self.outcome is not None:
            return []
        response = self._builder.finish()
        if self._texts:
            response = response.model_copy(
                update={"texts": {0: "".join(self._texts)}, "chunks": len(self._texts)}
            )
        self.outcome = Completed.model_construct(
            kind="completed", source=None, choice=0, response=response
        )
        return self._flush_blocks() + [("completed", dump_event(self.outcome))]

    def failed(self, error: BaseException) -> list[tuple[str, str]]:
        """Encode ``on_error``: the failure with the partial answer it carries (or ours)."""
        if self.outcome is not None:
            return []
        partial = error.partial if isinstance(error, LionrxError) else None
        if partial is None:
            partial = self.partial()
        self.outcome = Failed.model_construct(
            kind="failed", source=None, choice=0, error=error, partial=partial
        )
        return self._flush_blocks() + [("failed", dump_event(self.outcome))]

    def cancelled(self, reason: str) -> list[tuple[str, str]]:
        """Encode a cancellation by the server or the client: a `StreamCancelled` failure."""
        return self.failed(StreamCancelled(reason, partial=self.partial()))

    @staticmethod
    def error_data(error: BaseException) -> str:
        """A ``failed`` payload for an error outside any stream (e.g. resume impossible)."""
        return _dumps({"kind": "failed", "error": error_to_dict(error)})
