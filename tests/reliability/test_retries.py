"""Retries: only before the response starts, honouring retry-after (within the cap), never
duplicating text; every HTTP error of errors.json, with and without retry-after."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, reference, run_to_end

from lionrx._transport import RetryPolicy, retry_delay_from
from lionrx.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    ServerError,
)
from lionrx.events import Completed, Failed
from lionrx.services import iModel
from lionrx.testing import ErrorReply, FakeProviderServer, Fault, Script

ERRORS = json.loads((FIXTURES / "errors.json").read_text())["http_errors"]
TEXT = "A complete answer, sent once."

EXPECTED_TYPE: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    529: OverloadedError,
}


def wire_of(case: dict[str, object]) -> Wire:
    provider = str(case["provider"])
    return provider if provider in ("openai", "anthropic", "ollama") else "openai"  # type: ignore[return-value]


def fast(model: iModel, retries: int = 2, cap: float = 120.0) -> iModel:
    # Short backoff so the suite stays fast; retry-after values are still honoured as sent
    # (up to ``cap``).
    model.backend.retry = RetryPolicy(  # type: ignore[attr-defined]
        max_retries=retries, initial_backoff=0.01, max_backoff=0.02, max_retry_after=cap
    )
    return model


def retryable(case: dict[str, object]) -> bool:
    body = json.dumps(case.get("body"))
    return int(case["status"]) in (429, 500, 502, 503, 529) and "insufficient_quota" not in body  # type: ignore[call-overload]


@pytest.mark.parametrize("retry_after", [None, "0.5"], ids=["no-retry-after", "retry-after"])
@pytest.mark.parametrize("case", ERRORS, ids=[c["id"] for c in ERRORS])
async def test_http_errors_retry_only_when_they_should(
    fake_server: FakeProviderServer, case: dict[str, object], retry_after: str | None
) -> None:
    wire = wire_of(case)
    fake_server.queue(
        ErrorReply.from_conformance(case, retry_after=retry_after or ""), Script(text=TEXT)
    )
    async with fast(make_model(fake_server, wire)) as model:
        outcome = (await run_to_end(model.stream("hi"))).check_one_outcome()
    if retryable(case):
        assert isinstance(outcome, Completed), outcome
        assert outcome.response.text == TEXT  # retried once, text not duplicated
        assert len(fake_server.requests) == 2
        gap = fake_server.requests[1].received_at - fake_server.requests[0].received_at
        headers = {k: v for k, v in dict(case["headers"]).items() if k != "retry-after"}  # type: ignore[call-overload]
        hint = retry_delay_from(headers, json.dumps(case.get("body")))
        if retry_after:
            assert gap >= 0.5 - 0.01  # the server's retry-after was honoured
        elif hint is not None:
            assert gap >= hint - 0.01  # the provider's own hint ("try again in 8.764s")
        else:
            # Our own (0.01-0.02 s) backoff, nothing like a provider's wait; the bound is loose
            # because the suite runs on a loaded machine.
            assert gap < 3.0
    else:
        assert isinstance(outcome, Failed), outcome
        assert len(fake_server.requests) == 1
        assert fake_server.pending == 1
        err = outcome.error
        assert isinstance(err, EXPECTED_TYPE[int(case["status"])])  # type: ignore[call-overload]
        assert err.status == case["status"]
        assert outcome.partial.text == ""


@pytest.mark.parametrize("case", [c for c in ERRORS if retryable(c)], ids=lambda c: c["id"])
async def test_retries_give_up_with_the_typed_error(
    fake_server: FakeProviderServer, case: dict[str, object]
) -> None:
    wire = wire_of(case)
    fake_server.default = ErrorReply.from_conformance(case, retry_after="")
    # A low cap: the provider's own hints (OpenAI's "try again in 8.764s") are above it, so
    # the backoff applies and the test stays fast.
    async with fast(make_model(fake_server, wire), retries=2, cap=1.0) as model:
        outcome = (await run_to_end(model.stream("hi"))).check_one_outcome()
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.error, EXPECTED_TYPE[int(case["status"])])  # type: ignore[call-overload]
    assert len(fake_server.requests) == 3  # the first try and two retries


async def test_retry_after_above_the_cap_is_not_waited_for(
    fake_server: FakeProviderServer,
) -> None:
    case = next(c for c in ERRORS if c["id"] == "anthropic_429_rate_limit_error")
    fake_server.queue(ErrorReply.from_conformance(case, retry_after="121"), Script(text=TEXT))
    async with fast(make_model(fake_server, "anthropic")) as model:
        outcome = (await run_to_end(model.stream("hi"), timeout=10)).check_one_outcome()
    assert isinstance(outcome, Failed) and isinstance(outcome.error, RateLimitError)
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
@pytest.mark.parametrize("k", [0, 1, 300, 700])
async def test_a_stream_that_started_is_never_retried(
    fake_server: FakeProviderServer, wire: Wire, k: int
) -> None:
    fake_server.default = Script(text=TEXT, fault=Fault.drop(k))
    async with fast(make_model(fake_server, wire), retries=3) as model:
        outcome = (await run_to_end(model.stream("hi"))).check_one_outcome()
    assert isinstance(outcome, Failed)
    assert TEXT.startswith(outcome.partial.text)
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
async def test_connection_closed_before_headers_is_retried(
    fake_server: FakeProviderServer, wire: Wire
) -> None:
    fake_server.queue(
        Script(text="lost", fault=Fault.close_before_headers()),
        Script(text=TEXT),
    )
    async with fast(make_model(fake_server, wire)) as model:
        outcome = (await run_to_end(model.stream("hi"))).check_one_outcome()
    assert isinstance(outcome, Completed), outcome
    assert outcome.response.text == TEXT
    assert len(fake_server.requests) == 2


WIRES: list[Wire] = ["openai", "anthropic", "ollama"]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("retry_after", [None, "7"], ids=["no-retry-after", "retry-after"])
@pytest.mark.parametrize("case", ERRORS, ids=[c["id"] for c in ERRORS])
async def test_every_http_error_on_every_wire_is_typed(
    fake_server: FakeProviderServer, case: dict[str, object], retry_after: str | None, wire: Wire
) -> None:
    """Whatever the wire, an HTTP error is a typed failure with its status, its retry hint, no
    text, and its connection back in the pool or closed (no retry here: ``max_retries=0``)."""
    baseline = set(asyncio.all_tasks())
    fake_server.queue(ErrorReply.from_conformance(case, retry_after=retry_after or ""))
    model = make_model(fake_server, wire)
    try:
        outcome = (await run_to_end(model.stream("hi"))).check_one_outcome()
        assert isinstance(outcome, Failed), outcome
        err = outcome.error
        assert isinstance(err, EXPECTED_TYPE[int(case["status"])])  # type: ignore[call-overload]
        assert err.status == case["status"]
        assert err.retryable == retryable(case)
        if retry_after and int(case["status"]) in (429, 500, 502, 503, 529):
            assert err.retry_after == 7.0  # type: ignore[attr-defined]
        assert outcome.partial.text == ""
        assert len(fake_server.requests) == 1
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        await model.aclose()


# Failures before the response starts: an HTTP error (with or without a short retry-after) or a
# connection closed before the headers.
RETRYABLE_STATUS = st.sampled_from([429, 500, 502, 503, 529])
pre_start = st.one_of(
    st.builds(
        lambda status, after: ErrorReply(
            status,
            {"error": {"message": "busy, come back later", "type": "api_error"}},
            headers={"retry-after": after} if after else {},
        ),
        RETRYABLE_STATUS,
        st.sampled_from([None, "0.05", "0.2"]),
    ),
    st.just(Script(text="never sent", fault=Fault.close_before_headers())),
)
# What the answer that finally starts does: finish, or break after it started.
after_start = st.one_of(
    st.none(),
    st.builds(Fault.drop, st.integers(0, 1500)),
    st.builds(Fault.invalid_json, st.integers(0, 10)),
    st.builds(Fault.splitting, st.integers(1, 9)),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    wire=st.sampled_from(WIRES),
    failures=st.lists(pre_start, max_size=4),
    fault=after_start,
    retries=st.integers(0, 3),
)
async def test_retries_only_before_the_start_honour_retry_after_and_never_duplicate(
    fake_server: FakeProviderServer,
    wire: Wire,
    failures: list[ErrorReply | Script],
    fault: Fault | None,
    retries: int,
) -> None:
    baseline = set(asyncio.all_tasks())
    first = len(fake_server.requests)
    given_up = len(failures) > retries
    if given_up:
        # One more failure than retries allowed: a wrong extra retry would get the server's
        # default (a clean answer) and show up in the request count and the outcome.
        fake_server.queue(*failures[: retries + 1])
    else:
        fake_server.queue(*failures, Script(text=TEXT, chunk_size=3, fault=fault))
    model = fast(make_model(fake_server, wire), retries=retries)
    try:
        trace = await run_to_end(model.stream("hi"))
        outcome = trace.check_one_outcome()
        requests = fake_server.requests[first:]
        if given_up:
            assert len(requests) == retries + 1
            assert isinstance(outcome, Failed), outcome
            last = failures[retries]
            if isinstance(last, ErrorReply):
                assert isinstance(outcome.error, APIStatusError)
                assert outcome.error.status == last.status
            else:
                assert isinstance(outcome.error, APIConnectionError)
            assert outcome.partial.text == ""
        else:
            # Every pre-start failure retried once; the answer that started, never.
            assert len(requests) == len(failures) + 1
            ref = reference(bytes(fake_server.responses[-1].body), wire)
            result = outcome.response if isinstance(outcome, Completed) else outcome.partial
            assert isinstance(outcome, Completed) == ref.clean
            assert result.text == ref.text and TEXT.startswith(ref.text)
        # Never a duplicated word: the events carry the outcome's text once.
        joined = "".join(getattr(e, "text", "") for e in trace.items if e.kind == "text")
        result = outcome.response if isinstance(outcome, Completed) else outcome.partial
        assert joined == result.text
        # The server's retry-after was waited for, every time.
        for i, failure in enumerate(failures[: len(requests) - 1]):
            after = failure.headers.get("retry-after") if isinstance(failure, ErrorReply) else None
            if after:
                gap = requests[i + 1].received_at - requests[i].received_at
                assert gap >= float(after) - 0.01, (i, after, gap)
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        await model.aclose()
