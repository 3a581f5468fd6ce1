"""Session surface: the services registry, branches, adding messages, export and import."""

from __future__ import annotations

import json
import uuid

import pytest

from lionrx import Session
from lionrx.errors import ConfigurationError
from lionrx.session import (
    AssistantResponseContent,
    Branch,
    InstructionContent,
    Message,
    SystemContent,
)


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name


def test_registry_refuses_duplicate_names() -> None:
    session = Session()
    a, b = _Model("gpt"), _Model("gpt")
    session.services.register(a)
    session.services.register(a)  # the same model again: fine
    with pytest.raises(ConfigurationError, match="already registered") as caught:
        session.services.register(b)
    assert "update=True" in str(caught.value) and "name=" in str(caught.value)
    assert session.services.get("gpt") is a
    session.services.register(b, update=True)
    assert session.services.get("gpt") is b
    session.services.register(a, name="gpt-2")
    assert session.services.list_names() == ["gpt", "gpt-2"]
    assert "gpt" in session.services and a in session.services and "x" not in session.services
    assert len(session.services) == 2 and list(session.services) == ["gpt", "gpt-2"]
    with pytest.raises(ConfigurationError, match=r"no model named 'x'.*'gpt', 'gpt-2'"):
        session.services.get("x")
    assert session.services.get("x", None) is None
    assert session.services.unregister("gpt-2") is a
    with pytest.raises(ConfigurationError, match="no name"):
        session.services.register(object())


def test_registry_with_real_imodels() -> None:
    from lionrx.services import iModel

    session = Session()
    session.services.register(iModel(provider="openai", model="gpt-4o-mini"))
    with pytest.raises(ConfigurationError, match="'openai/gpt-4o-mini' is already registered"):
        session.services.register(iModel(provider="openai", model="gpt-4o-mini"))
    session.services.register(iModel(provider="openai", model="gpt-4o-mini", name="second"))
    assert session.services.list_names() == ["openai/gpt-4o-mini", "second"]


def test_branches() -> None:
    session = Session()
    main = session.create_branch(name="main")
    assert session.create_branch().name == "branch-2"
    with pytest.raises(ConfigurationError, match="already exists"):
        session.create_branch(name="main")
    assert session.get_branch("main") is main
    assert session.get_branch(main.id) is main and session.get_branch(str(main.id)) is main
    with pytest.raises(ConfigurationError, match="no branch 'nope'|no branch nope"):
        session.get_branch("nope")
    other = Session().create_branch(name="main")
    with pytest.raises(ConfigurationError, match="another session"):
        session.get_branch(other)
    with pytest.raises(RuntimeError, match="does not belong"):
        Branch(name="loose").fork()
    assert session.fork_branch(main).name == "main-fork-1"
    assert main.fork().name == "main-fork-2"
    assert session.default_branch.name == "default"
    assert list(session.branches) == ["main", "branch-2", "main-fork-1", "main-fork-2", "default"]


def test_add_message_and_lookup() -> None:
    session = Session()
    main = session.create_branch(name="main")
    side = session.create_branch(name="side")
    msg = Message(content=InstructionContent(instruction="hi"))
    session.add_message(msg, branches=[main, "side"])
    assert main.order == side.order == [msg.id]
    assert session.messages[msg.id] is msg and session.messages[str(msg.id)] is msg
    assert msg in main and msg.id in main and str(msg.id) in main and "zz" not in main
    assert main.messages == [msg]
    with pytest.raises(KeyError, match="no message"):
        session.messages[uuid.uuid4()]
    assert "nonsense" not in session.messages
    session.add_message(Message(content=SystemContent(system_message="sys")), branches=main)
    assert main.system is not None and main.system.text == "sys" and len(main) == 1
    with pytest.raises(TypeError, match="takes a Message"):
        session.add_message({"role": "user", "content": "x"})  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        session.update_message(Message(content=InstructionContent(instruction="new")))
    with pytest.raises(ConfigurationError, match="SystemContent"):
        session.create_branch(name="bad", system=msg)


def test_export_import_branch() -> None:
    session = Session()
    main = session.create_branch(name="main", system="sys")
    for q, a in [("q1", "a1"), ("q2", "a2")]:
        session.add_message(Message(content=InstructionContent(instruction=q)), branches=main)
        session.add_message(
            Message(content=AssistantResponseContent(assistant_response=a)), branches=main
        )
    exported = session.export_branch("main")
    doc = json.loads(exported)
    assert doc["format"] == "lionrx.branch" and doc["version"] == 1
    assert [m["content"]["kind"] for m in doc["messages"]] == [
        "instruction",
        "assistant_response",
    ] * 2

    other = Session()
    imported = other.import_branch(exported)
    assert imported.name == "main" and imported.order == main.order
    assert imported.system == main.system
    assert [other.messages[i] for i in imported.order] == [session.messages[i] for i in main.order]
    # Importing again (same messages) needs another name and shares the messages.
    again = other.import_branch(doc, name="copy")
    assert again.order == imported.order and len(other.messages) == 4
    with pytest.raises(ConfigurationError, match="already exists"):
        other.import_branch(exported)
    # A conflicting message with the same id is refused, not overwritten.
    doc["messages"][0]["content"]["instruction"] = "tampered"
    with pytest.raises(ValueError, match="different content"):
        other.import_branch(doc, name="x")
    doc["branch"]["order"].append(str(uuid.uuid4()))
    with pytest.raises(ValueError, match="does not contain"):
        Session().import_branch(doc)
    with pytest.raises(ValueError):
        Session().import_branch('{"format": "something else"}')
