"""Hypothesis strategies for lionrx: chunkings, SSE byte streams, event sequences, texts.

They need ``hypothesis`` (the ``testing`` extra). Use them to state properties such as "any
split of the bytes gives the same events" or "an operator loses no text under any chunking".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import strategies as st

from lionrx._errors import (
    APIConnectionError,
    LionrxError,
    OverloadedError,
    ProtocolError,
    ProviderStreamError,
    StreamTimeout,
)
from lionrx._events import (
    Completed,
    Event,
    Failed,
    Finish,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    ResponseBuilder,
    Start,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from lionrx._sse import ServerSentEvent

__all__ = [
    "SSEStream",
    "chunkings",
    "event_sequences",
    "sse_streams",
    "texts",
]

_S = TypeVar("_S", str, bytes)

# Characters that stress text handling: multi-byte UTF-8 (2, 3 and 4 bytes), combining marks,
# and separators that are NOT line ends for SSE (U+2028, U+0085, VT, FF).
_TRICKY = "é€😀\u0301\u2028\u2029\u0085\x0b\x0c\x1c.!?。 \t"


def texts(
    *, min_size: int = 0, max_size: int = 40, newlines: bool = True, ascii_bias: bool = True
) -> st.SearchStrategy[str]:
    """Text with the characters that break naive code: multi-byte, emoji, sentence ends.

    ``newlines=False`` excludes CR and LF. Surrogates are never produced (not valid UTF-8).
    """
    exclude = "" if newlines else "\r\n"
    alphabets: list[st.SearchStrategy[str]] = [
        st.characters(codec="utf-8", exclude_characters=exclude),
        st.sampled_from([c for c in _TRICKY if c not in exclude]),
    ]
    if ascii_bias:
        alphabets.append(st.sampled_from("abc xyz,.!?\n" if newlines else "abc xyz,.!?"))
    return st.text(alphabet=st.one_of(*alphabets), min_size=min_size, max_size=max_size)


def chunkings(
    data: _S, *, max_pieces: int | None = None, allow_empty: bool = False
) -> st.SearchStrategy[list[_S]]:
    """Every way to split ``data`` into consecutive pieces; ``"".join(pieces) == data``.

    Shrinks towards fewer pieces. ``allow_empty=True`` also inserts empty pieces (a transport
    may hand over an empty read). ``max_pieces`` bounds the number of cuts.
    """
    n = len(data)
    if n == 0:
        empty: list[_S] = [data[:0]]
        return st.just(empty) if not allow_empty else st.integers(1, 3).map(lambda k: empty * k)
    cuts_max = n - 1 if max_pieces is None else max(0, min(n - 1, max_pieces - 1))
    positions: st.SearchStrategy[list[int]]
    if allow_empty:
        positions = st.lists(st.integers(0, n), max_size=cuts_max + 2)
    elif n > 1:
        positions = st.lists(st.integers(1, n - 1), unique=True, max_size=cuts_max)
    else:
        positions = st.just([])

    def split(cuts: list[int]) -> list[_S]:
        bounds = [0, *sorted(cuts), n]
        return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    return positions.map(split)


@dataclass(frozen=True)
class SSEStream:
    """A generated SSE stream: its bytes and what a spec-exact decoder must dispatch."""

    data: bytes
    """The whole stream as bytes (UTF-8, possibly with a BOM)."""
    events: list[ServerSentEvent] = field(default_factory=list)
    """The events a browser would dispatch, in order."""
    last_event_id: str = ""
    """The last event ID buffer at the end of the stream."""
    reconnection_time: int | None = None
    """The last valid ``retry`` of the stream, or None."""
    comments: int = 0
    """How many comment lines the stream contains (terminated ones)."""


_VALUE = texts(max_size=12, newlines=False)
_FIELD_NAMES = st.sampled_from(["data", "data", "data", "event", "id", "retry", "x", "Data", " "])


@st.composite
def _line(draw: st.DrawFn) -> tuple[str, str | None, str]:
    """One non-empty line as (raw text, field name or None for a comment, value)."""
    shape = draw(st.sampled_from(["field", "field", "field", "bare", "comment"]))
    if shape == "comment":
        text = draw(_VALUE)
        return ":" + text, None, text
    name = draw(_FIELD_NAMES)
    if shape == "bare":
        return name, name, ""
    if name == "retry":
        value = draw(
            st.one_of(
                st.integers(0, 10**6).map(str),
                st.sampled_from(["02000", "1000x", "+5", "-1", "1.5", " 5", "5 ", "١٢٣", ""]),
            )
        )
    elif name == "id":
        value = draw(st.one_of(_VALUE, st.just("a\0b")))
    else:
        value = draw(_VALUE)
    after_colon = (" " if draw(st.booleans()) else "") + value
    # The decoder strips exactly one leading space after the colon, no more.
    parsed = after_colon[1:] if after_colon.startswith(" ") else after_colon
    return f"{name}:{after_colon}", name, parsed


@st.composite
def sse_streams(draw: st.DrawFn, *, max_blocks: int = 6, max_lines: int = 4) -> SSEStream:
    """Generated SSE byte streams with the events a spec-exact decoder dispatches.

    Streams mix data/event/id/retry fields (valid and invalid), fields without a colon, unknown
    and wrongly-cased names, comments, blank-only blocks, CR/LF/CRLF line ends, an optional
    leading BOM, multi-byte text, and sometimes an unterminated final event (discarded).
    The expectation is computed from the generated structure, not by parsing the bytes.
    """
    blocks = draw(st.lists(st.lists(_line(), max_size=max_lines), max_size=max_blocks))
    truncated_tail = draw(st.lists(_line(), max_size=2))
    bom = draw(st.booleans())
    out: list[str] = ["\ufeff"] if bom else []
    events: list[ServerSentEvent] = []
    last_id = ""
    reconnect: int | None = None
    comments = 0
    prev_cr = False  # a CR terminator followed by an LF would merge into one CRLF

    def terminator() -> str:
        nonlocal prev_cr
        choices = ["\n", "\r\n", "\r"]
        term = draw(st.sampled_from(choices))
        prev_cr = term == "\r"
        return term

    def apply(lines: list[tuple[str, str | None, str]], state: dict[str, Any]) -> None:
        nonlocal last_id, reconnect, comments
        for raw, name, value in lines:
            # Lines are never empty and hold no CR/LF, so a CR before them cannot merge.
            out.append(raw)
            out.append(terminator())
            if name is None:
                comments += 1
            elif name == "data":
                state["data"].append(value)
            elif name == "event":
                state["event"] = value
            elif name == "id":
                if "\0" not in value:
                    last_id = value
            elif name == "retry":
                if value and value.isascii() and value.isdigit():
                    state["retry"] = int(value)
                    reconnect = int(value)

    for block in blocks:
        state: dict[str, Any] = {"data": [], "event": "", "retry": None}
        apply(block, state)
        # The blank line: after a lone CR it must not be a LF (CR LF would be one line end).
        out.append("\r" if prev_cr else draw(st.sampled_from(["\n", "\r\n", "\r"])))
        prev_cr = out[-1] == "\r"
        if state["data"]:
            events.append(
                ServerSentEvent(
                    state["event"] or "message", "\n".join(state["data"]), last_id, state["retry"]
                )
            )
    # An event whose blank line never comes is never dispatched, but its complete lines are
    # still processed (id and retry take effect).
    tail_state: dict[str, Any] = {"data": [], "event": "", "retry": None}
    apply(truncated_tail, tail_state)
    text = "".join(out)
    if draw(st.booleans()):
        text += "data: " + draw(_VALUE)  # an unterminated last line: never processed
    return SSEStream(text.encode("utf-8"), events, last_id, reconnect, comments)


_SOURCES = st.sampled_from(["gpt", "claude", "local", None])


def _failure_errors() -> st.SearchStrategy[LionrxError]:
    return st.sampled_from(
        [
            ProviderStreamError("overloaded mid-stream", error_type="overloaded_error"),
            OverloadedError("try later", status=529, retry_after=1.0),
            APIConnectionError("connection reset"),
            ProtocolError("body ended before the end of answer"),
            StreamTimeout("no chunk for 5s", which="idle", seconds=5.0),
        ]
    )


@st.composite
def event_sequences(
    draw: st.DrawFn,
    *,
    source: str | None | st.SearchStrategy[str | None] = _SOURCES,
    max_events: int = 20,
    choices: int = 1,
    failed: bool | None = None,
    text: st.SearchStrategy[str] | None = None,
) -> list[Event]:
    """Valid lionrx event streams: non-terminal events, then exactly one `Completed`/`Failed`.

    Every event carries the same ``source`` label (a fixed value, or drawn from a strategy).
    ``choices > 1`` interleaves several choices. ``failed`` forces the outcome (None: either).
    The terminal event's response (or partial) is exactly what `ResponseBuilder` accumulates.
    """
    label = draw(source) if isinstance(source, st.SearchStrategy) else source
    pieces = text if text is not None else texts(min_size=1, max_size=12)
    builder = ResponseBuilder(source=label)
    events: list[Event] = []

    def emit(event: Event) -> None:
        builder.add(event)
        events.append(event)

    if draw(st.booleans()):
        emit(Start(source=label, model="test-model", response_id="resp-1"))
    tool_index = 0
    for _ in range(draw(st.integers(0, max_events))):
        choice = draw(st.integers(0, choices - 1)) if choices > 1 else 0
        kind = draw(
            st.sampled_from(
                ["text"] * 6 + ["reasoning", "refusal", "tool", "tool", "usage", "keep_alive"]
            )
        )
        if kind == "text":
            emit(TextDelta(source=label, choice=choice, text=draw(pieces)))
        elif kind == "reasoning":
            emit(ReasoningDelta(source=label, choice=choice, text=draw(pieces)))
        elif kind == "refusal":
            emit(RefusalDelta(source=label, choice=choice, text=draw(pieces)))
        elif kind == "tool":
            if draw(st.booleans()) or tool_index == 0:
                tool_index += 1
                emit(
                    ToolCallDelta(
                        source=label,
                        choice=choice,
                        index=tool_index - 1,
                        id=f"call_{tool_index}",
                        name=draw(st.sampled_from(["get_weather", "search", "add"])),
                        arguments_fragment="",
                    )
                )
            emit(
                ToolCallDelta(
                    source=label,
                    choice=choice,
                    index=tool_index - 1,
                    arguments_fragment=draw(st.sampled_from(['{"a', '": 1', "}", ', "b": "x', ""])),
                )
            )
        elif kind == "usage":
            emit(
                Usage(
                    source=label,
                    input_tokens=draw(st.integers(0, 1000)),
                    output_tokens=draw(st.integers(0, 1000)),
                )
            )
        else:
            emit(KeepAlive(source=label, choice=choice))
    outcome_failed = draw(st.booleans()) if failed is None else failed
    if outcome_failed:
        events.append(Failed(source=label, error=draw(_failure_errors()), partial=builder.finish()))
    else:
        for choice in range(choices):
            emit(Finish(source=label, choice=choice, reason="stop"))
        events.append(Completed(source=label, response=builder.finish()))
    return events
