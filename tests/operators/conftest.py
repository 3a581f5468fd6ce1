"""Fixtures for operator tests: a started fake provider server and a model talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from lionrx.services import iModel
from lionrx.testing import FakeProviderServer
from lionrx.testing.pytest_plugin import fake_server

__all__ = ["fake_server", "model"]


@pytest_asyncio.fixture
async def model(fake_server: FakeProviderServer) -> AsyncIterator[iModel]:
    """An OpenAI-shaped model talking to the fake server, closed after the test."""
    async with iModel(
        provider="openai",
        model="gpt-4o-mini",
        name="gpt",
        base_url=fake_server.openai_base_url,
        api_key="sk-test-operators-0000",
        max_retries=0,
    ) as m:
        yield m
