"""The shipped hypothesis strategies do what they promise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lionrx.errors import LionrxError
from lionrx.events import Completed, Failed, ResponseBuilder, dump_event, is_terminal, load_event
from lionrx.testing import SSEStream, chunkings, event_sequences, sse_streams, texts


@given(st.data(), st.binary(max_size=40))
def test_chunkings_of_bytes_join_back(data: st.DataObject, blob: bytes) -> None:
    pieces = data.draw(chunkings(blob))
    assert b"".join(pieces) == blob
    assert all(isinstance(p, bytes) for p in pieces)
    if blob:
        assert all(pieces)  # no empty pieces unless asked for


@given(st.data(), texts(max_size=40))
def test_chunkings_of_text_join_back(data: st.DataObject, text: str) -> None:
    pieces = data.draw(chunkings(text, max_pieces=5))
    assert "".join(pieces) == text
    assert len(pieces) <= max(5, 1)


@given(st.data(), st.binary(max_size=10))
def test_chunkings_with_empty_pieces_join_back(data: st.DataObject, blob: bytes) -> None:
    assert b"".join(data.draw(chunkings(blob, allow_empty=True))) == blob


def test_chunkings_reach_every_split() -> None:
    # "Every way to split": all 2^(n-1) compositions of a 4-byte string are reachable.
    seen: set[tuple[bytes, ...]] = set()

    @settings(max_examples=400, database=None)
    @given(chunkings(b"abcd"))
    def collect(pieces: list[bytes]) -> None:
        seen.add(tuple(pieces))

    collect()
    assert len(seen) == 8


@settings(max_examples=100)
@given(texts(newlines=False))
def test_texts_without_newlines(text: str) -> None:
    assert "\r" not in text and "\n" not in text
    text.encode("utf-8")  # never a lone surrogate


@settings(max_examples=100)
@given(sse_streams())
def test_sse_streams_are_utf8_and_consistent(stream: SSEStream) -> None:
    stream.data.decode("utf-8")
    for event in stream.events:
        assert event.event and isinstance(event.data, str)
        assert "\0" not in event.id


@settings(max_examples=150)
@given(event_sequences())
def test_event_sequences_end_with_exactly_one_terminal(events: list[object]) -> None:
    terminals = [e for e in events if is_terminal(e)]
    assert len(terminals) == 1 and events[-1] is terminals[0]
    labels = {getattr(e, "source", None) for e in events}
    assert len(labels) == 1
    builder = ResponseBuilder()
    for event in events[:-1]:
        builder.add(event)
    last = events[-1]
    response = last.response if isinstance(last, Completed) else last.partial  # type: ignore[union-attr]
    assert response.texts == builder.build().texts
    if isinstance(last, Failed):
        assert isinstance(last.error, LionrxError)


@settings(max_examples=50)
@given(event_sequences(source="gpt", choices=3, failed=False))
def test_event_sequences_options(events: list[object]) -> None:
    assert isinstance(events[-1], Completed)
    assert all(getattr(e, "source", None) == "gpt" for e in events)
    for event in events:
        assert load_event(dump_event(event)).kind == event.kind  # type: ignore[arg-type,attr-defined]
