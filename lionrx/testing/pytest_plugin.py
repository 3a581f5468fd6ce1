"""pytest fixtures from lionrx.testing: ``fake_server`` (a started `FakeProviderServer`).

Enable with ``pytest_plugins = ["lionrx.testing.pytest_plugin"]`` in a ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from lionrx.testing._chaos import ChaosServer
from lionrx.testing._server import FakeProviderServer

__all__ = ["chaos_server", "fake_server"]


@pytest_asyncio.fixture
async def fake_server() -> AsyncIterator[FakeProviderServer]:
    """A `FakeProviderServer` on 127.0.0.1 and a free port, closed after the test."""
    async with FakeProviderServer() as server:
        yield server


@pytest_asyncio.fixture
async def chaos_server() -> AsyncIterator[ChaosServer]:
    """A `ChaosServer` (no faults until ``server.faults`` is set), closed after the test."""
    async with ChaosServer() as server:
        yield server
