"""One TypeAdapter dumps and loads every event kind, source label and choice index included;
`Failed` and `Fallback` keep their error's type and details for every lionrx error type."""

from __future__ import annotations

from typing import Any

import pytest

from lionrx._errors import _BY_NAME
from lionrx.errors import (
    LionrxError,
    OverloadedError,
    ProviderStreamError,
    RateLimitError,
    ServerError,
    StreamTimeout,
)
from lionrx.events import (
    EVENT_ADAPTER,
    Completed,
    Event,
    Failed,
    Fallback,
    Finish,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    Response,
    ResponseBuilder,
    Start,
    TextDelta,
    ToolCallDelta,
    Usage,
    dump_event,
    load_event,
)


def _response() -> Response:
    builder = ResponseBuilder(source="gpt")
    for event in [
        Start(source="gpt", model="m", response_id="r1"),
        TextDelta(source="gpt", text="Hello"),
        TextDelta(source="gpt", choice=1, text="Bonjour"),
        ReasoningDelta(source="gpt", text="think", signature="sig"),
        RefusalDelta(source="gpt", text="no"),
        ToolCallDelta(source="gpt", index=0, id="c1", name="f", arguments_fragment='{"a": '),
        ToolCallDelta(source="gpt", index=0, arguments_fragment="1}"),
        Usage(source="gpt", input_tokens=3, output_tokens=5),
        Finish(source="gpt", reason="stop"),
        Finish(source="gpt", choice=1, reason="length"),
    ]:
        builder.add(event)
    return builder.finish()


NON_TERMINAL: list[Event] = [
    Start(source="gpt", choice=2, model="m", response_id="r1"),
    TextDelta(source="gpt", choice=2, text="héllo ✓"),
    ReasoningDelta(source="claude", choice=0, text="", signature="sig", redacted=True),
    RefusalDelta(source="gpt", choice=1, text="I can't"),
    ToolCallDelta(source="gpt", choice=1, index=3, id="c", name="f", arguments_fragment='{"x'),
    Usage(source="gpt", choice=0, input_tokens=1, output_tokens=2),
    Finish(source="gpt", choice=3, reason="tool_calls"),
    KeepAlive(source="ollama", choice=0),
]


def test_every_event_kind_is_covered() -> None:
    kinds = {type(e) for e in NON_TERMINAL} | {Completed, Failed, Fallback}
    from typing import get_args

    members = set(get_args(get_args(Event)[0]))
    assert kinds == members


@pytest.mark.parametrize("event", NON_TERMINAL, ids=lambda e: e.kind)
def test_non_terminal_events_round_trip(event: Event) -> None:
    loaded = load_event(dump_event(event))
    assert loaded == event
    assert (loaded.source, loaded.choice) == (event.source, event.choice)
    assert EVENT_ADAPTER.validate_python(EVENT_ADAPTER.dump_python(event, mode="json")) == event


def test_completed_round_trips_with_its_whole_response() -> None:
    event = Completed(source="gpt", choice=0, response=_response())
    loaded = load_event(dump_event(event))
    assert isinstance(loaded, Completed)
    assert loaded == event
    response = loaded.response
    assert response.texts == {0: "Hello", 1: "Bonjour"}
    assert response.tool_calls[0].parsed_arguments == {"a": 1}
    assert response.stop_reasons == {0: "stop", 1: "length"}


def _error(cls: type[LionrxError]) -> LionrxError:
    common: dict[str, Any] = {"status": 529, "request_id": "req_1", "provider": "anthropic"}
    if cls is StreamTimeout:
        return StreamTimeout("idle", which="idle", seconds=2.5, **common)
    if cls in (RateLimitError, OverloadedError, ServerError):
        return cls("slow down", retry_after=1.5, **common)  # type: ignore[call-arg]
    if cls is ProviderStreamError:
        return ProviderStreamError("boom", error_type="overloaded_error", **common)
    return cls(f"{cls.__name__} message", **common)


ERROR_TYPES = sorted(_BY_NAME.values(), key=lambda c: c.__name__)
DETAILS = ("message", "status", "request_id", "provider", "retry_after", "which", "seconds")


def _same_error(loaded: BaseException, original: LionrxError) -> None:
    assert type(loaded) is type(original)
    for attr in DETAILS:
        assert getattr(loaded, attr, None) == getattr(original, attr, None), attr
    assert getattr(loaded, "error_type", None) == getattr(original, "error_type", None)
    assert str(loaded) == str(original)


@pytest.mark.parametrize("cls", ERROR_TYPES, ids=lambda c: c.__name__)
def test_failed_round_trips_with_every_error_type(cls: type[LionrxError]) -> None:
    error = _error(cls)
    partial = _response()
    event = Failed(source="claude", choice=0, error=error, partial=partial)
    loaded = load_event(dump_event(event))
    assert isinstance(loaded, Failed)
    assert (loaded.source, loaded.choice) == ("claude", 0)
    _same_error(loaded.error, error)
    assert loaded.partial == partial
    # Dumping the loaded event gives the same JSON: nothing is lost on a second trip.
    assert dump_event(loaded) == dump_event(event)


@pytest.mark.parametrize("cls", ERROR_TYPES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("mode", ["restart", "continue"])
def test_fallback_round_trips_with_every_error_type(cls: type[LionrxError], mode: str) -> None:
    error = _error(cls)
    prefix = "Hello" if mode == "continue" else ""
    event = Fallback(source="gpt", choice=1, mode=mode, error=error, attempt=2, prefix=prefix)
    loaded = load_event(dump_event(event))
    assert isinstance(loaded, Fallback)
    assert (loaded.source, loaded.choice, loaded.mode, loaded.attempt, loaded.prefix) == (
        "gpt",
        1,
        mode,
        2,
        prefix,
    )
    _same_error(loaded.error, error)
    assert dump_event(loaded) == dump_event(event)


def test_a_non_lionrx_error_loads_as_a_lionrx_error_with_its_text() -> None:
    event = Failed(error=ValueError("bad user callback"), partial=Response())
    loaded = load_event(dump_event(event))
    assert isinstance(loaded, Failed)
    assert isinstance(loaded.error, LionrxError)
    assert "bad user callback" in str(loaded.error)


def test_a_secret_never_reaches_the_dump() -> None:
    from lionrx._errors import register_secret

    secret = "sk-roundtrip-secret-0123456789abcdef"
    register_secret(secret)
    event = Failed(error=LionrxError(f"key {secret} rejected"), partial=Response())
    assert secret not in dump_event(event)
    fallback = Fallback(mode="restart", error=RuntimeError(f"key {secret}"), attempt=1)
    assert secret not in dump_event(fallback)


def test_a_per_instance_retryable_flag_survives() -> None:
    quota = RateLimitError("quota spent", status=429)
    quota.retryable = False
    first = StreamTimeout("no answer", which="first", seconds=1.0)
    first.retryable = True
    for error in (quota, first):
        loaded = load_event(dump_event(Failed(error=error, partial=Response())))
        assert isinstance(loaded, Failed)
        assert loaded.error.retryable is error.retryable  # type: ignore[attr-defined]
    plain = load_event(dump_event(Failed(error=ServerError("x"), partial=Response())))
    assert isinstance(plain, Failed) and plain.error.retryable is True  # type: ignore[attr-defined]


def test_a_loaded_failed_gives_its_error_the_partial_answer() -> None:
    partial = _response()
    event = Failed(source="gpt", error=ServerError("down", status=500), partial=partial)
    loaded = load_event(dump_event(event))
    assert isinstance(loaded, Failed)
    assert loaded.error.partial == partial  # type: ignore[attr-defined]
    assert loaded.error.partial_text == "Hello"  # type: ignore[attr-defined]
