"""The chat page in headless Chromium against the fake provider: streaming, Stop, history,
compare mode, resume after a dropped connection, keyboard and narrow screens."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from web_helpers import ChatServer, shot

from lionrx.session import Session
from lionrx.testing._server import Script
from lionrx.web._app import SESSION

pytestmark = pytest.mark.browser

ANSWER = (
    "Streams arrive one piece at a time and the page shows each piece as it comes.\n\n"
    "A second paragraph follows the first, so that a block is committed while the answer "
    "is still streaming and the tail keeps growing.\n\n"
    "The third paragraph ends the answer with a final sentence."
)


async def open_chat(page: Any, chat: ChatServer) -> None:
    await page.goto(chat.url + "/")
    await page.wait_for_selector("body[data-ready=true]")


async def send(page: Any, text: str) -> None:
    await page.focus("#prompt")
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def view_text(page: Any, key: str) -> str:
    return str(await page.evaluate("(k) => window.lionrxChat.views[k].text()", key))


async def first_key(page: Any, nth: int = 0) -> str:
    box = page.locator(".answer[data-key]").nth(nth)
    await box.wait_for()
    return str(await box.get_attribute("data-key"))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def test_answer_appears_progressively_with_live_stats(page: Any, chat: ChatServer) -> None:
    chat.fake.queue(Script(text=ANSWER, chunk_size=4, delay=0.02, usage=(12, 40)))
    await open_chat(page, chat)
    await send(page, "Tell me about streams")
    key = await first_key(page)
    samples: list[str] = []
    dom_samples: list[str] = []
    stats_seen: list[str] = []
    deadline = asyncio.get_running_loop().time() + 30
    while await page.locator(f'.answer[data-key="{key}"].streaming').count():
        assert asyncio.get_running_loop().time() < deadline, "the answer never finished"
        samples.append(await view_text(page, key))
        dom_samples.append(await page.locator(f'.answer[data-key="{key}"] .body').inner_text())
        stats_seen.append(await page.locator(f'.answer[data-key="{key}"] .stats').inner_text())
        if len(samples) == 8:
            await page.screenshot(path=shot("chat-streaming"))
        await asyncio.sleep(0.03)
    final = await view_text(page, key)
    assert final == ANSWER
    partial = [s for s in samples if 0 < len(s) < len(ANSWER)]
    assert partial, "the text must be visible before the stream ends"
    assert all(ANSWER.startswith(s) for s in samples)
    shown = [normalise(d) for d in dom_samples if d.strip()]
    assert any(0 < len(d) < len(normalise(ANSWER)) for d in shown), (
        "the DOM must hold a proper prefix while streaming"
    )
    # Every sample of the page is a prefix of the answer: nothing shown twice or out of order.
    assert all(normalise(ANSWER).startswith(d) for d in shown), shown
    assert normalise(await page.locator(f'.answer[data-key="{key}"] .body').inner_text()) == (
        normalise(ANSWER)
    )
    # The stats bar updated while streaming: time to first token, tokens/s, chunks.
    live = [s for s in stats_seen if re.search(r"TTFT \d+ ms · [\d.]+ tok/s · \d+ chunks", s)]
    assert len({s for s in live}) > 1
    final_stats = await page.locator(f'.answer[data-key="{key}"] .stats').inner_text()
    assert f"{len(Script(text=ANSWER, chunk_size=4).text_chunks())} chunks" in final_stats
    assert await page.locator(f'.answer[data-key="{key}"]').get_attribute("data-status") == (
        "complete"
    )
    await page.screenshot(path=shot("chat-complete"))
    assert page.errors == []


@pytest.mark.parametrize("how", ["button", "escape"])
async def test_stop_closes_upstream_and_keeps_the_partial_marked(
    page: Any, chat: ChatServer, how: str
) -> None:
    long = " ".join(f"word{i}" for i in range(2000))
    chat.fake.queue(Script(text=long, chunk_size=6, delay=0.02))
    await open_chat(page, chat)
    await send(page, "Say a lot")
    key = await first_key(page)
    await page.wait_for_function("(k) => window.lionrxChat.views[k].text().length > 60", arg=key)
    if how == "button":
        await page.click("#stop")
    else:
        await page.keyboard.press("Escape")
    await chat.fake.wait_for_disconnect(timeout=5)
    box = page.locator(f'.answer[data-key="{key}"]')
    await box.locator(".marker").wait_for()
    assert "Stopped" in await box.locator(".marker").inner_text()
    partial = await view_text(page, key)
    assert 60 < len(partial) < len(long) and long.startswith(partial)
    await page.screenshot(path=shot(f"chat-stopped-{how}"))
    # The partial answer is in the session, marked incomplete; a reload shows it marked.
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    stored = page.locator('.answer[data-status="incomplete"]')
    await stored.wait_for()
    assert "cancelled" in await stored.locator(".marker").inner_text()
    assert normalise(await stored.locator(".body").inner_text()) == normalise(partial)
    assert page.errors == []


async def test_reload_shows_history_from_the_sqlite_session(page: Any, chat: ChatServer) -> None:
    chat.fake.queue(
        Script(text="First answer.", chunk_size=5), Script(text="Second answer.", chunk_size=5)
    )
    await open_chat(page, chat)
    await send(page, "first question")
    await page.locator('.answer[data-status="complete"]').first.wait_for()
    await send(page, "second question")
    await page.locator('.answer[data-status="complete"]').nth(1).wait_for()
    url = page.url
    assert "#c-" in url
    await page.goto(chat.url + "/")  # a fresh load, then pick the conversation by its URL
    await page.goto(url)
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    await page.locator(".answer").nth(1).wait_for()
    users = await page.locator(".turn .user").all_inner_texts()
    answers = await page.locator(".answer .body").all_inner_texts()
    assert users == ["first question", "second question"]
    assert [normalise(a) for a in answers] == ["First answer.", "Second answer."]
    options = await page.locator("#conversations option").all_inner_texts()
    assert "first question" in options
    await page.screenshot(path=shot("chat-history"))
    # The conversation really is in the SQLite file.
    conv = url.split("#", 1)[1]
    session = Session.open(chat.session_path)
    try:
        texts = [session.messages[m].content.rendered for m in session.branches[conv].order]
    finally:
        session.close()
    assert texts == ["first question", "First answer.", "second question", "Second answer."]


async def test_compare_mode_streams_two_models_side_by_side(page: Any, chat: ChatServer) -> None:
    a = "Answer from one model, streamed in small pieces."
    b = "A different answer from the other model."
    chat.fake.queue(
        Script(text=a, chunk_size=3, delay=0.02), Script(text=b, chunk_size=3, delay=0.02)
    )
    await open_chat(page, chat)
    await page.check("#compare")
    await page.select_option("#model2", "beta")
    await send(page, "Compare yourselves")
    k1, k2 = await first_key(page, 0), await first_key(page, 1)
    await page.wait_for_timeout(150)
    await page.screenshot(path=shot("chat-compare-streaming"))
    await page.locator('.answer[data-status="complete"]').nth(1).wait_for()
    texts = {await view_text(page, k1), await view_text(page, k2)}
    assert texts == {a, b}
    labels = await page.locator(".answer .model").all_inner_texts()
    assert labels == ["alpha", "beta"]
    requested = sorted(r.json["model"] for r in chat.fake.requests)
    assert requested == ["alpha", "beta"]
    # Side by side on a wide screen, stacked on a narrow one.
    boxes = [await page.locator(".answer").nth(i).bounding_box() for i in (0, 1)]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"]
    await page.screenshot(path=shot("chat-compare"))
    await page.set_viewport_size({"width": 375, "height": 740})
    boxes = [await page.locator(".answer").nth(i).bounding_box() for i in (0, 1)]
    assert boxes[1]["y"] > boxes[0]["y"]
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "no horizontal scrolling on a narrow screen"
    await page.screenshot(path=shot("chat-compare-narrow"), full_page=True)
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    await page.locator(".answer").nth(1).wait_for()
    assert await page.is_checked("#compare")
    stored = [normalise(t) for t in await page.locator(".answer .body").all_inner_texts()]
    assert set(stored) == {a, b}


async def test_dropped_connection_resumes_with_last_event_id(page: Any, chat: ChatServer) -> None:
    words = " ".join(f"w{i}" for i in range(600))
    script = Script(text=words, chunk_size=5, delay=0.01)
    chat.fake.queue(script)
    requests: list[Any] = []

    def on_request(request: Any) -> None:
        if "/api/streams/" in request.url and request.method == "GET":
            requests.append(request)

    page.on("request", on_request)
    await open_chat(page, chat)
    await send(page, "Count")
    key = await first_key(page)
    for _ in range(2):
        await page.wait_for_function(
            "([k, n]) => window.lionrxChat.views[k].text().length > n",
            arg=[key, 300 + 900 * _],
        )
        assert chat.hub.disconnect_readers(key) == 1
    await page.locator(f'.answer[data-key="{key}"][data-status="complete"]').wait_for(timeout=30000)
    assert await view_text(page, key) == words
    chunks = await page.evaluate("(k) => window.lionrxChat.views[k].chunks.length", key)
    assert chunks == len(script.text_chunks()), "no chunk lost or repeated"
    reconnects = [(await r.all_headers()).get("last-event-id", "") for r in requests]
    assert len(reconnects) == 3 and reconnects[0] == ""
    assert all(r.startswith(key + ":") for r in reconnects[1:])
    assert len(chat.fake.requests) == 1, "a resume must not send a second upstream request"
    stats = await page.locator(f'.answer[data-key="{key}"] .stats').inner_text()
    assert "2 reconnects" in stats
    await page.screenshot(path=shot("chat-resumed"))


async def test_keyboard_only(page: Any, chat: ChatServer) -> None:
    chat.fake.queue(Script(text="Keyboard answer.", chunk_size=4, stop_reason="length"))
    await open_chat(page, chat)
    focused = []
    for _ in range(12):
        await page.keyboard.press("Tab")
        focused.append(await page.evaluate("document.activeElement.id"))
    for needed in ("conversations", "new", "model", "compare", "prompt", "send"):
        assert needed in focused, f"#{needed} is not reachable with Tab"
    await tab_to(page, "prompt")
    await page.keyboard.type("hello")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("there")
    assert await page.input_value("#prompt") == "hello\nthere"
    await page.keyboard.press("Enter")
    await page.locator('.answer[data-status="complete"]').wait_for()
    assert await page.locator(".turn .user").inner_text() == "hello\nthere"
    assert "token limit" in await page.locator(".answer .marker").inner_text()


async def tab_to(page: Any, element_id: str) -> None:
    """Press Tab until ``element_id`` has the focus; its focus ring must be visible."""
    for _ in range(20):
        if await page.evaluate("document.activeElement.id") == element_id:
            outline = await page.evaluate(
                "(() => { const s = getComputedStyle(document.activeElement);"
                " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
            )
            assert outline[0] != "none" and outline[1] >= 2, f"#{element_id}: no focus ring"
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"#{element_id} is not reachable with Tab")


async def test_keyboard_only_compare_and_stop(page: Any, chat: ChatServer) -> None:
    long = " ".join(f"k{i}" for i in range(3000))
    chat.fake.queue(
        Script(text=long, chunk_size=6, delay=0.02), Script(text=long, chunk_size=6, delay=0.02)
    )
    await open_chat(page, chat)
    await page.evaluate("document.activeElement.blur()")
    await tab_to(page, "compare")
    await page.keyboard.press("Space")
    assert await page.is_checked("#compare")
    await tab_to(page, "model2")
    await page.keyboard.press("ArrowDown")  # a closed <select> changes with the arrow keys
    assert await page.input_value("#model2") == "beta"
    await tab_to(page, "prompt")
    await page.keyboard.type("Both of you, at length")
    await page.keyboard.press("Enter")
    k1, k2 = await first_key(page, 0), await first_key(page, 1)
    await page.wait_for_function("(k) => window.lionrxChat.views[k].text().length > 60", arg=k2)
    await tab_to(page, "stop")
    await page.keyboard.press("Enter")
    await chat.fake.wait_for_disconnect(timeout=5)
    for key in (k1, k2):
        box = page.locator(f'.answer[data-key="{key}"]')
        await box.locator(".marker").wait_for()
        assert "Stopped" in await box.locator(".marker").inner_text()
        assert len(await view_text(page, key)) < len(long)
    assert sorted(r.json["model"] for r in chat.fake.requests) == ["alpha", "beta"]
    # The focus is not lost with the now disabled Stop button: it is back in the message box.
    await page.wait_for_function("document.activeElement.id === 'prompt'")
    await page.screenshot(path=shot("chat-keyboard-stopped"))
    assert page.errors == []


async def test_reload_mid_answer_picks_the_live_stream_up(page: Any, chat: ChatServer) -> None:
    words = " ".join(f"r{i}" for i in range(400))
    chat.fake.queue(Script(text=words, chunk_size=5, delay=0.01))
    await open_chat(page, chat)
    await send(page, "Keep going")
    key = await first_key(page)
    await page.wait_for_function("(k) => window.lionrxChat.views[k].text().length > 200", arg=key)
    await page.reload()
    await page.wait_for_selector("body[data-ready=true]")
    box = page.locator(f'.answer[data-key="{key}"]')
    await box.wait_for()
    assert await box.evaluate("(b) => b.classList.contains('streaming')")
    await page.locator(f'.answer[data-key="{key}"][data-status="complete"]').wait_for()
    assert await view_text(page, key) == words
    assert await page.locator(".answer").count() == 1, "the stored partial is not shown twice"
    assert len(chat.fake.requests) == 1
    assert chat.fake.disconnects == 0, "a reload does not cancel the answer"


async def test_closing_the_tab_cancels_upstream_after_the_grace(
    browser: Any, chat: ChatServer
) -> None:
    chat.fake.queue(Script(text=" ".join(["more"] * 3000), chunk_size=5, delay=0.02))
    context = await browser.new_context()
    page = await context.new_page()
    await open_chat(page, chat)
    await send(page, "Talk until I leave")
    key = await first_key(page)
    await page.wait_for_function("(k) => window.lionrxChat.views[k].text().length > 50", arg=key)
    conv = page.url.split("#", 1)[1]
    await context.close()
    started = asyncio.get_running_loop().time()
    await chat.fake.wait_for_disconnect(timeout=10)
    waited = asyncio.get_running_loop().time() - started
    assert 1.0 < waited < 6.0, f"disposed {waited:.1f}s after the tab closed (grace is 2 s)"
    await chat.hub.wait(key)
    session = chat.app[SESSION]
    answer = session.messages[session.branches[conv].order[-1]].content
    assert answer.status == "incomplete" and answer.incomplete_reason == "cancelled"
    assert answer.assistant_response.startswith("more more")


async def test_narrow_screen_long_lines_do_not_widen_the_page(page: Any, chat: ChatServer) -> None:
    answer = (
        "A word that never breaks: " + "w" * 300 + "\n\n"
        "```python\n" + "x = '" + "y" * 300 + "'\n```\n\n"
        "| a | table | row | that | is | wide |\n\nhttps://example.com/" + "p" * 200
    )
    chat.fake.queue(Script(text=answer, chunk_size=20, delay=0.005))
    await page.set_viewport_size({"width": 360, "height": 740})
    await open_chat(page, chat)
    await send(page, "Long lines please")
    await page.locator('.answer[data-status="complete"]').wait_for()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "no horizontal scrolling of the page on a narrow screen"
    # The code block scrolls on its own instead; the controls stay within the screen.
    pre = await page.evaluate(
        "(() => { const p = document.querySelector('.answer pre');"
        " return [p.scrollWidth > p.clientWidth, getComputedStyle(p).overflowX]; })()"
    )
    assert pre == [True, "auto"]
    for control in ("#prompt", "#send", "#stop", "#model"):
        box = await page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, control
    await page.screenshot(path=shot("chat-narrow-long-lines"), full_page=True)
