"""SSEDecoder behaviour beyond the corpus: UTF-8 edge cases, keep-alive comments, reuse after
close, property tests under any chunking, and long lines at linear cost."""

from __future__ import annotations

import re
import time
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from lionrx.sse import ServerSentEvent, SSEDecoder
from lionrx.testing import SSEStream, chunkings, sse_streams

from .conftest import decode_all


def test_defaults_and_tuple_shape() -> None:
    event = ServerSentEvent(data="x")
    assert event == ServerSentEvent("message", "x", "", None)
    assert (event.event, event.data, event.id, event.retry) == ("message", "x", "", None)


def test_bom_split_across_chunks_is_stripped_once() -> None:
    bom = "\ufeff".encode()
    stream = bom + bom + b"data: 1\n\n" + b"data: 2\n\n"
    events = decode_all([stream[:1], stream[1:2], stream[2:4], stream[4:]])
    # The second BOM is content: it prefixes the field name, so that line is ignored.
    assert events == [ServerSentEvent(data="2")]


def test_bom_after_first_event_is_content() -> None:
    stream = b"data: 1\n\n" + "\ufeff".encode() + b"data: 2\n\n"
    assert decode_all([stream]) == [ServerSentEvent(data="1")]


def test_multibyte_characters_split_everywhere() -> None:
    text = "data: é€😀\u2028x\u0085y\n\n"
    data = text.encode()
    want = [ServerSentEvent(data="é€😀\u2028x\u0085y")]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            assert decode_all([data[:i], data[i:j], data[j:]]) == want


def test_invalid_utf8_becomes_replacement_character() -> None:
    data = b"data: a\xffb\xe2\x82c\n\ndata: \xf0\x9f\x98\n\n"
    want = [ServerSentEvent(data="a\ufffdb\ufffdc"), ServerSentEvent(data="\ufffd")]
    assert decode_all([data]) == want
    assert decode_all([data[i : i + 1] for i in range(len(data))]) == want


def test_incomplete_utf8_at_eof_is_discarded_with_the_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: ok\n\ndata: \xe2\x82") == [ServerSentEvent(data="ok")]
    assert decoder.close() == []


def test_cr_at_chunk_end_then_lf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []  # the LF completes CRLF: no blank line yet
    assert decoder.feed(b"\r") == [ServerSentEvent(data="a")]
    assert decoder.feed(b"\r\n") == []  # a blank line with nothing buffered
    assert decoder.feed(b"data: b\r\r") == [ServerSentEvent(data="b")]


def test_cr_then_split_multibyte_keeps_pending_lf_state() -> None:
    # The LF that may follow a CR can come after an empty decode (a partial character).
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: \xc3") == []
    assert decoder.feed(b"\xa9\r") == []
    assert decoder.feed(b"\n\r\n") == [ServerSentEvent(data="a\né")]


def test_comments_are_counted_as_keepalives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": ping\n\n:\n") == []
    assert decoder.comments == 2
    assert decoder.last_comment == ""
    assert decoder.feed(b"data: x\n: keep-alive\n\n") == [ServerSentEvent(data="x")]
    assert decoder.comments == 3
    assert decoder.last_comment == " keep-alive"
    decoder.feed(b": unterminated")
    assert decoder.comments == 3  # an unterminated line is never processed


def test_field_rules() -> None:
    stream = (
        b"data:  two spaces\n"
        b"data:\ttab\n"
        b"Data: ignored\n"
        b"data\n"
        b"event\n"
        b"id: a\0b\n"
        b"retry: 12\n"
        b"retry: 1_0\n"
        b"retry: \xd9\xa1\n"
        b"\n"
    )
    decoder = SSEDecoder()
    assert decoder.feed(stream) == [ServerSentEvent("message", " two spaces\n\ttab\n", "", 12)]
    assert decoder.reconnection_time == 12


def test_id_persists_and_event_type_resets() -> None:
    stream = b"id: 7\nevent: add\n\nevent: x\ndata: 1\n\ndata: 2\n\nid\ndata: 3\n\n"
    assert decode_all([stream]) == [
        ServerSentEvent("x", "1", "7"),
        ServerSentEvent("message", "2", "7"),
        ServerSentEvent("message", "3", ""),
    ]


def test_close_discards_unterminated_event_and_allows_reconnection() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 5\nretry: 300\ndata: lost\n") == []
    assert decoder.close() == []
    assert decoder.last_event_id == "5"
    assert decoder.reconnection_time == 300
    # A reconnection starts at offset 0 again: a BOM is stripped, the old data is gone.
    assert decoder.feed("\ufeffdata: new\n\n".encode()) == [ServerSentEvent("message", "new", "5")]


def _reference(stream: SSEStream, decoder: SSEDecoder, events: list[ServerSentEvent]) -> None:
    assert events == stream.events
    assert decoder.last_event_id == stream.last_event_id
    assert decoder.reconnection_time == stream.reconnection_time
    assert decoder.comments == stream.comments


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_split_of_a_generated_stream_gives_the_same_events(data: st.DataObject) -> None:
    stream = data.draw(sse_streams())
    whole = SSEDecoder()
    unsplit = decode_all([stream.data], whole)
    _reference(stream, whole, unsplit)
    pieces = data.draw(chunkings(stream.data, allow_empty=True))
    split = SSEDecoder()
    _reference(stream, split, decode_all(pieces, split))


@settings(max_examples=50, deadline=None)
@given(sse_streams())
def test_one_byte_at_a_time_gives_the_same_events(stream: SSEStream) -> None:
    decoder = SSEDecoder()
    events = decode_all([stream.data[i : i + 1] for i in range(len(stream.data))], decoder)
    _reference(stream, decoder, events)


FOUR_MB = 4 * 1024 * 1024
ONE_MB = 1024 * 1024


def _long_line(size: int) -> bytes:
    return b"data: " + (b"0123456789abcdef" * (size // 16)) + b"\n\n"


def test_4mb_data_line_whole_and_in_64_byte_chunks() -> None:
    stream = _long_line(FOUR_MB)
    (whole,) = decode_all([stream])
    assert len(whole.data) == FOUR_MB
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for i in range(0, len(stream), 64):
        events.extend(decoder.feed(stream[i : i + 64]))
    assert events == [whole]


def test_1mb_data_line_one_byte_at_a_time_keeps_memory_near_the_line() -> None:
    stream = b"data: " + "€".encode() * (ONE_MB // 3) + b"\n\n"
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    tracemalloc.start()
    try:
        for i in range(len(stream)):
            events.extend(decoder.feed(stream[i : i + 1]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(events) == 1 and events[0].data == "€" * (ONE_MB // 3)
    # 350 K characters (a 700 KB string): keeping one small str object per character would
    # cost ~30 MB; the decoder folds pieces so it stays within a few times the line.
    assert peak < 6 * 1024 * 1024, peak


def _cpu_time(size: int, chunk: int) -> float:
    stream = _long_line(size)
    pieces = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]
    best = float("inf")
    for _ in range(5):
        decoder = SSEDecoder()
        start = time.process_time()
        for piece in pieces:
            decoder.feed(piece)
        best = min(best, time.process_time() - start)
    return best


def test_cost_is_linear_in_bytes_however_split() -> None:
    # A decoder that rescans or re-copies the accumulated line per feed costs ~16x for 4x the
    # bytes; a linear one ~4x. CPU time (not wall time), best of five, with a wide margin.
    small = _cpu_time(256 * 1024, 16)
    large = _cpu_time(1024 * 1024, 16)
    assert large / max(small, 1e-6) < 8.0, (small, large)


# A whole-buffer reference of the spec, written as plainly as possible, to compare against the
# incremental decoder on arbitrary bytes (not only well-formed generated streams).
_LINE_END = re.compile(r"\r\n|\r|\n")


def _reference_decode(raw: bytes) -> tuple[list[ServerSentEvent], str, int | None, int]:
    text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    *lines, _unterminated = _LINE_END.split(text)
    events: list[ServerSentEvent] = []
    data: list[str] = []
    event_type, last_id, retry, reconnect, comments = "", "", None, None, 0
    for line in lines:
        if line == "":
            if data:
                events.append(
                    ServerSentEvent(event_type or "message", "\n".join(data), last_id, retry)
                )
            data, event_type, retry = [], "", None
            continue
        if line.startswith(":"):
            comments += 1
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value and all(c in "0123456789" for c in value):
            retry = reconnect = int(value)
    return events, last_id, reconnect, comments


_PIECES = st.sampled_from(
    [
        b"data",
        b"data:",
        b"data: ",
        b"event:",
        b"event: x",
        b"id:",
        b"id: 7",
        b"retry:",
        b"retry: 15",
        b":",
        b" ",
        b"x",
        b"\r",
        b"\n",
        b"\r\n",
        b"\xef\xbb\xbf",
        b"\xe2\x82\xac",
        b"\xe2\x82",
        b"\xff",
        b"\xf0\x9f\x98\x80",
        b"\x00",
        b"\xc2\x85",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40).map(b"".join), st.data())
def test_arbitrary_bytes_match_the_whole_buffer_reference(raw: bytes, data: st.DataObject) -> None:
    events, last_id, reconnect, comments = _reference_decode(raw)
    decoder = SSEDecoder()
    got = decode_all(data.draw(chunkings(raw, allow_empty=True)), decoder)
    assert got == events
    assert decoder.last_event_id == last_id
    assert decoder.reconnection_time == reconnect
    assert decoder.comments == comments
    # Every boundary at once (each CR/LF pair and multi-byte character split).
    assert decode_all([raw[i : i + 1] for i in range(len(raw))]) == events
