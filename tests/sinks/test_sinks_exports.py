"""`lionrx.sinks.__all__` names exactly what the package exports, and `replay` is registered."""

from __future__ import annotations

import lionrx.sinks
from lionrx.providers import provider_names


def test_all_is_honest() -> None:
    public = {name for name in dir(lionrx.sinks) if not name.startswith("_")}
    modules = {"_console", "_file", "_handle", "_history", "_stats", "_tee", "_terminal"}
    assert set(lionrx.sinks.__all__) <= public
    for name in lionrx.sinks.__all__:
        assert getattr(lionrx.sinks, name) is not None
    assert {"console", "file", "record", "replay", "tee", "SinkHandle"} <= set(lionrx.sinks.__all__)
    assert not modules & set(lionrx.sinks.__all__)


def test_replay_provider_is_registered() -> None:
    assert "replay" in provider_names()
