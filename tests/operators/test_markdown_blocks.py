"""markdown_blocks(): committed blocks + pending tail; the splitter under any chunking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Completed, Response, TextDelta
from lionrx._segment import MarkdownBlockSplitter
from lionrx.operators import MarkdownBlock, MarkdownUpdate
from lionrx.services import iModel
from lionrx.testing import (
    FakeProviderServer,
    Script,
    assert_stream_laws,
    chunkings,
    messages,
    run_virtual,
)

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)

DOC = (
    "# Title\n\n"
    "Para one\nline two\n\n"
    "- item 1\n"
    "- item 2\n  continued\n\n"
    "```py\ncode\n\n# not a heading\n```\n"
    "After code\n"
    "> quote\n> more\n\n"
    "| a | b |\n|---|---|\n\n"
    "Setext\n---\n"
    "***\n"
    "1. first\n2) second\nlazy continuation\n\n"
    "tail"
)
BLOCKS = [
    ("heading", "# Title\n\n"),
    ("paragraph", "Para one\nline two\n\n"),
    ("list_item", "- item 1\n"),
    ("list_item", "- item 2\n  continued\n\n"),
    ("code", "```py\ncode\n\n# not a heading\n```\n"),
    ("paragraph", "After code\n"),
    ("quote", "> quote\n> more\n\n"),
    ("table", "| a | b |\n|---|---|\n\n"),
    ("heading", "Setext\n---\n"),
    ("rule", "***\n"),
    ("list_item", "1. first\n"),
    ("list_item", "2) second\nlazy continuation\n\n"),
    ("paragraph", "tail"),
]


def _split(pieces: Sequence[str]) -> tuple[list[MarkdownBlock], list[str]]:
    splitter = MarkdownBlockSplitter()
    blocks: list[MarkdownBlock] = []
    pendings: list[str] = []
    for piece in pieces:
        blocks += splitter.feed(piece)
        pendings.append(splitter.pending)
    return blocks + splitter.close(), pendings


def test_splitter_blocks() -> None:
    blocks, _ = _split([DOC])
    assert [(b.kind, b.text) for b in blocks] == BLOCKS


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_splitter_same_blocks_under_any_chunking(data: st.DataObject) -> None:
    pieces = data.draw(chunkings(DOC))
    blocks, pendings = _split(pieces)
    assert [(b.kind, b.text) for b in blocks] == BLOCKS
    # committed text + pending always equals the text so far
    fed = ""
    committed = ""
    splitter = MarkdownBlockSplitter()
    for piece in pieces:
        fed += piece
        committed += "".join(b.text for b in splitter.feed(piece))
        assert committed + splitter.pending == fed


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_splitter_lossless_on_random_markdown(data: st.DataObject) -> None:
    atoms = st.sampled_from(
        ["# h", "\n", "\n\n", "- ", "1. ", "```", "~~~", "> ", "| x |", "---", "word ", "  ", "*"]
    )
    text = "".join(data.draw(st.lists(atoms, max_size=40)))
    pieces = data.draw(chunkings(text))
    blocks, _ = _split(pieces)
    assert "".join(b.text for b in blocks) == text
    assert all(b.text for b in blocks)
    assert blocks == _split([text])[0]


def _committed_text(values: Sequence[Any]) -> str:
    return "".join(
        b.text
        for v in values
        if isinstance(v, MarkdownUpdate) and v.choice == 0
        for b in v.committed
    )


def test_marble_updates() -> None:
    run = run_virtual(
        lambda s: ops.markdown_blocks(),
        [on_next(10, "# Hi\n\nSome "), on_next(20, "text.\n\n- a"), on_completed(30)],
    )
    heading = MarkdownBlock("# Hi\n\n", "heading")
    para = MarkdownBlock("Some text.\n\n", "paragraph")
    assert run.messages == [
        on_next(210, MarkdownUpdate((heading,), "Some ")),
        on_next(220, MarkdownUpdate((para,), "- a")),
        on_next(230, MarkdownUpdate((MarkdownBlock("- a", "list_item"),), "", final=True)),
        on_completed(230),
    ]


def test_error_commits_the_tail_then_errors() -> None:
    error = RuntimeError("x")
    run = run_virtual(lambda s: ops.markdown_blocks(), [on_next(1, "half"), on_error(2, error)])
    assert run.values[-1] == MarkdownUpdate((MarkdownBlock("half", "paragraph"),), "", True)
    assert run.error is error


def test_events_per_channel_final_before_terminal() -> None:
    done = Completed(response=Response(texts={0: "a\n\nb"}))
    run = run_virtual(
        lambda s: ops.markdown_blocks(),
        messages([TextDelta(text="a\n\nb"), TextDelta(text="z", choice=1), done]),
    )
    updates = [v for v in run.values if isinstance(v, MarkdownUpdate)]
    assert [(u.choice, u.final) for u in updates] == [(0, False), (1, False), (0, True), (1, True)]
    assert run.values[-1] is done


def test_stream_laws() -> None:
    assert_stream_laws(lambda s: ops.markdown_blocks(), extract=_committed_text, max_examples=40)


async def test_end_to_end(fake_server: FakeProviderServer, model: iModel) -> None:
    fake_server.default = Script(text=DOC, chunk_size=5)
    result = await collect(model.stream("hi").pipe(ops.text(), ops.markdown_blocks()))
    assert result.completed
    blocks = [b for u in result.items for b in u.committed]
    assert [(b.kind, b.text) for b in blocks] == BLOCKS
    assert result.items[-1].final and result.items[-1].pending == ""
    # A renderer never sees a committed block again: each appears in exactly one update.
    assert len(blocks) == len(BLOCKS)
