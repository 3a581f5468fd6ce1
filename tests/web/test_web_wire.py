"""WireEncoder: text and events as SSE pairs, block commit offsets in UTF-16 units."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lionrx.errors import StreamCancelled
from lionrx.events import TextDelta, load_event
from lionrx.web import WireEncoder, default_splitter
from lionrx.web._wire import sse_frame, utf16_len

MARKDOWN = st.lists(
    st.sampled_from(
        [
            "# Title\n",
            "\n",
            "para text ",
            "😀 emoji ",
            "- item\n",
            "```py\n",
            "code()\n",
            "```\n",
            "> quote\n",
            "ünïcödé ",
            "\n\n",
            "𝔘 astral\n",
        ]
    ),
    max_size=40,
).map("".join)


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]


@settings(max_examples=200, deadline=None)
@given(text=MARKDOWN, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_block_offsets_cover_the_text_in_utf16_units(text: str, cuts: list[int]) -> None:
    encoder = WireEncoder(default_splitter())
    pairs = []
    for piece in chunked(text, cuts):
        pairs += encoder.item(TextDelta(text=piece, source="m"))
    pairs += encoder.completed()
    streamed = "".join(json.loads(d)["text"] for e, d in pairs if e == "text")
    assert streamed == text
    ends = [json.loads(d)["end"] for e, d in pairs if e == "block"]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
    if text:
        assert ends and ends[-1] == utf16_len(text), "the close commits the rest"
    # Each block commit arrives after the text it covers.
    seen = 0
    for event, data in pairs:
        if event == "text":
            seen += utf16_len(json.loads(data)["text"])
        elif event == "block":
            assert json.loads(data)["end"] <= seen
    assert pairs[-1][0] == "completed"


def test_text_items_and_outcomes() -> None:
    encoder = WireEncoder()
    assert encoder.item("") == []
    assert encoder.item("hi") == [("text", '{"source":null,"choice":0,"kind":"text","text":"hi"}')]
    ((event, data),) = encoder.cancelled("stop")
    assert event == "failed"
    failed = load_event(data)
    assert isinstance(failed.error, StreamCancelled)
    assert failed.partial.text == "hi"
    assert encoder.done and encoder.item("late") == [] and encoder.completed() == []


def test_text_event_json_matches_dump_event() -> None:
    from lionrx.events import dump_event

    delta = TextDelta(text='a "quoted"\nline ✓', source="m", choice=1)
    ((_, data),) = WireEncoder().item(delta)
    assert json.loads(data) == json.loads(dump_event(delta))


def test_sse_frame() -> None:
    assert sse_frame("k:1", "text", "{}") == b"id: k:1\nevent: text\ndata: {}\n\n"
    assert sse_frame(None, "failed", "{}") == b"event: failed\ndata: {}\n\n"
    assert utf16_len("a😀") == 3
