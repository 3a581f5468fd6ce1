"""Fixtures for the sink tests: a real fake provider server and a model pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from lionrx.services import iModel
from lionrx.testing import FakeProviderServer


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer() as fake:
        yield fake


@pytest_asyncio.fixture
async def model(server: FakeProviderServer) -> AsyncIterator[iModel]:
    async with iModel(
        provider="openai",
        model="gpt-4o-mini",
        name="gpt",
        base_url=server.openai_base_url,
        api_key="sk-test-canary-0123456789",
    ) as imodel:
        yield imodel
