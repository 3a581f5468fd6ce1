"""Fixtures for session tests: a real fake provider server and models pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from lionrx.services import iModel
from lionrx.testing import FakeProviderServer

ModelFactory = Callable[..., iModel]


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer() as srv:
        yield srv


@pytest_asyncio.fixture
async def make_model(server: FakeProviderServer) -> AsyncIterator[ModelFactory]:
    """``make_model("openai" | "anthropic", **kw)``: an iModel on the fake server, closed after
    the test."""
    made: list[iModel] = []

    def make(provider: str = "openai", **kw: Any) -> iModel:
        if provider == "anthropic":
            kw.setdefault("model", "claude-3-5-sonnet-20241022")
            kw.setdefault("endpoint", "messages")
            kw.setdefault("base_url", server.anthropic_base_url)
            kw.setdefault("api_key", "sk-ant-test-key-0000")
        else:
            kw.setdefault("model", "gpt-4o-mini")
            kw.setdefault("base_url", server.openai_base_url)
            kw.setdefault("api_key", "sk-test-key-00000000")
        model = iModel(provider=provider, **kw)
        made.append(model)
        return model

    yield make
    for model in made:
        await model.aclose()


@pytest.fixture(params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)
