"""The session packages' ``__all__`` name exactly what they export, at lionpride's paths."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "lionrx.session",
        "lionrx.session.messages",
        "lionrx.session.messages.utils",
        "lionrx.operations",
    ],
)
def test_all_is_honest(module: str) -> None:
    mod = importlib.import_module(module)
    public = {n for n in dir(mod) if not n.startswith("_")}
    assert set(mod.__all__) <= public
    # Anything public that is not exported is a submodule (``utils``, ``messages``).
    for name in public - set(mod.__all__):
        assert inspect.ismodule(getattr(mod, name)) or name == "annotations", name


def test_lionpride_paths() -> None:
    from lionrx import Session
    from lionrx.operations import communicate
    from lionrx.session.messages import AssistantResponseContent, InstructionContent, Message
    from lionrx.session.messages.utils import prepare_messages_for_chat
    from lionrx.sinks import history

    assert all((Session, communicate, AssistantResponseContent, InstructionContent, Message))
    assert callable(prepare_messages_for_chat) and callable(history)
