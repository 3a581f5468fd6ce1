"""fallback(): on failure go on with the next stream — restart before text, continue after."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_helpers import collect
from reactivex import Observable
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._errors import ProviderStreamError
from lionrx._events import Completed, Failed, Response, Start, TextDelta
from lionrx.events import Fallback
from lionrx.operators import fallback_mode
from lionrx.services import iModel
from lionrx.testing import (
    FakeProviderServer,
    Fault,
    Script,
    check_deterministic,
    check_dispose_propagates,
    check_lossless,
    check_one_terminal,
    check_order,
    chunkings,
    run_virtual,
    texts,
)

on_next, on_completed, on_error = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
)


def test_marble_continue_after_text() -> None:
    error = ProviderStreamError("overloaded")
    prefixes: list[str] = []
    holder = {}

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(10, Start(source="a")),
            on_next(20, TextDelta(text="The ", source="a")),
            on_next(30, TextDelta(text="cat", source="a")),
            on_next(40, Failed(error=error, partial=Response(texts={0: "The cat"}))),
            on_completed(40),
        )

        def b(prefix: str) -> Observable[object]:
            prefixes.append(prefix)
            cold = s.create_cold_observable(
                on_next(5, Start(source="b")),
                on_next(10, TextDelta(text=" sat.", source="b")),
                on_next(15, Completed(source="b", response=Response(texts={0: " sat."}))),
                on_completed(15),
            )
            holder["b"] = cold
            return cold

        holder["a"] = a
        return ops.fallback(a, b)

    run = run_virtual(lambda s: lambda src: src, source)
    kinds = [(m.time, m.value.value.kind) for m in run.messages[:-1]]
    assert kinds == [
        (210, "start"),
        (220, "text"),
        (230, "text"),
        (240, "fallback"),
        (245, "start"),
        (250, "text"),
        (255, "completed"),
    ]
    marker = run.values[3]
    assert isinstance(marker, Fallback)
    assert fallback_mode(marker) == "continue" and marker.mode == "continue"
    assert marker.prefix == "The cat" and marker.attempt == 1
    assert marker.source == "a"
    assert prefixes == ["The cat"]
    assert run.values[-1].response.text == "The cat sat."
    assert run.messages[-1] == on_completed(255)
    assert [(x.subscribe, x.unsubscribe) for x in holder["a"].subscriptions] == [(200, 240)]


def test_restart_before_text_and_with_plain_observable() -> None:
    error = ProviderStreamError("no")

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(10, Failed(error=error, partial=Response())), on_completed(10)
        )
        b = s.create_cold_observable(
            on_next(5, TextDelta(text="Hel")),
            on_next(6, Failed(error=error, partial=Response(texts={0: "Hel"}))),
            on_completed(6),
        )
        c = s.create_cold_observable(
            on_next(5, TextDelta(text="Hello")),
            on_next(6, Completed(response=Response(texts={0: "Hello"}))),
            on_completed(6),
        )
        return ops.fallback(a, b, c)

    run = run_virtual(lambda s: lambda src: src, source)
    assert [(v.kind, fallback_mode(v)) for v in run.values] == [
        ("fallback", "restart"),
        ("text", None),
        ("fallback", "restart"),  # c is a plain Observable: it can only start over
        ("text", None),
        ("completed", None),
    ]
    assert run.values[-1].response.text == "Hello"
    assert run.values[0].error is error and run.values[0].prefix == ""
    assert [v.attempt for v in run.values if v.kind == "fallback"] == [1, 2]


def test_last_failure_ends_with_whole_partial() -> None:
    e1, e2 = ProviderStreamError("one"), ProviderStreamError("two")

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(1, TextDelta(text="ab")),
            on_next(2, Failed(error=e1, partial=Response(texts={0: "ab"}))),
            on_completed(2),
        )

        def b(prefix: str) -> Observable[object]:
            return s.create_cold_observable(
                on_next(1, TextDelta(text="cd")),
                on_next(2, Failed(error=e2, partial=Response(texts={0: "cd"}))),
                on_completed(2),
            )

        return ops.fallback(a, b)

    run = run_virtual(lambda s: lambda src: src, source)
    failed = run.values[-1]
    assert failed.kind == "failed" and failed.error is e2
    assert failed.partial.text == "abcd"
    assert run.completed and len(run.ends) == 1


def test_text_streams_and_on_error() -> None:
    error = RuntimeError("x")

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(on_next(1, "He"), on_error(2, error))
        return ops.fallback(
            a, lambda prefix: s.create_cold_observable(on_next(1, "llo"), on_completed(2))
        )

    run = run_virtual(lambda s: lambda src: src, source)
    assert [getattr(v, "text", None) for v in run.values if v.kind == "text"] == ["He", "llo"]
    assert run.values[-1].kind == "completed" and run.values[-1].response.text == "Hello"


def test_needs_a_stream() -> None:
    with pytest.raises(ValueError):
        ops.fallback()


def test_laws_single_stream() -> None:
    def make(s):  # type: ignore[no-untyped-def]
        return lambda src: ops.fallback(src)

    for chunks in (["a", "b. C"], ["x"] * 5):
        check_lossless(make, chunks, shape="events")
        check_dispose_propagates(make, chunks, shape="events")


async def test_end_to_end_continuation(model: iModel, fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(
        text="The quick brown fox jumps over the lazy dog. " * 4,
        chunk_size=6,
        fault=Fault.drop(at_byte=700),
    )
    async with FakeProviderServer(Script(text=" THE END.", chunk_size=3)) as other:
        async with iModel(
            provider="openai",
            model="backup",
            name="backup",
            base_url=other.openai_base_url,
            api_key="sk-test-backup-00000",
            max_retries=0,
        ) as backup:
            messages = [{"role": "user", "content": "tell a story"}]
            result = await collect(
                ops.fallback(
                    model.stream(messages),
                    lambda prefix: backup.stream(
                        [*messages, {"role": "assistant", "content": prefix}]
                    ),
                )
            )
            sent = other.last_request.json["messages"]
    markers = [e for e in result.items if fallback_mode(e)]
    assert [fallback_mode(m) for m in markers] == ["continue"]
    text = "".join(e.text for e in result.items if e.kind == "text")
    prefix = sent[-1]["content"]
    assert sent[-1]["role"] == "assistant" and prefix and text == prefix + " THE END."
    assert result.items[-1].kind == "completed" and result.items[-1].response.text == text


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_laws_under_any_chunking(data: st.DataObject) -> None:
    chunks = [c for c in data.draw(chunkings(data.draw(texts(max_size=60)))) if c]

    def make(s):  # type: ignore[no-untyped-def]
        return lambda src: ops.fallback(src, lambda prefix: src)

    check_lossless(make, chunks, shape="events", channels=2)
    check_order(make, chunks)
    check_one_terminal(make, chunks, shape="events")
    check_one_terminal(make, chunks, shape="events", fail=True)
    check_deterministic(make, chunks, shape="events")
    if chunks:
        check_dispose_propagates(make, chunks, shape="events")
