"""merge_labeled(): parallel model streams, tagged by label, ending with every outcome."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from operators_helpers import collect
from reactivex.testing import ReactiveTest

from lionrx import operators as ops
from lionrx._errors import ProviderStreamError, StreamCancelled
from lionrx._events import Completed, Failed, Response, Start, TextDelta
from lionrx.services import iModel
from lionrx.testing import (
    ErrorReply,
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


def _streams(s, a, b):  # type: ignore[no-untyped-def]
    return s.create_cold_observable(a), s.create_cold_observable(b)


def test_marble_tags_and_ends_with_every_outcome() -> None:
    error = ProviderStreamError("overloaded")
    gpt_done = Completed(response=Response(texts={0: "ab"}))
    holder = {}

    def source(s):  # type: ignore[no-untyped-def]
        gpt = s.create_cold_observable(
            on_next(10, Start()),
            on_next(20, TextDelta(text="a")),
            on_next(50, TextDelta(text="b")),
            on_next(60, gpt_done),
            on_completed(60),
        )
        claude = s.create_cold_observable(
            on_next(15, Start()),
            on_next(30, TextDelta(text="x")),
            on_next(40, Failed(error=error, partial=Response(texts={0: "x"}))),
            on_completed(40),
        )
        holder["subs"] = (gpt, claude)
        return ops.merge_labeled({"gpt": gpt, "claude": claude})

    run = run_virtual(lambda s: lambda src: src, source)
    got = [(m.time, m.value.value.kind, m.value.value.source) for m in run.messages[:-1]]
    assert got == [
        (210, "start", "gpt"),
        (215, "start", "claude"),
        (220, "text", "gpt"),
        (230, "text", "claude"),
        (240, "failed", "claude"),
        (250, "text", "gpt"),
        (260, "completed", "gpt"),
    ]
    assert run.messages[-1] == on_completed(260)
    failed = run.values[4]
    assert failed.error is error and failed.partial.source == "claude"
    assert run.values[-1].response.source == "gpt" and run.values[-1].response.text == "ab"


def test_fail_fast_cancels_the_others() -> None:
    error = ProviderStreamError("boom")
    holder = {}

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(
            on_next(10, TextDelta(text="a")), on_next(100, TextDelta(text="never"))
        )
        b = s.create_cold_observable(
            on_next(20, Failed(error=error, partial=Response())), on_completed(20)
        )
        holder["a"] = a
        return ops.merge_labeled({"a": a, "b": b}, fail_fast=True)

    run = run_virtual(lambda s: lambda src: src, source)
    assert [(v.kind, v.source) for v in run.values] == [
        ("text", "a"),
        ("failed", "b"),
        ("failed", "a"),
    ]
    cancelled = run.values[-1]
    assert isinstance(cancelled.error, StreamCancelled)
    assert cancelled.partial.text == "a"
    assert run.completed and run.messages[-1].time == 220
    assert [(x.subscribe, x.unsubscribe) for x in holder["a"].subscriptions] == [(200, 220)]


def test_text_streams_and_errors_become_events() -> None:
    error = RuntimeError("bug")

    def source(s):  # type: ignore[no-untyped-def]
        a = s.create_cold_observable(on_next(10, "he"), on_next(20, "y"), on_completed(30))
        b = s.create_cold_observable(on_next(10, "x"), on_error(15, error))
        return ops.merge_labeled({"a": a, "b": b})

    run = run_virtual(lambda s: lambda src: src, source)
    kinds = [(v.kind, v.source) for v in run.values]
    assert kinds == [
        ("text", "a"),
        ("text", "b"),
        ("failed", "b"),
        ("text", "a"),
        ("completed", "a"),
    ]
    assert run.values[2].error is error and error.partial.text == "x"  # type: ignore[attr-defined]
    assert run.values[-1].response.text == "hey"
    assert run.completed


def test_empty_mapping_completes() -> None:
    run = run_virtual(lambda s: lambda src: src, lambda s: ops.merge_labeled({}))
    assert run.values == [] and run.completed


def test_laws_one_source_is_lossless_and_disposes() -> None:
    # merge_labeled of a single source behaves like the source, tagged.
    def make(s):  # type: ignore[no-untyped-def]
        return lambda src: ops.merge_labeled({"law": src})

    for chunks in (["a", "b. C"], ["x"] * 7, []):
        check_lossless(make, chunks, shape="events", channels=2)
        check_lossless(make, chunks, shape="text")
        if chunks:
            check_dispose_propagates(make, chunks, shape="events")


async def test_end_to_end_two_servers(model: iModel, fake_server: FakeProviderServer) -> None:
    fake_server.default = Script(text="GPT says hello.", chunk_size=3, delay=0.01)
    async with FakeProviderServer(ErrorReply(500, {"error": {"message": "down"}})) as other:
        async with iModel(
            provider="anthropic",
            model="claude-x",
            name="claude",
            base_url=other.anthropic_base_url,
            api_key="sk-ant-test-0000000000",
            max_retries=0,
        ) as claude:
            result = await collect(
                ops.merge_labeled({"gpt": model.stream("hi"), "claude": claude.stream("hi")})
            )
    assert result.completed
    outcomes = {e.source: e.kind for e in result.items if e.kind in ("completed", "failed")}
    assert outcomes == {"gpt": "completed", "claude": "failed"}
    gpt_text = "".join(e.text for e in result.items if e.kind == "text" and e.source == "gpt")
    assert gpt_text == "GPT says hello."
    assert {e.source for e in result.items} == {"gpt", "claude"}


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_laws_under_any_chunking(data: st.DataObject) -> None:
    chunks = [c for c in data.draw(chunkings(data.draw(texts(max_size=60)))) if c]

    def make(s):  # type: ignore[no-untyped-def]
        return lambda src: ops.merge_labeled({"law": src})

    check_lossless(make, chunks, shape="events", channels=2)
    check_order(make, chunks)
    check_one_terminal(make, chunks, shape="events")
    check_one_terminal(make, chunks, shape="events", fail=True)
    check_deterministic(make, chunks, shape="events")
    if chunks:
        check_dispose_propagates(make, chunks, shape="events")


async def test_end_to_end_fail_fast_closes_the_other_connection(
    model: iModel, fake_server: FakeProviderServer
) -> None:
    # gpt streams slowly; claude's connection drops mid-answer: fail_fast cancels gpt, closing
    # its request.
    fake_server.default = Script(text="word " * 400, chunk_size=5, delay=0.02)
    claude_says = Script(
        text="Claude starts, then", chunk_size=3, delay=0.03, fault=Fault.drop(900)
    )
    async with FakeProviderServer(claude_says) as other:
        async with iModel(
            provider="anthropic",
            model="claude-x",
            name="claude",
            base_url=other.anthropic_base_url,
            api_key="sk-ant-test-0000000000",
            max_retries=0,
        ) as claude:
            result = await collect(
                ops.merge_labeled(
                    {"gpt": model.stream("hi"), "claude": claude.stream("hi")}, fail_fast=True
                )
            )
    await fake_server.wait_for_disconnect()
    await fake_server.wait_idle()
    assert fake_server.responses[-1].outcome == "client_disconnected"
    assert result.completed
    outcomes = {e.source: e for e in result.items if e.kind in ("completed", "failed")}
    assert set(outcomes) == {"gpt", "claude"}
    cancelled = outcomes["gpt"]
    assert cancelled.kind == "failed" and isinstance(cancelled.error, StreamCancelled)
    gpt_text = "".join(e.text for e in result.items if e.kind == "text" and e.source == "gpt")
    assert cancelled.partial.text == gpt_text
    assert gpt_text and len(gpt_text) < len("word " * 400)
    assert outcomes["claude"].kind == "failed" and outcomes["claude"].partial.text
