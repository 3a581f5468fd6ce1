"""Text-reshaping operators after `fallback`: the failed attempt's pending text goes out before
the `Fallback` marker, so a restart never glues old text onto the new answer, and running
snapshots start over (restart) or from the prefix (continue)."""

from __future__ import annotations

from typing import Any

import pytest
from operators_helpers import collect
from reactivex.testing import ReactiveTest, TestScheduler

from lionrx import operators as ops
from lionrx._errors import ProviderStreamError
from lionrx._events import Completed, Failed, Finish, Response, Start, TextDelta
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Fault, Script, messages

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

FIRST = "Hello wor"  # the failed attempt: an unfinished sentence, word and batch
SECOND = "Hi there. Bye now."


def _attempts(label_a: str, label_b: str) -> tuple[list[Any], list[Any]]:
    error = ProviderStreamError("overloaded")
    a = [
        Start(source=label_a),
        TextDelta(text="Hel", source=label_a),
        TextDelta(text="lo wor", source=label_a),
        Failed(error=error, partial=Response(texts={0: FIRST}), source=label_a),
    ]
    b = [
        Start(source=label_b),
        TextDelta(text="Hi the", source=label_b),
        TextDelta(text="re. Bye now.", source=label_b),
        Finish(reason="stop", source=label_b),
        Completed(response=Response(texts={0: SECOND}), source=label_b),
    ]
    return a, b


def _run(operator: Any, mode: str, label_b: str) -> list[Any]:
    a, b = _attempts("m", label_b)
    sched = TestScheduler()
    first = sched.create_cold_observable(messages(a))
    second = sched.create_cold_observable(messages(b))
    nxt: Any = (lambda prefix: second) if mode == "continue" else second
    observer = sched.start(lambda: ops.fallback(first, nxt).pipe(operator))
    return [m.value.value for m in observer.messages if m.value.kind == "N"]


def _text_of(values: list[Any]) -> str:
    out = []
    for v in values:
        if getattr(v, "kind", None) == "text":
            out.append(v.text)
        elif isinstance(v, ops.MarkdownUpdate):
            out.extend(block.text for block in v.committed)
    return "".join(out)


def _split(values: list[Any]) -> tuple[str, Any, str]:
    at = next(k for k, v in enumerate(values) if getattr(v, "kind", None) == "fallback")
    return _text_of(values[:at]), values[at], _text_of(values[at + 1 :])


@pytest.mark.parametrize("mode", ["restart", "continue"])
@pytest.mark.parametrize("label_b", ["m", "backup"], ids=["same-label", "other-label"])
@pytest.mark.parametrize(
    "make",
    [
        lambda: ops.sentence_chunk(),
        lambda: ops.buffer(count=10),
        lambda: ops.smooth("word"),
        lambda: ops.smooth(r"\w+[.!?]"),
        lambda: ops.markdown_blocks(),
    ],
    ids=["sentence_chunk", "buffer", "smooth-word", "smooth-regex", "markdown_blocks"],
)
def test_pending_text_goes_out_before_the_marker(make: Any, mode: str, label_b: str) -> None:
    values = _run(make(), mode, label_b)
    before, marker, after = _split(values)
    assert marker.mode == mode
    assert before == FIRST, "the failed attempt's text must all come before the marker"
    assert after == SECOND, "the next stream's text must not carry the failed attempt's"
    assert values[-1].kind == "completed"


@pytest.mark.parametrize("label_b", ["m", "backup"], ids=["same-label", "other-label"])
def test_snapshots_start_over_on_restart_and_from_the_prefix_on_continue(label_b: str) -> None:
    restart = _run(ops.accumulate(), "restart", label_b)
    snapshots = [v for v in restart if isinstance(v, ops.Snapshot)]
    assert [s.text for s in snapshots] == ["Hel", FIRST, "Hi the", SECOND]
    cont = _run(ops.accumulate(), "continue", label_b)
    snapshots = [v for v in cont if isinstance(v, ops.Snapshot)]
    assert [s.text for s in snapshots] == ["Hel", FIRST, FIRST + "Hi the", FIRST + SECOND]
    assert cont[-1].response.text == FIRST + SECOND  # what fallback says the answer is


async def test_end_to_end_restart_through_sentence_chunk(
    fake_server: FakeProviderServer, model: iModel
) -> None:
    # The first model drops mid-sentence; the second (a plain Observable) starts over.
    fake_server.default = Script(
        text="The first answer is long. It never ends", chunk_size=4, fault=Fault.drop(700)
    )
    async with FakeProviderServer(Script(text=SECOND, chunk_size=3)) as other:
        async with iModel(
            provider="openai",
            model="backup",
            name="backup",
            base_url=other.openai_base_url,
            api_key="sk-test-backup-00000",
            max_retries=0,
        ) as backup:
            result = await collect(
                ops.fallback(model.stream("hi"), backup.stream("hi")).pipe(ops.sentence_chunk())
            )
    before, marker, after = _split(result.items)
    assert marker.mode == "restart" and before
    assert "The first answer is long. It never ends".startswith(before)
    assert after == SECOND
    texts_after = [v.text for v in result.items[result.items.index(marker) :] if v.kind == "text"]
    assert texts_after == ["Hi there. ", "Bye now."]
    assert result.items[-1].kind == "completed" and result.items[-1].response.text == SECOND
