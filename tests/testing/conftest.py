"""Fixtures for the test kit's own tests."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def streams_dir() -> Path:
    return FIXTURES / "streams"
