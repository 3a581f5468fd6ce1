"""HTTP errors, retries, mid-stream errors and protocol violations, over a real socket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from providers_helpers import STREAMS, load_errors

from lionrx._transport import (
    RetryPolicy,
    error_from_response,
    parse_retry_after,
    retry_delay_from,
)
from lionrx.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    LionrxError,
    NotFoundError,
    OverloadedError,
    ProtocolError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
)
from lionrx.services import EventStatus, iModel
from lionrx.testing import ErrorReply, FakeProviderServer, Fault, Recording, Script

ERRORS = load_errors()
HTTP_ERRORS = {case["id"]: case for case in ERRORS["http_errors"]}
NOW = ERRORS["retry_after_parsing_cases"]["now_epoch"]
FAST = RetryPolicy(max_retries=2, initial_backoff=0.001, max_backoff=0.002)

# id -> (exception type, retry delay, retryable, request id)
EXPECTED: dict[str, tuple[type[APIStatusError], float | None, bool, str | None]] = {
    "openai_401_invalid_api_key": (AuthenticationError, None, False, None),
    "openai_400_context_length_exceeded": (BadRequestError, None, False, None),
    "openai_429_rate_limit_tokens": (RateLimitError, 8.764, True, None),
    "openai_429_insufficient_quota": (RateLimitError, None, False, None),
    "anthropic_401_authentication_error": (
        AuthenticationError,
        None,
        False,
        "req_018EeWyXxfu5pfWkrYcMdjWG",
    ),
    "anthropic_400_invalid_request_error": (BadRequestError, None, False, None),
    "anthropic_429_rate_limit_error": (RateLimitError, 30.0, True, None),
    "anthropic_529_overloaded_error": (OverloadedError, None, True, "req_011CYeULdpxKGKgj9p4nJkyS"),
    "anthropic_500_api_error": (ServerError, None, True, None),
    "ollama_404_model_not_found": (NotFoundError, None, False, None),
    "ollama_400_missing_body": (BadRequestError, None, False, None),
    "non_json_gateway_error": (ServerError, None, True, None),
}


def test_every_error_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(HTTP_ERRORS)


@pytest.mark.parametrize(
    "case",
    ERRORS["retry_after_parsing_cases"]["cases"],
    ids=lambda c: repr(c.get("retry_after", c.get("retry_after_ms"))),
)
def test_retry_after_vectors(case: dict[str, Any]) -> None:
    headers = {}
    if "retry_after" in case:
        headers["retry-after"] = case["retry_after"]
    if "retry_after_ms" in case:
        headers["retry-after-ms"] = case["retry_after_ms"]
    assert parse_retry_after(headers, now=NOW) == case["honoured_seconds"]


def test_reset_headers_give_the_delay_when_nothing_else_does() -> None:
    openai_headers = {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}
    assert retry_delay_from(openai_headers, now=NOW) is None  # 360 s is above the cap
    assert retry_delay_from(openai_headers, now=NOW, cap=400) == pytest.approx(360.0)
    assert retry_delay_from({"x-ratelimit-reset-tokens": "1h2m3s"}, now=NOW, cap=1e4) == 3723.0
    assert retry_delay_from({"x-ratelimit-reset-tokens": "1.5s"}, now=NOW) == 1.5
    assert retry_delay_from({"x-ratelimit-reset-tokens": "12ms"}, now=NOW) == pytest.approx(0.012)
    anthropic_headers = {"anthropic-ratelimit-tokens-reset": "2023-09-29T16:26:47Z"}
    assert retry_delay_from(anthropic_headers, now=NOW) == pytest.approx(10.0)
    # retry-after wins over the reset headers; the prose hint wins over reset headers.
    assert retry_delay_from({"retry-after": "3", **anthropic_headers}, now=NOW) == 3.0
    assert retry_delay_from(
        {"x-ratelimit-reset-tokens": "9ms"}, "Please try again in 8.764s.", now=NOW
    ) == pytest.approx(8.764)


@pytest.mark.parametrize("case_id", sorted(EXPECTED))
def test_error_bodies_map_to_typed_errors(case_id: str) -> None:
    case = HTTP_ERRORS[case_id]
    body = json.dumps(case["body"]).encode() if "body" in case else case["body_text"].encode()
    error = error_from_response(case["status"], case["headers"], body, provider="p", now=NOW)
    kind, delay, retryable, request_id = EXPECTED[case_id]
    assert type(error) is kind
    assert error.status == case["status"]
    assert getattr(error, "retry_after", None) == (
        pytest.approx(delay) if delay is not None else None
    )
    assert error.retryable is retryable
    assert error.request_id == request_id
    if "body" in case:
        inner = case["body"]["error"]
        message = inner if isinstance(inner, str) else inner["message"]
        assert error.message == message
    else:
        assert "502" in error.message and "Bad Gateway" in error.message


def _model_for(case: dict[str, Any], server: FakeProviderServer, **kw: Any) -> iModel:
    provider = case["provider"]
    if provider == "anthropic":
        return iModel(provider="anthropic", model="m", base_url=server.anthropic_base_url, **kw)
    if provider == "ollama":
        return iModel(provider="ollama", model="m", base_url=server.ollama_base_url, **kw)
    return iModel(provider="openai", model="m", base_url=server.openai_base_url, **kw)


@pytest.mark.parametrize("case_id", sorted(EXPECTED))
async def test_error_responses_over_http(fake_server: FakeProviderServer, case_id: str) -> None:
    case = HTTP_ERRORS[case_id]
    fake_server.queue(ErrorReply.from_conformance(case))
    async with _model_for(case, fake_server, max_retries=0) as model:
        calling = await model.invoke(messages="hi")
        with pytest.raises(EXPECTED[case_id][0]) as info:
            calling.raise_for_status()
    assert calling.execution.status is EventStatus.FAILED
    assert calling.execution.response is None
    error = info.value
    assert error.status == case["status"]
    assert error.request_id == EXPECTED[case_id][3]
    assert error.partial is not None and error.partial.text == ""
    assert len(fake_server.requests) == 1


async def test_invoke_stream_raises_the_error(fake_server: FakeProviderServer) -> None:
    fake_server.queue(ErrorReply.from_conformance(HTTP_ERRORS["openai_401_invalid_api_key"]))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        with pytest.raises(AuthenticationError, match="Incorrect API key"):
            async for _ in model.invoke_stream(messages="hi"):
                pass


async def test_429_is_retried_after_retry_after(fake_server: FakeProviderServer) -> None:
    fake_server.queue(
        ErrorReply(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "20"}),
        Script(text="ok"),
    )
    async with iModel(model="m", base_url=fake_server.openai_base_url, retry=FAST) as model:
        calling = await model.invoke(messages="hi")
    assert calling.raise_for_status().execution.response is not None
    assert calling.execution.response.text == "ok"
    assert len(fake_server.requests) == 2
    assert calling.execution.duration is not None and calling.execution.duration >= 0.02


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_5xx_and_529_are_retried_then_given_up(
    fake_server: FakeProviderServer, status: int
) -> None:
    fake_server.queue(*[ErrorReply(status, {"error": {"message": "boom"}})] * 3)
    async with iModel(model="m", base_url=fake_server.openai_base_url, retry=FAST) as model:
        calling = await model.invoke(messages="hi")
    assert isinstance(calling.execution.error, ServerError | OverloadedError)
    assert len(fake_server.requests) == 3  # one try + max_retries=2


@pytest.mark.parametrize(
    "reply",
    [
        ErrorReply.from_conformance(HTTP_ERRORS["openai_429_insufficient_quota"]),
        ErrorReply.from_conformance(HTTP_ERRORS["openai_400_context_length_exceeded"]),
        ErrorReply.from_conformance(HTTP_ERRORS["openai_401_invalid_api_key"]),
        # The server asks for longer than the cap: giving up beats hammering it.
        ErrorReply(429, {"error": {"message": "later"}}, headers={"retry-after": "121"}),
    ],
    ids=["quota", "400", "401", "retry-after-above-cap"],
)
async def test_not_retried(fake_server: FakeProviderServer, reply: ErrorReply) -> None:
    fake_server.queue(reply, Script(text="should not be reached"))
    async with iModel(model="m", base_url=fake_server.openai_base_url, retry=FAST) as model:
        calling = await model.invoke(messages="hi")
    assert calling.execution.status is EventStatus.FAILED
    assert len(fake_server.requests) == 1


async def test_connection_closed_before_headers_is_retried(
    fake_server: FakeProviderServer,
) -> None:
    fake_server.queue(Script(text="x", fault=Fault.close_before_headers()), Script(text="ok"))
    async with iModel(model="m", base_url=fake_server.openai_base_url, retry=FAST) as model:
        calling = await model.invoke(messages="hi")
    assert calling.raise_for_status().execution.response is not None
    assert calling.execution.response.text == "ok"
    assert len(fake_server.requests) == 2


async def test_unreachable_server_is_a_connection_error() -> None:
    policy = RetryPolicy(max_retries=1, initial_backoff=0.001)
    async with iModel(model="m", base_url="http://127.0.0.1:9/v1", retry=policy) as model:
        calling = await model.invoke(messages="hi")
    assert isinstance(calling.execution.error, APIConnectionError)


async def test_never_retried_after_text_was_delivered(fake_server: FakeProviderServer) -> None:
    text = "one two three four five six seven eight nine ten"
    fake_server.queue(Script(text=text, fault=Fault.drop(at_byte=700)), Script(text="again"))
    chunks: list[str] = []
    async with iModel(model="m", base_url=fake_server.openai_base_url, retry=FAST) as model:
        with pytest.raises(LionrxError) as info:
            async for chunk in model.invoke_stream(messages="hi"):
                chunks.append(chunk)
    assert chunks, "some text arrived before the drop"
    assert isinstance(info.value, ProtocolError | APIConnectionError)
    assert info.value.partial is not None
    assert info.value.partial.text == "".join(chunks)
    assert text.startswith("".join(chunks))
    assert len(fake_server.requests) == 1


MID_STREAM = {case["id"]: case for case in ERRORS["mid_stream_errors"]}


async def test_openai_error_chunk_mid_stream(fake_server: FakeProviderServer) -> None:
    first = (STREAMS / "openai_chat_text.sse").read_bytes().split(b"\n\n")[:3]
    raw = b"\n\n".join(first) + b"\n\n" + MID_STREAM["openai_chat_error_chunk"]["raw"].encode()
    fake_server.queue(Recording(data=raw, content_type="text/event-stream"))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    error = calling.execution.error
    assert isinstance(error, ProviderStreamError)
    assert error.error_type == "server_error"
    assert "The server had an error" in str(error)
    assert error.partial is not None


@pytest.mark.parametrize(
    "case_id", ["anthropic_sse_error_event_docs", "anthropic_sse_error_event_real_shape"]
)
async def test_anthropic_error_event_mid_stream(
    fake_server: FakeProviderServer, case_id: str
) -> None:
    head = (STREAMS / "anthropic_text.sse").read_bytes()
    head = head[: head.index(b"event: content_block_stop")]
    raw = head + MID_STREAM[case_id]["raw"].encode()
    fake_server.queue(Recording(data=raw, content_type="text/event-stream"))
    chunks: list[str] = []
    async with iModel(provider="anthropic", model="m", base_url=fake_server.url) as model:
        with pytest.raises(OverloadedError) as info:
            async for chunk in model.invoke_stream(messages="hi"):
                chunks.append(chunk)
    assert chunks and info.value.partial is not None
    assert info.value.partial.text == "".join(chunks)
    if case_id.endswith("real_shape"):
        assert info.value.request_id == "req_011CX7DwS7tSvggaNHmefwWg"


async def test_invalid_json_in_a_data_line_names_the_line(
    fake_server: FakeProviderServer,
) -> None:
    good = (STREAMS / "openai_chat_text.sse").read_bytes().split(b"\n\n")[:3]
    raw = b"\n\n".join(good) + b'\n\ndata: {"choices": [oops\n\n'
    fake_server.queue(Recording(data=raw, content_type="text/event-stream"))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    error = calling.execution.error
    assert isinstance(error, ProtocolError)
    assert '{"choices": [oops' in str(error)
    assert error.partial is not None and error.partial.text  # earlier text kept


def _cut(name: str, marker: bytes) -> bytes:
    body = (STREAMS / name).read_bytes()
    return body[: body.index(marker)]


@pytest.mark.parametrize(
    ("provider", "name", "marker"),
    [
        ("openai", "openai_chat_text.sse", b'"finish_reason":"stop"'),
        ("anthropic", "anthropic_text.sse", b"event: message_delta"),
        ("ollama", "ollama_chat.ndjson", b'"done":true'),
    ],
)
async def test_a_cut_off_body_is_a_protocol_error(
    fake_server: FakeProviderServer, provider: str, name: str, marker: bytes
) -> None:
    body = _cut(name, marker)
    # Cut mid-event too: only completely received events may deliver text.
    body = body[: body.rindex(b"\n") - 5]
    media = "application/x-ndjson" if name.endswith(".ndjson") else "text/event-stream"
    fake_server.queue(Recording(data=body, content_type=media))
    base = fake_server.openai_base_url if provider == "openai" else fake_server.url
    chunks: list[str] = []
    async with iModel(provider=provider, model="m", base_url=base) as model:
        with pytest.raises(ProtocolError) as info:
            async for chunk in model.invoke_stream(messages="hi"):
                chunks.append(chunk)
    assert chunks
    assert info.value.partial is not None and info.value.partial.text == "".join(chunks)


async def test_a_dropped_connection_mid_body_fails(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Recording(STREAMS / "openai_chat_text.sse", fault=Fault.drop(at_byte=900)))
    async with iModel(model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages="hi")
    assert isinstance(calling.execution.error, ProtocolError | APIConnectionError)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
async def test_wrong_content_type_names_the_header(
    fake_server: FakeProviderServer, provider: str
) -> None:
    fake_server.queue(Script(text="hello", fault=Fault.wrong_content_type("text/html")))
    base = fake_server.openai_base_url if provider == "openai" else fake_server.url
    async with iModel(provider=provider, model="m", base_url=base) as model:
        calling = await model.invoke(messages="hi")
    error = calling.execution.error
    assert isinstance(error, ProtocolError)
    assert "Content-Type" in str(error) and "text/html" in str(error)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, jitter=0.25)
    for attempt, nominal in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(50)}
        assert all(nominal * 0.75 <= d <= nominal for d in delays)
        assert len(delays) > 1  # jittered


async def test_retry_waits_what_the_server_asked(fake_server: FakeProviderServer) -> None:
    import aiohttp

    from lionrx._transport import post_stream
    from lionrx.providers._http import SSEItems

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    fake_server.queue(
        ErrorReply(429, {"error": {"message": "wait"}}, headers={"retry-after": "2"}),
        ErrorReply(500, {"error": {"message": "oops"}}),
        ErrorReply(429, {"error": {"message": "wait"}}, headers={"retry-after-ms": "1500"}),
        Script(text="done"),
    )
    async with aiohttp.ClientSession() as session:
        items = post_stream(
            session,
            fake_server.openai_base_url + "/chat/completions",
            body={"model": "m", "messages": [], "stream": True},
            headers={},
            decoder_factory=lambda media: SSEItems(),
            accept=("text/event-stream",),
            provider="openai",
            retry=RetryPolicy(max_retries=3),
            sleep=sleep,
        )
        assert [item async for item in items if getattr(item, "data", None) == "[DONE]"]
    assert waits[0] == 2.0
    assert 0.75 <= waits[1] <= 1.0  # no hint: backoff for attempt 1 (1 s, minus jitter)
    assert waits[2] == 1.5
    assert len(fake_server.requests) == 4
