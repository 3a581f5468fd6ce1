"""The 110 SSE conformance cases, fed whole, byte by byte, at every 2-way split, and in the
split their source test used. The target is the browser algorithm (``expected``)."""

from __future__ import annotations

from typing import Any

import pytest

from lionrx.sse import ServerSentEvent, SSEDecoder

from .conftest import SSE_CASES, as_dicts, case_bytes, decode_all

# A body whose Content-Type is not text/event-stream is refused by the transport before any
# decoding; for those cases the decoder itself is tested on the body, and the expectation of
# an accepted body is "the events it holds" (tested at the transport by tests/providers).
REFUSED_BY_TRANSPORT = {
    c["name"] for c in SSE_CASES if "content_type" in c and c.get("accept") is False
}
CONTENT_TYPE_CASES = sorted(c["name"] for c in SSE_CASES if "content_type" in c)


def expected_events(case: dict[str, Any]) -> list[dict[str, Any]]:
    if case["name"] in REFUSED_BY_TRANSPORT:
        # The decoder must still decode the body as any SSE body ("data: data\n\n\n").
        return [{"event": "message", "data": "data", "id": "", "retry": None}]
    return list(case["expected"])


def case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


def test_corpus_is_complete() -> None:
    assert len(SSE_CASES) == 110
    assert len({c["name"] for c in SSE_CASES}) == 110
    assert CONTENT_TYPE_CASES == [
        "wpt_format_mime_bogus",
        "wpt_format_mime_trailing_semicolon",
        "wpt_format_mime_valid_bogus",
        "wpt_format_utf8_ignores_charset",
    ]
    assert REFUSED_BY_TRANSPORT == {"wpt_format_mime_bogus", "wpt_format_mime_valid_bogus"}


@pytest.mark.parametrize("case", SSE_CASES, ids=case_id)
def test_case_whole(case: dict[str, Any]) -> None:
    decoder = SSEDecoder()
    events = decode_all([case_bytes(case)], decoder)
    assert as_dicts(events) == expected_events(case)
    assert all(isinstance(e, ServerSentEvent) for e in events)
    final = case.get("final_state")
    if final is not None:
        assert decoder.last_event_id == final["last_event_id"]
        assert decoder.reconnection_time == final["reconnection_time_ms"]
    alt = case.get("alt_expected")
    if alt is not None:
        # The browser algorithm is the target: the libraries' deviation must NOT be what we do.
        assert as_dicts(events) != alt["events"]


@pytest.mark.parametrize("case", SSE_CASES, ids=case_id)
def test_case_one_byte_at_a_time(case: dict[str, Any]) -> None:
    data = case_bytes(case)
    decoder = SSEDecoder()
    events = decode_all([data[i : i + 1] for i in range(len(data))], decoder)
    assert as_dicts(events) == expected_events(case)
    final = case.get("final_state")
    if final is not None:
        assert decoder.last_event_id == final["last_event_id"]
        assert decoder.reconnection_time == final["reconnection_time_ms"]


@pytest.mark.parametrize("case", SSE_CASES, ids=case_id)
def test_case_every_two_way_split(case: dict[str, Any]) -> None:
    data = case_bytes(case)
    want = expected_events(case)
    for i in range(len(data) + 1):
        # An empty read in the middle must change nothing either.
        got = as_dicts(decode_all([data[:i], b"", data[i:]]))
        assert got == want, f"split at byte {i}"


@pytest.mark.parametrize(
    "case", [c for c in SSE_CASES if "chunks" in c or "chunks_hex" in c], ids=case_id
)
def test_case_source_chunks(case: dict[str, Any]) -> None:
    if "chunks_hex" in case:
        chunks = [bytes.fromhex(h) for h in case["chunks_hex"]]
    else:
        chunks = [str(c).encode("utf-8") for c in case["chunks"]]
    assert b"".join(chunks) == case_bytes(case)
    assert as_dicts(decode_all(chunks)) == expected_events(case)
