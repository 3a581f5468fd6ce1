"""NDJSONDecoder: Ollama recordings under any split, truncated and invalid lines reported
clearly without losing what came before, long lines at linear cost."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionrx.errors import ProtocolError
from lionrx.ndjson import NDJSONDecoder
from lionrx.testing import chunkings

from .conftest import FIXTURES

OLLAMA = sorted((FIXTURES / "streams").glob("ollama_*.ndjson"))


def decode_all(chunks: list[bytes]) -> list[Any]:
    decoder = NDJSONDecoder()
    out: list[Any] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


def test_recordings_exist() -> None:
    assert [p.name for p in OLLAMA] == [
        "ollama_chat.ndjson",
        "ollama_chat_tools.ndjson",
        "ollama_generate_error.ndjson",
    ]


@pytest.mark.parametrize("path", OLLAMA, ids=lambda p: p.name)
def test_ollama_recordings_whole_and_byte_by_byte(path: Any) -> None:
    data = path.read_bytes()
    want = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    assert decode_all([data]) == want
    assert decode_all([data[i : i + 1] for i in range(len(data))]) == want
    for i in range(0, len(data) + 1, 7):
        assert decode_all([data[:i], b"", data[i:]]) == want


def test_error_line_is_an_ordinary_value() -> None:
    data = (FIXTURES / "streams" / "ollama_generate_error.ndjson").read_bytes()
    assert "error" in decode_all([data])[-1]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.text(max_size=5), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=8))
        ),
        max_size=6,
    ),
    st.data(),
)
def test_any_split_gives_the_same_values(values: list[dict[str, Any]], data: st.DataObject) -> None:
    stream = b"".join(json.dumps(v, ensure_ascii=False).encode() + b"\n" for v in values)
    pieces = data.draw(chunkings(stream, allow_empty=True))
    assert decode_all(pieces) == values


def test_crlf_and_blank_lines_are_tolerated() -> None:
    assert decode_all([b'{"a": 1}\r\n\r\n  \n{"b": 2}\n']) == [{"a": 1}, {"b": 2}]


def test_truncated_last_line_is_reported_with_its_line_number() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b": 2}\n{"message": {"content": "Hel') == [
        {"a": 1},
        {"b": 2},
    ]
    with pytest.raises(ProtocolError, match=r"line 3 \(truncated") as info:
        decoder.close()
    assert '{"message": {"content": "Hel' in str(info.value)


def test_truncated_line_that_parses_as_a_number_is_still_truncated() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b'{"a": 1}\n12')
    with pytest.raises(ProtocolError, match="truncated"):
        decoder.close()


def test_complete_object_without_final_newline_is_accepted() -> None:
    assert decode_all([b'{"a": 1}\n{"done": true}']) == [{"a": 1}, {"done": True}]


def test_invalid_line_alone_raises_at_once_naming_the_line() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n') == [{"a": 1}]
    with pytest.raises(ProtocolError, match=r"invalid JSON on NDJSON line 2: 'not json'"):
        decoder.feed(b"not json\n")
    with pytest.raises(ProtocolError, match="line 2"):
        decoder.feed(b'{"b": 2}\n')  # the decoder stays failed
    assert decoder.close() == []  # already reported: a `finally: close()` does not re-raise


def test_invalid_line_after_good_ones_in_one_feed_loses_nothing() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\n{"b": 2}\n{oops\n{"c": 3}\n') == [{"a": 1}, {"b": 2}]
    with pytest.raises(ProtocolError, match="line 3") as info:
        decoder.close()
    assert isinstance(info.value.__cause__, ValueError)


def test_long_invalid_line_is_quoted_truncated() -> None:
    decoder = NDJSONDecoder()
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"x" * 100_000 + b"\n")
    message = str(info.value)
    assert len(message) < 500
    assert "100000 bytes" in message


def test_long_line_in_tiny_chunks() -> None:
    value = {"content": "y" * (2 * 1024 * 1024)}
    stream = json.dumps(value).encode() + b"\n"
    decoder = NDJSONDecoder()
    out: list[Any] = []
    for i in range(0, len(stream), 16):
        out.extend(decoder.feed(stream[i : i + 16]))
    assert out == [value]
    assert decoder.close() == []
    assert decoder.lines == 1


def test_exact_big_integers_with_the_stdlib_hook() -> None:
    big = b'{"n": 123456789012345678901234567890}\n'
    decoder = NDJSONDecoder(loads=json.loads)
    assert decoder.feed(big) == [{"n": 123456789012345678901234567890}]
