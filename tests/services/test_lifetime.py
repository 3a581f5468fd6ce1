"""An iModel that is never closed neither leaks its connections nor makes aiohttp warn.

The notebook never calls ``aclose()``: a dropped model closes its own session while the loop
runs, a model still alive at ``asyncio.run``'s end is closed at loop shutdown, and a shared
session is never closed by a model.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap

import aiohttp

from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script


async def _answer(model: iModel) -> str:
    return "".join([chunk async for chunk in model.invoke_stream(messages="hi")])


async def _until(condition: object, seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_a_dropped_model_closes_its_session(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="dropped"))
    model = iModel(model="m", base_url=fake_server.openai_base_url)
    assert await _answer(model) == "dropped"
    session = model.backend._session  # type: ignore[attr-defined]
    assert session is not None and not session.closed
    del model
    gc.collect()
    await _until(lambda: session.closed)
    assert session.connector is None or session.connector.closed


async def test_a_dropped_model_leaves_a_shared_session_open(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.queue(Script(text="one"), Script(text="two"))
    async with aiohttp.ClientSession() as shared:
        model = iModel(model="m", base_url=fake_server.openai_base_url, http_session=shared)
        assert await _answer(model) == "one"
        del model
        gc.collect()
        await asyncio.sleep(0.05)
        assert not shared.closed
        again = iModel(model="m", base_url=fake_server.openai_base_url, http_session=shared)
        assert await _answer(again) == "two"
        await again.aclose()
        assert not shared.closed


async def test_aclose_and_async_with_still_close_at_once(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.queue(Script(text="a"), Script(text="b"), Script(text="c"))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        assert await _answer(model) == "a"
        first = model.backend._session  # type: ignore[attr-defined]
    assert first is not None and first.closed
    # A closed model opens a fresh session when used again, and closes it again.
    assert await _answer(model) == "b"
    second = model.backend._session  # type: ignore[attr-defined]
    assert second is not None and second is not first and not second.closed
    await model.aclose()
    assert second.closed
    await model.aclose()  # idempotent
    assert await _answer(model) == "c"
    await model.aclose()


SCRIPT = """
import asyncio, gc, sys
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script

with FakeProviderServer(Script(text="same")).in_thread() as server:
    model = iModel(model="m", base_url=server.openai_base_url)  # never closed, as in the notebook

    async def main() -> None:
        print("".join([c async for c in model.invoke_stream(messages="hi")]))
        local = iModel(model="m", base_url=server.openai_base_url)  # dropped unclosed
        print("".join([c async for c in local.invoke_stream(messages="hi")]))

    asyncio.run(main())
    gc.collect()
    print("closed" if model.backend._session is None or model.backend._session.closed else "open")
"""


def test_a_never_closed_model_is_silent_at_exit() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always", "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["same", "same", "closed"]
    assert "Unclosed" not in result.stderr, result.stderr
    assert "ResourceWarning" not in result.stderr, result.stderr


def test_a_never_closed_model_survives_several_asyncio_runs() -> None:
    """Each ``asyncio.run`` closes the session at its loop's shutdown; the next run makes a new
    one on its own loop."""
    sessions = []

    async def one(model: iModel) -> str:
        text = await _answer(model)
        sessions.append(model.backend._session)  # type: ignore[attr-defined]
        return text

    with FakeProviderServer(Script(text="again")).in_thread() as server:
        model = iModel(model="m", base_url=server.openai_base_url)
        assert [asyncio.run(one(model)) for _ in range(3)] == ["again"] * 3
    assert len({id(s) for s in sessions}) == 3
    assert all(s is not None and s.closed for s in sessions)
