"""The notebook's sections 4 and 5 (``tests/session/test_notebook.py``, as written) against a
real model behind a local server: llama.cpp's own OpenAI-compatible server with SmolLM2.

One change to the notebook: its models get ``max_tokens=48`` (a 135M model at temperature 0.7
may otherwise ramble to the end of its context). What it prints is what it stores.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lionrx.services import iModel
from lionrx.session import AssistantResponseContent

pytestmark = pytest.mark.local_model


@pytest.fixture
def notebook(llama_server: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "session" / "test_notebook.py"
    spec = importlib.util.spec_from_file_location("notebook_sections", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "notebook_sections", module)
    spec.loader.exec_module(module)
    # The notebook's iModel(provider=..., model=..., temperature=0.7), pointed at the server
    # through the environment as a user would.
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def model(provider: str) -> iModel:
        return iModel(provider="openai", model="gpt-4o-mini", temperature=0.7, max_tokens=48)

    monkeypatch.setattr(module, "_notebook_model", model)
    return module


async def test_section_4_against_llama_server(
    notebook: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    session, branch = await notebook.stream_with_context("openai")
    out = capsys.readouterr().out
    messages = [session.messages[i] for i in branch.order]
    assert [m.role.value for m in messages] == ["user", "assistant", "assistant"]
    first, second = (m.content.assistant_response for m in messages[1:])
    assert first.strip() and second.strip()
    # Printed as stored: the communicate() answer, then the streamed follow-up.
    assert f"Assistant: {first}\n" in out
    assert f"Assistant: {second}\n" in out
    assert "✅ Conversation has 3 messages" in out


async def test_section_5_against_llama_server(
    notebook: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    model = notebook._notebook_model("openai")
    chat: Any = notebook.StreamingChat(model)
    questions = [
        "What are the key benefits of async programming?",
        "Can you give me a code example?",
        "What are common mistakes to avoid?",
    ]
    replies = [await chat.chat(q) for q in questions]
    chat.history()
    await model.aclose()
    out = capsys.readouterr().out

    stats = re.findall(r"📊 Stats: (\d+) chunks \| First token: ([\d.]+)s \| Total: ([\d.]+)s", out)
    assert len(stats) == 3
    for chunks, first, total in stats:
        assert int(chunks) > 1 and float(first) <= float(total)
    contents = [chat.session.messages[i].content for i in chat.branch.order]
    assert [c.instruction for c in contents[0::2]] == questions
    answers = contents[1::2]
    assert all(isinstance(a, AssistantResponseContent) for a in answers)
    assert [a.assistant_response for a in answers] == replies
    assert all(r.strip() for r in replies)
    assert "CONVERSATION HISTORY" in out
    for question in questions:
        assert f"👤 user: {question}" in out
