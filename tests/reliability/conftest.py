"""Fixtures for the reliability properties: the fake/chaos servers and a leak baseline."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
