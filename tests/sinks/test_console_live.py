"""The console sink in a terminal: live markdown through a real pseudo-terminal, checked on a
terminal emulator (pyte); committed blocks written once; per-update cost flat in answer length."""

from __future__ import annotations

import io
import re
import sys
import textwrap
from typing import Any

import pexpect
import pyte
import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from lionrx._segment import _markdown
from lionrx.events import Completed, Event, Response, TextDelta
from lionrx.sinks import SinkHandle
from lionrx.sinks._console import ConsoleSink
from lionrx.sinks._terminal import LiveRegion, wrap_rows, wrap_window
from lionrx.testing import FakeProviderServer, Script
from lionrx.testing._strategies import chunkings

ANSWER = (
    "# Streams\n\n"
    "Streams arrive in pieces, and a good terminal shows each piece as soon as it comes, "
    "without redrawing what is already final.\n\n"
    "```python\nfor chunk in stream:\n    print(chunk)\n```\n\n"
    "- first point\n- second point\n\n"
    "That is all.\n"
)

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from lionrx.services import iModel
    from lionrx.sinks import console

    async def main():
        async with iModel(provider="openai", model="m", base_url=sys.argv[1]) as model:
            await console(
                model.stream("hi"), mode="markdown", stats=True, rich=sys.argv[2] == "rich"
            )

    asyncio.run(main())
    """
)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _screen(raw: str, columns: int, lines: int) -> list[str]:
    screen = pyte.Screen(columns, lines)
    stream = pyte.Stream(screen)
    stream.feed(raw.replace("\n", "\r\n"))  # what the tty's onlcr does
    return [line.rstrip() for line in screen.display]


def _nonblank(lines: list[str]) -> list[str]:
    return [line for line in lines if line.strip()]


async def _run_in_pty(server: FakeProviderServer, style: str) -> bytes:
    child = pexpect.spawn(
        sys.executable, ["-c", CHILD, server.openai_base_url, style], dimensions=(60, 72)
    )
    try:
        await child.expect(pexpect.EOF, timeout=60, async_=True)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert isinstance(child.before, bytes)
    return child.before


@pytest.mark.parametrize("style", ["plain", "rich"])
async def test_live_markdown_in_a_pseudo_terminal(server: FakeProviderServer, style: str) -> None:
    server.queue(Script(text=ANSWER, chunk_size=6, delay=0.003))
    raw = await _run_in_pty(server, style)
    assert b"\x1b[J" in raw  # it did redraw the pending tail in place
    screen = pyte.Screen(72, 60)
    pyte.ByteStream(screen).feed(raw)
    shown = _nonblank([line.rstrip() for line in screen.display])
    assert re.match(r"📊 Stats: \d+ chunks \| first chunk", shown[-1])
    if style == "plain":
        # The markdown source, exactly, wrapped by the terminal.
        expected = []
        for line in ANSWER.splitlines():
            expected += [line[i : i + 72] for i in range(0, len(line), 72)]
        assert [line.rstrip() for line in shown[:-1]] == [e.rstrip() for e in expected]
    else:
        body = "\n".join(shown)
        assert "Streams" in body and "# Streams" not in body
        assert "```" not in body and "for chunk in stream:" in body
        assert "• first point" in body and "• second point" in body
        assert "That is all." in body


class Recorder(LiveRegion):
    """A live region that remembers what was committed and how far the cursor went up."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.commits: list[str] = []
        self.sizes: list[int] = []

    def update(self, commit: str = "", rows: list[str] | None = None) -> None:
        before = self.bytes_written
        super().update(commit, rows)
        self.commits.append(commit)
        self.sizes.append(self.bytes_written - before)


def _live_sink(out: FakeTTY, size: tuple[int, int], **options: Any) -> tuple[ConsoleSink, Recorder]:
    sink = ConsoleSink(out, live=True, size=lambda: size, refresh=0, rich=False, **options)
    region = Recorder(sink._raw_write, lambda: size)
    sink.region = region
    return sink, region


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def test_committed_blocks_are_written_once_and_in_order() -> None:
    out = FakeTTY()
    sink, region = _live_sink(out, (60, 20), mode="markdown")
    await SinkHandle(reactivex.from_iterable(_chunks(ANSWER, 3)), sink)
    commits = [c for c in region.commits if c]
    assert "".join(commits) == ANSWER
    blocks = ["# Streams\n\n", "```python\n", "- first point\n", "That is all.\n"]
    for block in blocks:
        assert sum(block in c for c in commits) == 1
    screen = _screen(out.getvalue(), 60, 20)
    assert _nonblank(screen)[-1] == "That is all."


def _long_answer(paragraphs: int) -> str:
    return "".join(
        f"Paragraph {i} says something about streams, one word after another.\n\n"
        + ("```\ncode line\ncode line\n```\n\n" if i % 7 == 0 else "")
        for i in range(paragraphs)
    )


async def test_update_cost_does_not_grow_with_the_answer() -> None:
    out = FakeTTY()
    sink, region = _live_sink(out, (80, 24), mode="markdown")
    answer = _long_answer(400)
    await SinkHandle(reactivex.from_iterable(_chunks(answer, 4)), sink)
    sizes = region.sizes
    n = len(sizes) // 10
    early, late = sum(sizes[:n]) / n, sum(sizes[-n:]) / n
    assert late <= early * 1.5, (early, late)
    assert max(sizes) < 400  # one paragraph plus the pending rows, never the whole answer
    ups = [int(m) for m in re.findall(r"\x1b\[(\d+)A", out.getvalue())]
    assert max(ups) <= 22  # only ever inside the live region, never into committed text


async def test_pending_tail_taller_than_the_screen_is_clipped() -> None:
    code = "```\n" + "".join(f"line {i}\n" for i in range(40))
    out = FakeTTY()
    sink, region = _live_sink(out, (40, 10), mode="markdown")
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, sink)
    for piece in _chunks(code, 5):
        subject.on_next(piece)
    ups = [int(m) for m in re.findall(r"\x1b\[(\d+)A", out.getvalue())]
    assert max(ups) <= 7
    assert _nonblank(_screen(out.getvalue(), 40, 10))[-1] == "line 39"
    subject.on_next("```\n")
    subject.on_completed()
    await handle
    assert _nonblank(_screen(out.getvalue(), 40, 10))[-1] == "```"


async def test_progress_line_lives_under_the_text_and_goes_away() -> None:
    out = FakeTTY()
    sink, _ = _live_sink(out, (80, 12), mode="raw", progress="line")
    subject: Subject[str] = Subject()
    from lionrx.operators import progress_tap

    handle = SinkHandle(subject.pipe(progress_tap(sink.on_progress, every=1)), sink)
    for word in ["alpha ", "beta ", "gamma "]:
        subject.on_next(word)
    during = _nonblank(_screen(out.getvalue(), 80, 12))
    assert during[0] == "alpha beta gamma"
    assert re.match(
        # No rate yet: three chunks within a few milliseconds make no meaningful one.
        r"⏳ \d+\.\ds · 3 chunks · 3 words · ~5 tokens$", during[1]
    ), during
    subject.on_completed()
    await handle
    assert _nonblank(_screen(out.getvalue(), 80, 12)) == ["alpha beta gamma"]


async def test_columns_side_by_side() -> None:
    out = FakeTTY()
    sink, _ = _live_sink(out, (61, 20), mode="raw", labels="columns")
    events: list[Event] = []
    for i in range(8):
        events.append(TextDelta(text=f"g{i} ", source="gpt"))
        events.append(TextDelta(text=f"c{i} ", source="claude"))
    events.append(Completed(response=Response(texts={0: "g"}), source="gpt"))
    events.append(Completed(response=Response(texts={0: "c"}), source="claude"))
    await SinkHandle(reactivex.from_iterable(events), sink)
    screen = _nonblank(_screen(out.getvalue(), 61, 20))
    header = next(line for line in screen if "[claude]" in line)
    assert header.index("[claude]") > 20 and "│" in header
    joined = "\n".join(screen)
    assert "c7" in joined and "g7" in joined


async def test_refresh_is_throttled_in_virtual_time() -> None:
    scheduler = TestScheduler()
    out = FakeTTY()
    sink = ConsoleSink(
        out,
        live=True,
        size=lambda: (40, 10),
        mode="markdown",
        rich=False,
        refresh=0.1,
        scheduler=scheduler,
    )
    region = Recorder(sink._raw_write, lambda: (40, 10))
    sink.region = region
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, sink, scheduler=scheduler)
    for piece in ["a", "b", "c", "d"]:
        subject.on_next(piece)  # all at virtual time 0: one draw, then a pending redraw
    assert len(region.sizes) == 1
    scheduler.advance_to(0.1)
    assert len(region.sizes) == 2
    assert _nonblank(_screen(out.getvalue(), 40, 10)) == ["abcd"]
    subject.on_completed()
    await handle


def test_wrap_rows_only_looks_at_the_end() -> None:
    text = "x" * 1_000_000 + "\nlast line here"
    assert wrap_rows(text, 5, 2) == ["line ", "here"]
    assert wrap_rows("y" * 1_000_003, 5, 2) == ["yyyyy", "yyy"]
    assert wrap_rows("y" * 1_000_004, 5, 2) == ["yyyyy", "yyyy"]
    assert wrap_rows("漢字漢字漢字", 4, 5) == ["漢字", "漢字", "漢字"]


async def test_live_markdown_without_rich_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich → ImportError
    out = FakeTTY()
    sink = ConsoleSink(out, live=True, size=lambda: (60, 20), mode="markdown", refresh=0)
    await SinkHandle(reactivex.from_iterable(_chunks(ANSWER, 7)), sink)
    screen = _nonblank(_screen(out.getvalue(), 60, 20))
    assert screen[0] == "# Streams" and screen[-1] == "That is all."


async def test_disposal_shows_stopped_and_keeps_the_text() -> None:
    out = FakeTTY()
    sink, _ = _live_sink(out, (60, 12), mode="markdown")
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, sink)
    subject.on_next("Half a sent")
    handle.dispose()
    outcome = await handle.wait()
    assert outcome.kind == "failed"
    assert _nonblank(_screen(out.getvalue(), 60, 12)) == [
        "Half a sent",
        "■ stopped (11 characters kept)",
    ]
    assert out.getvalue().endswith("\x1b[?25h")  # the cursor is shown again


async def test_reasoning_is_dimmed_when_asked() -> None:
    from lionrx.events import ReasoningDelta

    out = FakeTTY()
    sink, _ = _live_sink(out, (60, 12), mode="raw", reasoning=True)
    events: list[Event] = [
        ReasoningDelta(text="thinking... "),
        TextDelta(text="answer"),
        Completed(response=Response(texts={0: "answer"})),
    ]
    await SinkHandle(reactivex.from_iterable(events), sink)
    assert "\x1b[2mthinking... \x1b[22manswer" in out.getvalue()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
async def test_live_commits_are_the_text_under_any_chunking(data: st.DataObject) -> None:
    blocks = st.sampled_from(
        ["# Head\n\n", "Para one. Two.\n\n", "- item\n", "```\ncode\n```\n\n", "tail", "\n"]
    )
    text = "".join(data.draw(st.lists(blocks, min_size=1, max_size=8)))
    pieces = data.draw(chunkings(text))
    out = FakeTTY()
    sink, region = _live_sink(out, (30, 8), mode="markdown")
    await SinkHandle(reactivex.from_iterable(pieces), sink)
    # Everything committed once, in order; the live rows are gone at the end.
    assert "".join(region.commits) == text
    shown = "\n".join(_nonblank(_screen(out.getvalue(), 30, 8)))
    last_line = text.rstrip("\n").rsplit("\n", 1)[-1]
    # The end of the text is what is left on screen (word wrapping may move line breaks).
    assert "".join(shown.split()).endswith("".join(last_line[-29:].split()))


COMPARE_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from lionrx.operators import merge_labeled
    from lionrx.services import iModel
    from lionrx.sinks import console

    async def main():
        url = sys.argv[1]
        async with iModel(provider="openai", model="a", name="gpt", base_url=url) as a, \\
                iModel(provider="openai", model="b", name="claude", base_url=url) as b:
            merged = merge_labeled({"gpt": a.stream("hi"), "claude": b.stream("hi")})
            await console(merged, labels="columns", stats=True, sources=["gpt", "claude"])

    asyncio.run(main())
    """
)


async def test_compare_side_by_side_in_a_pseudo_terminal(server: FakeProviderServer) -> None:
    left = " ".join(f"left{i}" for i in range(30))
    right = " ".join(f"right{i}" for i in range(20))
    server.queue(Script(text=left, delay=0.004), Script(text=right, delay=0.006))
    child = pexpect.spawn(
        sys.executable, ["-c", COMPARE_CHILD, server.openai_base_url], dimensions=(40, 81)
    )
    try:
        await child.expect(pexpect.EOF, timeout=60, async_=True)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    screen = pyte.Screen(81, 40)
    pyte.ByteStream(screen).feed(child.before)
    rows = _nonblank([line.rstrip() for line in screen.display])
    header = next(i for i, row in enumerate(rows) if "[gpt]" in row)
    assert "[claude]" in rows[header] and "│" in rows[header]
    body = rows[header + 1 :]
    columns = [row.split("│") for row in body if "│" in row]
    left_text = " ".join(c[0].strip() for c in columns if c[0].strip())
    right_text = " ".join(c[1].strip() for c in columns if len(c) > 1 and c[1].strip())
    assert left_text.replace(" ", "") == left.replace(" ", "")
    assert right_text.replace(" ", "") == right.replace(" ", "")
    stats = [row for row in rows if "📊 Stats" in row]
    assert len(stats) == 2 and rows.index(stats[0]) > header + len(columns)


async def test_control_characters_in_the_answer_cannot_drive_the_terminal() -> None:
    out = FakeTTY()
    sink, _ = _live_sink(out, (60, 12), mode="raw")
    evil = "safe\x1b[2J\x1b]0;pwned\x07\rover\x9b31m"
    await SinkHandle(reactivex.from_iterable(["before\n", evil]), sink)
    screen = _nonblank(_screen(out.getvalue(), 60, 12))
    assert screen == ["before", "safe␛[2J␛]0;pwned␇␍over�31m"]
    assert "\x1b[2J" not in out.getvalue()


async def test_markdown_turns_to_labelled_text_when_a_second_source_appears() -> None:
    out = FakeTTY()
    sink, _ = _live_sink(out, (60, 12), mode="markdown", labels="lines")
    events: list[Event] = [
        TextDelta(text="# Title\n\nfirst par", source="gpt"),
        TextDelta(text="other", source="claude"),
        TextDelta(text="agraph", source="gpt"),
        Completed(response=Response(texts={0: "x"}), source="gpt"),
        Completed(response=Response(texts={0: "other"}), source="claude"),
    ]
    await SinkHandle(reactivex.from_iterable(events), sink)
    screen = _nonblank(_screen(out.getvalue(), 60, 12))
    assert screen == ["# Title", "[gpt] first par", "[claude] other", "[gpt] agraph"]


class _TailReads:
    """Records every read of a markdown splitter's pending tail (characters returned)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.whole: list[int] = []
        self.tails: list[int] = []
        log = _markdown._TailLog
        text, tail = log.text, log.tail

        def counted_text(this: Any, count: int, size: int) -> str:
            out = text(this, count, size)
            self.whole.append(len(out))
            return out

        def counted_tail(this: Any, count: int, size: int, n: int) -> str:
            out = tail(this, count, size, n)
            self.tails.append(len(out))
            return out

        monkeypatch.setattr(log, "text", counted_text)
        monkeypatch.setattr(log, "tail", counted_tail)


ENDLESS = "the quick brown fox jumps over the lazy dog and " * 200  # one paragraph, no end


async def test_endless_block_redraws_only_its_visible_end(monkeypatch: pytest.MonkeyPatch) -> None:
    # A redraw per chunk (refresh=0) through a block that never ends: each redraw fetches at
    # most the window of characters that can show (2 × rows × width), never the whole tail,
    # so its cost stays bounded by the terminal's size as the block grows.
    reads = _TailReads(monkeypatch)
    out = FakeTTY()
    sink, region = _live_sink(out, (40, 10), mode="markdown")
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, sink)
    for piece in _chunks(ENDLESS, 3):
        subject.on_next(piece)
    window = 2 * region.max_rows * region.row_width
    assert len(reads.tails) == len(ENDLESS) // 3
    assert max(reads.tails) <= window
    # The tail is joined whole only while it fits the window (then it is what shows).
    assert max(reads.whole) <= window
    assert max(region.sizes) < 2 * region.max_rows * 40  # the live rows, not the answer
    # The live rows show the end of the paragraph, wrapped as if the whole tail had been.
    expected = [row.rstrip() for row in wrap_rows(ENDLESS, 39, 8)]
    assert _nonblank(_screen(out.getvalue(), 40, 10))[-8:] == expected
    subject.on_completed()
    await handle
    assert "".join(c for c in region.commits if c) == ENDLESS


async def test_pending_tail_is_read_only_when_a_redraw_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One character per chunk, all at the same virtual instant: the first chunk draws, the
    # rest only mark the region dirty; the tail is read again once, when the timer fires.
    reads = _TailReads(monkeypatch)
    scheduler = TestScheduler()
    out = FakeTTY()
    sink = ConsoleSink(
        out, live=True, size=lambda: (40, 10), mode="markdown", rich=False, scheduler=scheduler
    )
    subject: Subject[str] = Subject()
    handle = SinkHandle(subject, sink, scheduler=scheduler)
    for ch in ENDLESS:
        subject.on_next(ch)
    assert len(reads.tails) == 1
    scheduler.advance_to(1.0)
    assert len(reads.tails) == 2
    assert len(reads.whole) <= 1  # the first draw (one character, then the whole tail)
    expected = [row.rstrip() for row in wrap_rows(ENDLESS, 39, 8)]
    assert _nonblank(_screen(out.getvalue(), 40, 10))[-8:] == expected
    subject.on_completed()
    await handle


def test_wrap_rows_on_a_window_matches_the_whole_text() -> None:
    for length in (0, 5, 77, 78, 79, 80, 1000, 1001, 12345):
        text = "".join(chr(97 + i % 26) for i in range(length))
        keep = wrap_window(length, 13, 3)
        assert keep <= max(2 * 3 * 13, 0) or keep == length
        assert wrap_rows(text[length - keep :], 13, 3, length) == wrap_rows(text, 13, 3)
