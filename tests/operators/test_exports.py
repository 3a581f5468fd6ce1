"""The public face of lionrx.operators: honest __all__, one documented operator per module."""

from __future__ import annotations

import importlib
import inspect

import lionrx.operators as ops
import lionrx.testing as testing

OPERATORS = [
    "accumulate",
    "buffer",
    "fallback",
    "markdown_blocks",
    "merge_labeled",
    "progress_tap",
    "race",
    "sentence_chunk",
    "smooth",
    "text",
    "timeout",
]


def test_all_is_honest() -> None:
    for name in ops.__all__:
        assert hasattr(ops, name), name
    public = {n for n in dir(ops) if not n.startswith("_")}
    assert set(OPERATORS) <= set(ops.__all__)
    assert set(ops.__all__) <= public


def test_each_operator_has_its_module_and_a_marble_diagram() -> None:
    for name in OPERATORS:
        func = getattr(ops, name)
        module = importlib.import_module(func.__module__)
        assert module.__name__ == f"lionrx.operators._{name}", module.__name__
        assert module.__doc__, f"{module.__name__} has no module docstring"
        doc = inspect.getdoc(func) or ""
        # A marble: a literal block with a timeline ending in "|" (completion) or "X".
        assert "::" in doc, f"{name}: no marble diagram"
        assert any(line.rstrip().endswith(("|", "X")) for line in doc.splitlines()), name


def test_laws_and_virtual_time_are_in_the_test_kit() -> None:
    for name in (
        "assert_stream_laws",
        "check_lossless",
        "check_order",
        "check_no_empty_chunks",
        "check_flush_on_error",
        "check_one_terminal",
        "check_deterministic",
        "check_dispose_propagates",
        "run_virtual",
        "messages",
        "VirtualRun",
    ):
        assert name in testing.__all__ and hasattr(testing, name), name
