"""Fixtures for the web tests: a fake provider, the chat app on a real socket, headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from web_helpers import CHROMIUM_ARGS, ChatServer, serve

from lionrx.services import iModel
from lionrx.testing._server import FakeProviderServer
from lionrx.web import StreamHub, create_app


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviderServer]:
    async with FakeProviderServer() as server:
        yield server


@pytest.fixture
async def chat(fake: FakeProviderServer, tmp_path: Path) -> AsyncIterator[ChatServer]:
    models = [
        iModel(
            provider="openai",
            model=name,
            name=name,
            base_url=fake.openai_base_url,
            api_key="sk-test-not-a-real-key-1234",
        )
        for name in ("alpha", "beta")
    ]
    path = tmp_path / "chat.sqlite"
    app = create_app(models, session=path, hub=StreamHub(grace=2.0), close_models=True)
    async with serve(app) as url:
        yield ChatServer(url, app, fake, models, path)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
