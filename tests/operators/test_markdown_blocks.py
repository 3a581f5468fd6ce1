"""markdown_blocks(): committed blocks + pending tail; the splitter under any chunking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Completed, Response, TextDelta
from lionrx._segment import MarkdownBlockSplitter, _markdown
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
        [
            on_next(10, "# Hi\n\nSome "),
            on_next(15, "text."),
            on_next(20, "\n\n- a"),
            on_completed(30),
        ],
    )
    heading = MarkdownBlock("# Hi\n\n", "heading")
    para = MarkdownBlock("Some text.\n\n", "paragraph")
    item = MarkdownBlock("- a", "list_item")
    assert run.messages == [
        on_next(210, MarkdownUpdate((heading,), "Some ", appended="# Hi\n\nSome ")),
        on_next(215, MarkdownUpdate((), "Some text.", appended="text.")),
        on_next(220, MarkdownUpdate((para,), "- a", appended="\n\n- a")),
        on_next(230, MarkdownUpdate((item,), "", final=True)),
        on_completed(230),
    ]


def test_update_is_immutable_and_compares_by_value() -> None:
    update = MarkdownUpdate((), "abc", appended="c")
    with pytest.raises(AttributeError):
        update.final = True  # type: ignore[misc]
    assert update == MarkdownUpdate((), "abc", appended="c")
    assert update != MarkdownUpdate((), "abc", appended="bc")
    assert hash(update) == hash(MarkdownUpdate((), "abc", appended="c"))
    assert update.pending_size == 3 and update.pending_tail(2) == "bc"
    assert update.pending_tail(0) == "" and update.pending_tail(10) == "abc"


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_updates_carry_the_delta_and_a_faithful_lazy_tail(data: st.DataObject) -> None:
    atoms = st.sampled_from(
        ["# h", "\n", "\n\n", "- ", "1. ", "```", "> ", "| x |", "---", "word ", "  ", "é漢"]
    )
    text = "".join(data.draw(st.lists(atoms, min_size=1, max_size=40)))
    pieces = [piece for piece in data.draw(chunkings(text)) if piece]  # empty: no update
    result = run_virtual(
        lambda s: ops.markdown_blocks(),
        [on_next(10 + i, piece) for i, piece in enumerate(pieces)] + [on_completed(100)],
    )
    updates = [v for v in result.values if isinstance(v, MarkdownUpdate)]
    # Read the updates' tails only now, after the splitter went on (and in reverse order):
    # each snapshot still shows the tail as it was at its update.
    tails = [u.pending for u in reversed(updates)][::-1]
    previous = ""
    fed = ""
    committed = ""
    for piece, update, tail in zip(pieces, updates[:-1], tails[:-1], strict=True):
        fed += piece
        cut = "".join(b.text for b in update.committed)
        committed += cut
        assert update.appended == piece
        assert tail == (previous + update.appended)[len(cut) :]
        assert committed + tail == fed
        assert update.pending_size == len(tail)
        n = data.draw(st.integers(0, len(tail) + 2))
        assert update.pending_tail(n) == (tail[-n:] if n else "")
        previous = tail
    assert updates[-1].final and updates[-1].pending == "" and updates[-1].appended == ""
    assert committed + "".join(b.text for b in updates[-1].committed) == text


class _Joins:
    """Counts the characters the splitter's tail joins or copies (its only O(tail) work)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.chars = 0
        self.calls = 0
        log = _markdown._TailLog
        text, tail = log.text, log.tail

        def counted_text(this: Any, count: int, size: int) -> str:
            out = text(this, count, size)
            self.chars += len(out)
            self.calls += 1
            return out

        def counted_tail(this: Any, count: int, size: int, n: int) -> str:
            out = tail(this, count, size, n)
            self.chars += len(out)
            self.calls += 1
            return out

        monkeypatch.setattr(log, "text", counted_text)
        monkeypatch.setattr(log, "tail", counted_tail)


ENDLESS = "the quick brown fox jumps over the lazy dog and " * 400  # one paragraph, no end


def test_an_endless_block_costs_nothing_per_update_until_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Linear cost, structurally: one character per chunk through a block that never ends.
    # The updates carry the new character and a snapshot; nothing joins the tail until it
    # is read, and then the join is done once (not once per update).
    joins = _Joins(monkeypatch)
    out: list[MarkdownUpdate] = []
    reactivex.from_iterable(ENDLESS).pipe(ops.markdown_blocks()).subscribe(out.append)
    assert joins.chars == 0
    assert [u.appended for u in out[:-1]] == list(ENDLESS)
    assert all(not u.committed for u in out[:-1])
    assert out[-2].pending_size == len(ENDLESS)
    assert out[-2].pending_tail(5) == ENDLESS[-5:]
    assert joins.chars == 5
    assert out[-2].pending == ENDLESS
    assert out[100].pending == ENDLESS[:101]  # an earlier snapshot reuses the join
    assert joins.chars == 5 + len(ENDLESS) + 101
    assert out[-2].pending == ENDLESS  # kept: not joined again
    assert joins.calls == 3


def test_reading_the_tail_as_it_grows_joins_each_piece_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The splitter's own `pending`, read every 1000 characters: each read joins only what
    # arrived since the previous one (plus the string it extends), never the pieces again.
    splitter = MarkdownBlockSplitter()
    log_pieces: list[int] = []
    for i, ch in enumerate(ENDLESS):
        splitter.feed(ch)
        if i % 1000 == 999:
            log_pieces.append(len(splitter._log.pieces))
            assert splitter.pending == ENDLESS[: i + 1]
            assert splitter._log.pieces == []  # folded: later reads start from the join
    assert set(log_pieces) == {1000}


def test_commit_starts_a_fresh_tail_and_reset_forgets() -> None:
    splitter = MarkdownBlockSplitter()
    for ch in "para one\n\n":
        splitter.feed(ch)
    snapshot = splitter.pending_text
    assert str(snapshot) == "para one\n\n"
    blocks = splitter.feed("n")
    assert [b.text for b in blocks] == ["para one\n\n"]
    assert splitter.pending == "n" and splitter.pending_size == 1
    assert str(snapshot) == "para one\n\n" and len(snapshot) == 10
    splitter.feed("ext half")
    splitter.reset()
    assert splitter.pending == "" and splitter.pending_size == 0
    splitter.feed("# new\n")
    assert [b.text for b in splitter.close()] == ["# new\n"]


def test_error_commits_the_tail_then_errors() -> None:
    error = RuntimeError("x")
    run = run_virtual(lambda s: ops.markdown_blocks(), [on_next(1, "half"), on_error(2, error)])
    assert run.values[-1] == MarkdownUpdate((MarkdownBlock("half", "paragraph"),), "", True)
    assert run.values[0] == MarkdownUpdate((), "half", appended="half")
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


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_pending_snapshots_stay_exact_whatever_is_read_when(data: st.DataObject) -> None:
    # Snapshots of the splitter's tail, read (joined or just their end) at random moments:
    # folding by one read never changes what another snapshot, older or newer, shows.
    atoms = st.sampled_from(["para ", "long piece of text ", "\n", "\n\n", "# h\n", "- i", "x"])
    text = "".join(data.draw(st.lists(atoms, min_size=1, max_size=30)))
    pieces = [piece for piece in data.draw(chunkings(text)) if piece]
    splitter = MarkdownBlockSplitter()
    snapshots = []
    committed = ""
    fed = ""
    for piece in pieces:
        fed += piece
        committed += "".join(b.text for b in splitter.feed(piece))
        expected = fed[len(committed) :]
        assert splitter.pending_size == len(expected)
        snapshots.append((splitter.pending_text, expected))
        if data.draw(st.booleans()):
            old, old_expected = snapshots[data.draw(st.integers(0, len(snapshots) - 1))]
            n = data.draw(st.integers(0, len(old_expected) + 1))
            if data.draw(st.booleans()):
                assert str(old) == old_expected
            else:
                assert old.tail(n) == (old_expected[-n:] if n else "")
        n = data.draw(st.integers(0, len(expected) + 1))
        assert splitter.pending_tail(n) == (expected[-n:] if n else "")
    for snapshot, expected in reversed(snapshots):
        n = data.draw(st.integers(0, len(expected) + 1))
        assert snapshot.tail(n) == (expected[-n:] if n else "")
        assert len(snapshot) == len(expected) and str(snapshot) == expected
