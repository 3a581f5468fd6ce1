"""``lionrx.web.__all__`` is honest: every name exists and every public name is listed."""

from __future__ import annotations

import lionrx.web as web
from lionrx.web import STATIC_DIR


def test_all_names_exist_and_public_names_are_listed() -> None:
    for name in web.__all__:
        assert hasattr(web, name), name
    public = {n for n in vars(web) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(web, n)).__name__ == "module"}
    assert public - modules == set(web.__all__)


def test_static_client_is_package_data() -> None:
    names = {p.name for p in STATIC_DIR.iterdir()}
    assert {"lionrx.js", "chat.js", "chat.html", "chat.css"} <= names
