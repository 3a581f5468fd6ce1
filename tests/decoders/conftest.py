"""Shared helpers for the decoder tests: the SSE conformance cases and a feed-all helper."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lionrx.sse import ServerSentEvent, SSEDecoder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SSE_CASES: list[dict[str, Any]] = json.loads((FIXTURES / "sse_cases.json").read_text("utf-8"))


def case_bytes(case: dict[str, Any]) -> bytes:
    """The exact stream bytes of a case (``input_hex`` is authoritative when present)."""
    if "input_hex" in case:
        return bytes.fromhex(case["input_hex"])
    return str(case["input"]).encode("utf-8")


def decode_all(chunks: list[bytes], decoder: SSEDecoder | None = None) -> list[ServerSentEvent]:
    """Feed every chunk, then close; return all events."""
    decoder = decoder if decoder is not None else SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def as_dicts(events: list[ServerSentEvent]) -> list[dict[str, Any]]:
    return [event._asdict() for event in events]
