"""The console sink and `fallback`: a restart is noted on its own line and starts the lane's
segmenters afresh (the failed answer's unfinished sentence is never glued to the new one); a
continuation shows nothing (the text keeps growing)."""

from __future__ import annotations

import io
from typing import Any

import pyte
import pytest
import reactivex
from reactivex.subject import Subject

from lionrx import operators as ops
from lionrx.errors import RateLimitError
from lionrx.events import Completed, Event, Failed, Response, Start, TextDelta
from lionrx.services import iModel
from lionrx.sinks import SinkHandle, console
from lionrx.sinks._console import ConsoleSink
from lionrx.testing import FakeProviderServer, Fault, Script

NOTE = "↻ ProtocolError: the answer restarts with the next model"


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _screen(raw: str, columns: int, lines: int) -> list[str]:
    screen = pyte.Screen(columns, lines)
    pyte.Stream(screen).feed(raw.replace("\n", "\r\n"))  # what the tty's onlcr does
    return [line.rstrip() for line in screen.display if line.strip()]


def _attempt(texts: list[str], fail: bool, label: str = "gpt") -> reactivex.Observable[Event]:
    events: list[Event] = [Start(source=label)]
    events += [TextDelta(text=t, source=label) for t in texts]
    whole = Response(texts={0: "".join(texts)})
    if fail:
        events.append(Failed(error=RateLimitError("slow down"), partial=whole, source=label))
    else:
        events.append(Completed(response=whole, source=label))
    return reactivex.from_iterable(events)


@pytest.mark.parametrize(
    ("mode", "shown"), [("sentence", "Hello there. \n"), ("raw", "Hello there. Half a sen\n")]
)
async def test_restart_over_real_sockets_notes_it_and_drops_the_unfinished_sentence(
    server: FakeProviderServer, model: iModel, mode: str, shown: str
) -> None:
    # The first answer breaks (invalid JSON) mid-sentence; the second starts over.
    server.queue(
        Script(
            chunks=["Hello there. ", "Half a sen", "tence", " never seen."],
            fault=Fault.invalid_json(at_frame=3),
        ),
        Script(text="Fresh answer. Done.", chunk_size=4),
    )
    out = Pipe()
    response = await console(
        ops.fallback(model.stream("hi"), model.stream("hi")), stream=out, mode=mode
    )
    assert response.text == "Fresh answer. Done."
    # What was shown stays; the unshown "Half a sen" (sentence mode) is dropped, not glued.
    assert out.getvalue() == f"{shown}{NOTE}\nFresh answer. Done.\n"


async def test_continue_shows_nothing_and_the_sentence_keeps_growing() -> None:
    out = Pipe()
    source = ops.fallback(
        _attempt(["The cat ", "sat on"], fail=True),
        lambda prefix: _attempt([" the mat. ", "Done."], fail=False),
    )
    response = await console(source, stream=out, mode="sentence")
    assert response.text == "The cat sat on the mat. Done."
    assert out.getvalue() == "The cat sat on the mat. Done.\n"


async def test_restart_drops_text_held_for_the_dots() -> None:
    out = Pipe()
    source = ops.fallback(_attempt(["Old ", "answer"], fail=True), _attempt(["New."], fail=False))
    await console(source, stream=out, progress="dots", progress_every=1)
    text = out.getvalue()
    assert "Old" not in text and text.endswith("New.\n")
    assert "↻ RateLimitError: the answer restarts with the next model\n" in text


async def test_live_markdown_keeps_the_shown_tail_and_starts_a_fresh_block() -> None:
    out = FakeTTY()
    sink = ConsoleSink(
        out, live=True, size=lambda: (60, 12), mode="markdown", rich=False, refresh=0
    )
    subject: Subject[Any] = Subject()
    handle = SinkHandle(ops.fallback(subject, _attempt(["# Title\n\n", "Body"], False)), sink)
    subject.on_next(TextDelta(text="- item one\n- item tw", source="gpt"))
    assert _screen(out.getvalue(), 60, 12) == ["- item one", "- item tw"]
    subject.on_next(Failed(error=RateLimitError("x"), partial=Response(), source="gpt"))
    await handle
    assert _screen(out.getvalue(), 60, 12) == [
        "- item one",
        "- item tw",
        "↻ RateLimitError: the answer restarts with the next model",
        "# Title",
        "Body",
    ]
    # The note is dimmed; the new answer's heading is a block of its own (above: not glued to
    # the stale "- item tw" as "- item tw# Title").
    assert "\x1b[2m↻ RateLimitError" in out.getvalue()


async def test_labelled_lines_get_the_note_on_the_lanes_own_line() -> None:
    out = Pipe()
    gpt = ops.fallback(
        _attempt(["Half"], fail=True, label="gpt"), _attempt(["Whole."], fail=False, label="gpt")
    )
    claude = _attempt(["Other."], fail=False, label="claude")
    await console(reactivex.concat(claude, gpt), stream=out, labels="lines")
    assert out.getvalue().splitlines() == [
        "[claude] Other.",
        "[gpt] Half",
        "[gpt] ↻ RateLimitError: the answer restarts with the next model",
        "[gpt] Whole.",
    ]


async def test_fallback_to_a_differently_named_model_ends_with_its_answer() -> None:
    import io

    import reactivex

    from lionrx import operators as ops
    from lionrx.errors import RateLimitError
    from lionrx.events import Completed, Failed, Response, Start, TextDelta
    from lionrx.sinks import console

    def stream(label: str, text: str, fail: bool) -> reactivex.Observable[object]:
        end: object = (
            Failed(
                error=RateLimitError("slow down"), partial=Response(texts={0: text}), source=label
            )
            if fail
            else Completed(response=Response(texts={0: text}), source=label)
        )
        return reactivex.from_iterable(
            [Start(source=label), TextDelta(text=text, source=label), end]
        )

    out = io.StringIO()
    handle = console(
        ops.fallback(
            stream("gpt", "Hello there. Half a sen", True), stream("claude", "Fresh.", False)
        ),
        stream=out,
    )
    response = await handle
    assert response.text == "Fresh."
    assert list(handle.outcomes) == ["claude"]
    assert "restarts with the next model" in out.getvalue()
