"""sentence_chunk: hard English sentences, any chunking, both stream shapes, end to end."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._events import Failed, TextDelta
from lionrx._segment import SentenceSegmenter
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

# (text, expected sentences). Each piece keeps its closing quotes/brackets and trailing space.
HARD = [
    (
        "Hello world. This is a test! Is it? Yes.",
        ["Hello world. ", "This is a test! ", "Is it? ", "Yes."],
    ),
    # abbreviations
    ("Dr. Smith arrived. He sat.", ["Dr. Smith arrived. ", "He sat."]),
    (
        "Mr. and Mrs. Jones met Prof. Lee. Then they left.",
        ["Mr. and Mrs. Jones met Prof. Lee. ", "Then they left."],
    ),
    (
        "Use a tool, e.g. Python or i.e. Rust. It works.",
        ["Use a tool, e.g. Python or i.e. Rust. ", "It works."],
    ),
    ("The U.S. Army is large. It is old.", ["The U.S. Army is large. ", "It is old."]),
    ("Apples, pears, etc. are fruit. Nice.", ["Apples, pears, etc. are fruit. ", "Nice."]),
    (
        "He works at Acme Inc. The company is big.",
        ["He works at Acme Inc. ", "The company is big."],
    ),
    ("We met at 5 p.m. Then we ate.", ["We met at 5 p.m. ", "Then we ate."]),
    (
        "See Fig. 3 and No. 5 for details. I said no. Then left.",
        ["See Fig. 3 and No. 5 for details. ", "I said no. ", "Then left."],
    ),
    ("Apple vs. Microsoft is old news. Really.", ["Apple vs. Microsoft is old news. ", "Really."]),
    # numbers
    ("Pi is 3.14159. It is irrational.", ["Pi is 3.14159. ", "It is irrational."]),
    ("It costs $3.50. That is cheap.", ["It costs $3.50. ", "That is cheap."]),
    (
        "Growth was 4.5% in 2023. Next year, 5.1%.",
        ["Growth was 4.5% in 2023. ", "Next year, 5.1%."],
    ),
    (
        "Version 1.2.3 is out. Upgrade from v0.9.8 now.",
        ["Version 1.2.3 is out. ", "Upgrade from v0.9.8 now."],
    ),
    ("Python 3.12.1 was released. Try it.", ["Python 3.12.1 was released. ", "Try it."]),
    # ellipses
    ("Wait... what happened? Nothing.", ["Wait... what happened? ", "Nothing."]),
    ("I wonder\u2026 maybe not. Okay.", ["I wonder\u2026 maybe not. ", "Okay."]),
    ("Hmm... Okay then.", ["Hmm... ", "Okay then."]),
    # URLs, e-mail, files
    (
        "Visit https://example.com/a.b?c=1. Then log in.",
        ["Visit https://example.com/a.b?c=1. ", "Then log in."],
    ),
    (
        "Go to www.python.org for docs. Read them.",
        ["Go to www.python.org for docs. ", "Read them."],
    ),
    ("Mail john.doe@example.com today. Thanks.", ["Mail john.doe@example.com today. ", "Thanks."]),
    (
        "Open config.yaml and README.md first. Then run main.py.",
        ["Open config.yaml and README.md first. ", "Then run main.py."],
    ),
    # list numbers and initials
    ("1. First item\n2. Second item\n", ["1. First item\n", "2. Second item\n"]),
    ("Steps:\n1. Install it.\n2. Run it.", ["Steps:\n", "1. Install it.\n", "2. Run it."]),
    ("J. K. Rowling wrote it. She is British.", ["J. K. Rowling wrote it. ", "She is British."]),
    ("George W. Bush spoke. People listened.", ["George W. Bush spoke. ", "People listened."]),
    # an initial or a dotted abbreviation ends a sentence when a word that starts sentences
    # follows; names and initials go on
    ("I moved to the U.S. Then I left.", ["I moved to the U.S. ", "Then I left."]),
    ("Plan B. Then we go.", ["Plan B. ", "Then we go."]),
    ("We chose plan B. I agreed.", ["We chose plan B. ", "I agreed."]),
    ("He left the U.K. It rained.", ["He left the U.K. ", "It rained."]),
    ("J. I. Smith came. He sat.", ["J. I. Smith came. ", "He sat."]),
    ("Take the U.S. I-95 north. Go.", ["Take the U.S. I-95 north. ", "Go."]),
    ("Ask John F. Kennedy. Then wait.", ["Ask John F. Kennedy. ", "Then wait."]),
    ("A. The first\nB. The second", ["A. The first\nB. The second"]),
    ("The U.S. Theater is new.", ["The U.S. Theater is new."]),
    # quotes and brackets
    ('He said "Stop." Then he left.', ['He said "Stop." ', "Then he left."]),
    (
        "\u201cReally?\u201d she asked. He nodded.",
        ["\u201cReally?\u201d she asked. ", "He nodded."],
    ),
    ('"Stop!" he said. She did.', ['"Stop!" he said. ', "She did."]),
    (
        "(This is an aside.) The main point follows.",
        ["(This is an aside.) ", "The main point follows."],
    ),
    ("It's done [see notes.] Next item.", ["It's done [see notes.] ", "Next item."]),
    ("**Note.** This matters.", ["**Note.** ", "This matters."]),
    # blank lines and markdown blocks
    ("Title\n\nBody text here", ["Title\n\n", "Body text here"]),
    ("# Heading\nSome text. More text.", ["# Heading\n", "Some text. ", "More text."]),
    ("Intro:\n- one\n- two\n", ["Intro:\n", "- one\n", "- two\n"]),
    ("A line\nthat wraps. Next", ["A line\nthat wraps. ", "Next"]),
    # other scripts
    (
        "\u4eca\u65e5\u306f\u6674\u308c\u3067\u3059\u3002\u660e\u65e5\u306f\u96e8\uff01\u672c\u5f53\uff1f\u306f\u3044\u3002",
        [
            "\u4eca\u65e5\u306f\u6674\u308c\u3067\u3059\u3002",
            "\u660e\u65e5\u306f\u96e8\uff01",
            "\u672c\u5f53\uff1f",
            "\u306f\u3044\u3002",
        ],
    ),
    (
        "\u300c\u306f\u3044\u3002\u300d\u3068\u8a00\u3063\u305f\u3002",
        ["\u300c\u306f\u3044\u3002\u300d", "\u3068\u8a00\u3063\u305f\u3002"],
    ),
    (
        "\u092f\u0939 \u0920\u0940\u0915 \u0939\u0948\u0964 \u0935\u0939 \u0917\u092f\u093e\u0964",
        [
            "\u092f\u0939 \u0920\u0940\u0915 \u0939\u0948\u0964 ",
            "\u0935\u0939 \u0917\u092f\u093e\u0964",
        ],
    ),
    # fenced code is never cut
    (
        'Here:\n```python\nx = 1. \nprint("Hi. There")\n\nY = 2. Z\n```\nDone. Bye.',
        ["Here:\n", '```python\nx = 1. \nprint("Hi. There")\n\nY = 2. Z\n```\n', "Done. ", "Bye."],
    ),
    ("~~~\na. B. C.\n~~~\nEnd.", ["~~~\na. B. C.\n~~~\n", "End."]),
]


def _segment(text: str, pieces: list[str], max_chars: int | None = None) -> list[str]:
    seg = SentenceSegmenter(max_chars)
    out: list[str] = []
    for piece in pieces:
        out += seg.feed(piece)
    return out + seg.close()


@pytest.mark.parametrize(("text", "expected"), HARD, ids=[t[:30] for t, _ in HARD])
def test_hard_sentences_whole_and_char_by_char(text: str, expected: list[str]) -> None:
    assert _segment(text, [text]) == expected
    assert _segment(text, list(text)) == expected


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_hard_sentences_any_chunking(data: st.DataObject) -> None:
    text, expected = data.draw(st.sampled_from(HARD))
    pieces = data.draw(chunkings(text))
    assert _segment(text, pieces) == expected


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_same_sentences_however_split(data: st.DataObject) -> None:
    alphabet = st.sampled_from(
        list("ab A.B.!?\n\"')`3 e.g")
        + ["Dr.", "U.S.", "```", "\n\n", "1. ", "- ", "\u3002", " Then", "The", "I", "-"]
    )
    text = "".join(data.draw(st.lists(alphabet, max_size=40)))
    pieces = data.draw(chunkings(text))
    assert _segment(text, pieces) == _segment(text, [text])


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200), st.integers(1, 40), st.data())
def test_max_chars_bounds_every_piece(text: str, limit: int, data: st.DataObject) -> None:
    pieces = data.draw(chunkings(text))
    out = _segment(text, pieces, max_chars=limit)
    assert "".join(out) == text
    assert all(0 < len(piece) <= limit for piece in out)


def test_max_chars_cuts_at_last_space() -> None:
    text = "aaaa bbbb cccc dddd eeee"
    assert _segment(text, [text], max_chars=12) == ["aaaa bbbb ", "cccc dddd ", "eeee"]
    assert _segment("x" * 25, ["x" * 25], max_chars=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_emits_each_sentence_as_soon_as_certain() -> None:
    seg = SentenceSegmenter()
    assert seg.feed("Hello world.") == []  # "." at the end: "world.com" may follow
    assert seg.feed(" ") == []  # the next word may be lower case ("Hello world. and")
    assert seg.feed("T") == ["Hello world. "]
    assert seg.pending == "T"
    assert seg.close() == ["T"]


def test_rejects_bad_max_chars() -> None:
    with pytest.raises(ValueError):
        ops.sentence_chunk(max_chars=0)


def test_stream_laws() -> None:
    assert_stream_laws(lambda s: ops.sentence_chunk(), max_examples=60)
    assert_stream_laws(lambda s: ops.sentence_chunk(max_chars=9), max_examples=40)


def test_marble_text_stream() -> None:
    run = run_virtual(
        lambda s: ops.sentence_chunk(),
        [
            on_next(210, "Dr. Sm"),
            on_next(220, "ith is here. He"),
            on_next(230, " left."),
            on_completed(240),
        ],
    )
    assert run.messages == [
        on_next(420, "Dr. Smith is here. "),
        on_next(440, "He left."),
        on_completed(440),
    ]
    assert [(s.subscribe, s.unsubscribe) for s in run.subscriptions] == [(200, 440)]


def test_marble_error_flushes_then_errors() -> None:
    error = RuntimeError("boom")
    run = run_virtual(
        lambda s: ops.sentence_chunk(),
        [on_next(210, "One. Two"), on_error(220, error)],
    )
    assert run.messages == [on_next(410, "One. "), on_next(420, "Two"), on_error(420, error)]


def test_event_stream_rechunks_per_choice_and_flushes_before_terminal() -> None:
    events = [
        TextDelta(text="A one. A t", choice=0),
        TextDelta(text="B one. B", choice=1),
        TextDelta(text="wo.", choice=0),
    ]
    failed = Failed(error=RuntimeError("x"), partial={"texts": {}})
    run = run_virtual(lambda s: ops.sentence_chunk(), messages([*events, failed]))
    values = run.values
    assert [(v.choice, v.text) for v in values if v.kind == "text"] == [
        (0, "A one. "),
        (1, "B one. "),
        (0, "A two."),
        (1, "B"),
    ]
    assert values[-1] is failed
    assert run.completed


def test_linear_cost_no_rescan() -> None:
    # A 200k-character "sentence" fed a character at a time must not be quadratic: the
    # segmenter may touch each character a bounded number of times. Measured by work done,
    # not by the clock: with a rescan per chunk this would take minutes.
    seg = SentenceSegmenter()
    text = "word " * 40_000
    out: list[str] = []
    for ch in text:
        out += seg.feed(ch)
    out += seg.close()
    assert "".join(out) == text


async def test_end_to_end_over_fake_server(fake_server: FakeProviderServer, model: iModel) -> None:
    answer = (
        'Dr. Smith paid $3.50 at 5 p.m. He said "Thanks." Then he left.'
        "\n\n```\nx = 1. Y\n```\nDone."
    )
    fake_server.default = Script(text=answer, chunk_size=3)
    result = await collect(model.stream("hi").pipe(ops.text(), ops.sentence_chunk()))
    assert result.completed and result.error is None
    assert result.items == [
        "Dr. Smith paid $3.50 at 5 p.m. ",
        'He said "Thanks." ',
        "Then he left.\n\n",
        "```\nx = 1. Y\n```\n",
        "Done.",
    ]
    events = await collect(model.stream("hi").pipe(ops.sentence_chunk()))
    texts = [e.text for e in events.items if e.kind == "text"]
    assert texts == result.items
    assert events.items[-1].kind == "completed"
    assert events.items[-1].response.text == answer


async def test_end_to_end_dispose_closes_connection(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    fake_server.default = Script(text="One. Two. Three. " * 200, chunk_size=5, delay=0.01)
    first = asyncio.get_running_loop().create_future()

    def on_next(item: object) -> None:
        if not first.done():
            first.set_result(item)

    subscription = model.stream("hi").pipe(ops.text(), ops.sentence_chunk()).subscribe(on_next)
    assert await asyncio.wait_for(first, 5) == "One. "
    subscription.dispose()
    await fake_server.wait_for_disconnect()
    await fake_server.wait_idle()
    assert fake_server.responses[-1].outcome == "client_disconnected"
