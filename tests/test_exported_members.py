"""Every public module's ``__all__`` is honest: each name exists, and public callables and
classes are documented (the API reference is generated from these docstrings)."""

from __future__ import annotations

import importlib
import inspect

import pytest

PUBLIC = [
    "lionrx",
    "lionrx.events",
    "lionrx.errors",
    "lionrx.sse",
    "lionrx.ndjson",
    "lionrx.providers",
    "lionrx.services",
    "lionrx.operators",
    "lionrx.sinks",
    "lionrx.session",
    "lionrx.session.messages",
    "lionrx.session.messages.utils",
    "lionrx.operations",
    "lionrx.testing",
    "lionrx.web",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_names_exist_and_are_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    exported = module.__all__
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which is missing"
        value = getattr(module, attr)
        if (inspect.isclass(value) or inspect.isfunction(value)) and not attr.startswith("_"):
            assert inspect.getdoc(value), f"{name}.{attr} has no docstring"


def test_the_notebook_imports() -> None:
    from lionrx import Session  # noqa: F401
    from lionrx.operations import communicate  # noqa: F401
    from lionrx.services import iModel  # noqa: F401
    from lionrx.session.messages import (  # noqa: F401
        AssistantResponseContent,
        InstructionContent,
        Message,
    )
    from lionrx.session.messages.utils import prepare_messages_for_chat  # noqa: F401
