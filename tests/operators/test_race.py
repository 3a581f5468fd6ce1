"""race(): the first stream to produce text wins; the others are disposed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._errors import ProviderStreamError
from lionrx._events import Completed, Failed, KeepAlive, Response, Start, TextDelta
from lionrx.services import iModel
from lionrx.testing import (
    FakeProviderServer,
    Script,
    check_deterministic,
    check_dispose_propagates,
    check_flush_on_error,
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


def test_marble_first_text_wins_and_replays_what_it_held() -> None:
    holder = {}
    b_start = Start(source="b")
    b_done = Completed(source="b", response=Response(texts={0: "fast!"}))

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(5, Start(source="a")), on_next(50, TextDelta(text="slow", source="a"))
        )
        b = s.create_cold_observable(
            on_next(10, b_start),
            on_next(20, TextDelta(text="fast", source="b")),
            on_next(30, TextDelta(text="!", source="b")),
            on_next(40, b_done),
            on_completed(40),
        )
        holder.update(a=a, b=b)
        return ops.race(a, b)

    run = run_virtual(lambda s: lambda src: src, source)
    assert [
        (m.time, getattr(m.value, "value", None) and m.value.value.kind) for m in run.messages
    ] == [
        (220, "start"),
        (220, "text"),
        (230, "text"),
        (240, "completed"),
        (240, None),
    ]
    assert run.values[0] is b_start and run.values[-1] is b_done
    assert [(x.subscribe, x.unsubscribe) for x in holder["a"].subscriptions] == [(200, 220)]


def test_failures_before_text_drop_out() -> None:
    error = ProviderStreamError("x")

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(5, Failed(error=error, partial=Response())), on_completed(5)
        )
        b = s.create_cold_observable(on_next(30, TextDelta(text="ok")), on_completed(40))
        return ops.race(a, b)

    run = run_virtual(lambda s: lambda src: src, source)
    assert [v.text for v in run.values] == ["ok"] and run.completed


def test_all_drop_out_last_outcome_wins() -> None:
    e1, e2 = ProviderStreamError("first"), ProviderStreamError("second")
    f2 = Failed(error=e2, partial=Response())

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(5, Failed(error=e1, partial=Response())), on_completed(5)
        )
        b = s.create_cold_observable(on_next(8, KeepAlive()), on_next(9, f2), on_completed(9))
        return ops.race(a, b)

    run = run_virtual(lambda s: lambda src: src, source)
    assert [v.kind for v in run.values] == ["keep_alive", "failed"]
    assert run.values[-1] is f2 and run.completed and len(run.ends) == 1


def test_text_streams_race_and_errors() -> None:
    error = RuntimeError("nope")

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(on_error(5, error))
        b = s.create_cold_observable(on_next(7, "hi"), on_completed(8))
        return ops.race(a, b)

    run = run_virtual(lambda s: lambda src: src, source)
    assert run.values == ["hi"] and run.completed

    def only_error(s):  # type: ignore[no-untyped-def]
        return ops.race(s.create_cold_observable(on_error(5, error)))

    assert run_virtual(lambda s: lambda src: src, only_error).error is error


def test_first_event_trigger() -> None:
    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(on_next(5, Start(source="a")), on_completed(50))
        b = s.create_cold_observable(on_next(7, TextDelta(text="b")), on_completed(50))
        return ops.race(a, b, on="first_event")

    run = run_virtual(lambda s: lambda src: src, source)
    assert [v.source for v in run.values] == ["a"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ops.race()
    with pytest.raises(ValueError):
        ops.race(ops.merge_labeled({}), on="whenever")  # type: ignore[arg-type]


def test_laws_single_stream() -> None:
    def make(s):  # type: ignore[no-untyped-def]
        return lambda src: ops.race(src)

    for chunks in (["a", "b. C"], ["x"] * 5):
        check_lossless(make, chunks, shape="events", channels=2)
        check_lossless(make, chunks, shape="text")
        check_dispose_propagates(make, chunks, shape="events")


async def test_end_to_end_loser_connection_closed(
    model: iModel, fake_server: FakeProviderServer
) -> None:
    fake_server.default = Script(text="slow answer", first_delay=30)
    async with FakeProviderServer(Script(text="fast answer", chunk_size=2)) as other:
        async with iModel(
            provider="openai",
            model="gpt-4o-mini",
            name="fast",
            base_url=other.openai_base_url,
            api_key="sk-test-fast-0000000",
            max_retries=0,
        ) as fast:
            result = await collect(ops.race(model.stream("hi"), fast.stream("hi")))
    assert result.completed
    assert result.items[-1].kind == "completed" and result.items[-1].source == "fast"
    assert "".join(e.text for e in result.items if e.kind == "text") == "fast answer"
    await fake_server.wait_for_disconnect()  # the slow model's request was cancelled


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_laws_under_any_chunking(data: st.DataObject) -> None:
    chunks = [c for c in data.draw(chunkings(data.draw(texts(max_size=60)))) if c]

    def make(s):  # type: ignore[no-untyped-def]
        return lambda src: ops.race(src)

    check_lossless(make, chunks, shape="events", channels=2)
    check_order(make, chunks)
    check_one_terminal(make, chunks, shape="events")
    check_one_terminal(make, chunks, shape="events", fail=True)
    check_deterministic(make, chunks, shape="events")
    if chunks:
        check_dispose_propagates(make, chunks, shape="events")
    check_lossless(make, chunks, shape="text")
    check_flush_on_error(make, chunks, shape="text")
    check_flush_on_error(make, chunks, shape="events")
