"""The provider mappers are pure: a recorded body, decoded and mapped in any network chunking,
gives the same events as in one piece; and the events say what the recordings say."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from providers_helpers import STREAMS

from lionrx._events import Event, ResponseBuilder
from lionrx._ndjson import NDJSONDecoder
from lionrx.errors import LionrxError, OverloadedError, ProviderStreamError
from lionrx.providers._anthropic import AnthropicMapper
from lionrx.providers._http import SSEItems
from lionrx.providers._ollama import OllamaMapper
from lionrx.providers._openai import OpenAIChatMapper
from lionrx.providers._openai_responses import ResponsesMapper
from lionrx.testing._strategies import chunkings

BODIES = sorted(
    p.name for p in STREAMS.iterdir() if p.name.startswith(("openai_chat", "anthropic", "ollama"))
)


def _map(name: str, pieces: list[bytes]) -> tuple[list[Event], BaseException | None]:
    """Decode and map ``pieces`` like the transport does; stop at the provider's end."""
    mapper: Any
    if name.startswith("openai_responses"):
        decoder: Any = SSEItems()
        mapper = ResponsesMapper("t")
    elif name.startswith("openai"):
        decoder = SSEItems()
        mapper = OpenAIChatMapper("t")
    elif name.startswith("anthropic"):
        decoder = SSEItems()
        mapper = AnthropicMapper("t")
    else:
        decoder = NDJSONDecoder()
        mapper = OllamaMapper("t")
    events: list[Event] = []
    try:
        for piece in pieces:
            for item in decoder.feed(piece):
                events.extend(mapper.feed(item))
                if mapper.done:
                    return events, None
        for item in decoder.close():
            events.extend(mapper.feed(item))
        events.extend(mapper.end())
    except LionrxError as exc:
        return events, exc
    return events, None


def _strip_keepalives(events: list[Event]) -> list[Event]:
    # Keep-alive comments are reported once per network chunk, so their count depends on
    # the chunking; everything else must not.
    return [e for e in events if e.kind != "keep_alive"]


@pytest.mark.parametrize("name", BODIES)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_any_chunking_gives_the_same_events(name: str, data: st.DataObject) -> None:
    body = (STREAMS / name).read_bytes()
    whole, whole_error = _map(name, [body])
    pieces = data.draw(chunkings(body, max_pieces=40))
    split, split_error = _map(name, pieces)
    assert _strip_keepalives(split) == _strip_keepalives(whole)
    assert type(split_error) is type(whole_error)


def _response(name: str) -> tuple[Any, BaseException | None]:
    events, error = _map(name, [(STREAMS / name).read_bytes()])
    builder = ResponseBuilder("t")
    for event in events:
        builder.add(event)
        assert event.source == "t"
    return builder.finish(), error


def test_openai_n3_choices_interleave_and_usage_chunk() -> None:
    response, error = _response("openai_chat_n3_usage.sse")
    assert error is None
    assert sorted(response.texts) == [0, 1, 2]
    assert response.stop_reasons == {0: "stop", 1: "stop", 2: "stop"}
    assert response.usage.input_tokens == 79 and response.usage.output_tokens == 42


def test_openai_parallel_tool_calls_keyed_by_index() -> None:
    response, _ = _response("openai_chat_tools_parallel_usage.sse")
    assert [t.index for t in response.tool_calls] == list(range(len(response.tool_calls)))
    assert len(response.tool_calls) >= 2
    assert all(t.id and t.name and t.complete for t in response.tool_calls)
    assert response.stop_reason == "tool_calls"


def test_openai_refusal() -> None:
    response, _ = _response("openai_chat_refusal.sse")
    assert response.refusal.startswith("I'm sorry") and response.text == ""


def test_openai_done_is_the_end_and_is_not_json() -> None:
    mapper = OpenAIChatMapper()
    decoder = SSEItems()
    events = [e for item in decoder.feed(b"data: [DONE]\n\n") for e in mapper.feed(item)]
    assert events == [] and mapper.done


def test_sse_comments_become_keepalives() -> None:
    mapper = OpenAIChatMapper("t")
    decoder = SSEItems()
    events = [e for item in decoder.feed(b": keep-alive\n\n") for e in mapper.feed(item)]
    assert [e.kind for e in events] == ["keep_alive"]


def test_anthropic_thinking_and_signature() -> None:
    response, _ = _response("anthropic_thinking.sse")
    assert response.reasoning.startswith("Let me solve this")
    assert response.reasoning_signature and response.reasoning_signature.startswith("EqQB")
    assert response.text and response.stop_reason == "end_turn"


def test_anthropic_tool_json_split_mid_token() -> None:
    response, _ = _response("anthropic_tool_use_recorded.sse")
    assert response.tool_calls and all(t.complete for t in response.tool_calls)


def test_anthropic_max_tokens_cut_inside_tool_json() -> None:
    response, error = _response("anthropic_max_tokens_padded.sse")
    assert error is None
    assert response.stop_reason == "max_tokens"
    assert response.tool_calls[-1].complete is False  # the cut arguments are kept, not parsed


def test_anthropic_ping_and_error() -> None:
    events, error = _map("anthropic_error.sse", [(STREAMS / "anthropic_error.sse").read_bytes()])
    assert isinstance(error, OverloadedError)
    assert "keep_alive" in [e.kind for e in events]
    assert [e.text for e in events if e.kind == "text"] == ["Hello"]  # type: ignore[union-attr]


def test_anthropic_redacted_thinking() -> None:
    mapper = AnthropicMapper("t")
    events = mapper.event(
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "redacted_thinking", "data": "opaque"},
        }
    )
    assert len(events) == 1 and events[0].redacted is True  # type: ignore[union-attr]


def test_ollama_object_arguments_become_json_text() -> None:
    response, _ = _response("ollama_chat_tools.ndjson")
    assert [t.name for t in response.tool_calls] == ["weather", "search"]
    assert response.tool_calls[0].arguments == '{"city": "Detroit"}'
    assert response.tool_calls[0].parsed_arguments == {"city": "Detroit"}


def test_ollama_bare_error_line() -> None:
    events, error = _map(
        "ollama_generate_error.ndjson", [(STREAMS / "ollama_generate_error.ndjson").read_bytes()]
    )
    assert isinstance(error, ProviderStreamError)
    assert "an error was encountered" in str(error)
    assert "".join(e.text for e in events if e.kind == "text") == " Yes.Ican"  # type: ignore[union-attr]


def test_responses_function_calls_and_usage() -> None:
    response, error = _response("openai_responses_tools.sse")
    assert error is None
    assert [t.name for t in response.tool_calls] == ["search", "weather"]
    assert response.tool_calls[1].parsed_arguments == {"city": "Detroit"}
    assert response.stop_reason == "completed"


def test_responses_error_event() -> None:
    _, error = _map(
        "openai_responses_error.sse", [(STREAMS / "openai_responses_error.sse").read_bytes()]
    )
    assert isinstance(error, ProviderStreamError) and error.error_type == "rate_limit_exceeded"
