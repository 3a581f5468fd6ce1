"""Paths and loaders for the provider tests' conformance data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STREAMS = FIXTURES / "streams"


def load_errors() -> dict[str, Any]:
    """tests/fixtures/errors.json (copied from the shared conformance corpus)."""
    data: dict[str, Any] = json.loads((FIXTURES / "errors.json").read_text())
    return data


def load_sse_cases() -> list[dict[str, Any]]:
    """tests/fixtures/sse_cases.json."""
    data: list[dict[str, Any]] = json.loads((FIXTURES / "sse_cases.json").read_text())
    return data
