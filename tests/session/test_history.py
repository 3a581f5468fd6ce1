"""The history sink on event streams: every ending recorded, merged streams, and the bounded
persistence rate in virtual time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.testing import TestScheduler
from reactivex.testing.reactivetest import ReactiveTest

from lionrx import Session
from lionrx.errors import ProviderStreamError, StreamTimeout
from lionrx.events import (
    Completed,
    Failed,
    Finish,
    Response,
    ResponseBuilder,
    Start,
    TextDelta,
    Usage,
)
from lionrx.session import AssistantResponseContent
from lionrx.sinks import HistorySink, history

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed


def _events(
    texts: list[str], source: str = "m", end: str = "completed", error: Any = None
) -> list[Any]:
    builder = ResponseBuilder(source=source)
    out: list[Any] = [Start(source=source, model="gpt-x")]
    out += [TextDelta(text=t, source=source) for t in texts]
    if end == "completed":
        out += [
            Usage(source=source, input_tokens=3, output_tokens=len(texts)),
            Finish(reason="stop", source=source),
        ]
    for event in out:
        builder.add(event)
    if end == "completed":
        out.append(Completed(response=builder.finish(), source=source))
    elif end == "failed":
        out.append(Failed(error=error, partial=builder.finish(), source=source))
    return out


def _content(session: Session, message_id: Any) -> AssistantResponseContent:
    content = session.messages[message_id].content
    assert isinstance(content, AssistantResponseContent)
    return content


async def test_completed_answer_is_recorded_complete() -> None:
    session = Session()
    handle = history(session, None, reactivex.from_iterable(_events(["Hel", "lo."])))
    response = await handle
    assert response.text == "Hello."
    [mid] = session.default_branch.order
    content = _content(session, mid)
    assert content.status == "complete" and content.incomplete_reason is None
    assert content.assistant_response == "Hello."
    assert content.model_name == "gpt-x" and content.source == "m"
    assert content.usage is not None and content.usage.input_tokens == 3
    assert handle.sink.messages["m"].id == mid
    assert session.messages[mid].metadata == {"source": "m"}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ProviderStreamError("overloaded", error_type="overloaded_error"), "error"),
        (StreamTimeout("idle for 5s", which="idle", seconds=5.0), "timeout"),
    ],
)
async def test_failed_answer_is_recorded_incomplete(error: Exception, reason: str) -> None:
    session = Session()
    stream = reactivex.from_iterable(_events(["Par", "tial"], end="failed", error=error))
    handle = history(session, "default", stream)
    with pytest.raises(type(error)):
        await handle
    content = _content(session, session.default_branch.order[-1])
    assert content.status == "incomplete" and not content.is_complete
    assert content.incomplete_reason == reason
    assert content.assistant_response == "Partial"
    assert content.error is not None and content.error["type"] == type(error).__name__


async def test_user_code_error_is_recorded_incomplete() -> None:
    session = Session()
    stream = reactivex.concat(
        reactivex.from_iterable(_events(["abc"], end="none")),
        reactivex.throw(RuntimeError("bug in a map()")),
    )
    handle = history(session, None, stream)
    with pytest.raises(RuntimeError):
        await handle
    content = _content(session, session.default_branch.order[-1])
    assert (content.status, content.incomplete_reason, content.assistant_response) == (
        "incomplete",
        "error",
        "abc",
    )


async def test_text_stream_is_recorded() -> None:
    session = Session()
    await history(session, None, reactivex.from_iterable(["a", "b", "c"]))
    content = _content(session, session.default_branch.order[-1])
    assert content.assistant_response == "abc" and content.status == "complete"


async def test_merged_stream_one_message_per_label() -> None:
    session = Session()
    a = _events(["A1 ", "A2"], source="a")
    b = _events(["B1"], source="b", end="failed", error=ProviderStreamError("x"))
    merged = [a[0], b[0], a[1], b[1], a[2], b[2], a[3], a[4], a[5]]
    handle = history(session, None, reactivex.from_iterable(merged))
    with pytest.raises(ProviderStreamError):
        await handle
    order = session.default_branch.order
    assert len(order) == 2
    by_source = {_content(session, m).source: _content(session, m) for m in order}
    assert by_source["a"].assistant_response == "A1 A2" and by_source["a"].status == "complete"
    assert by_source["b"].assistant_response == "B1" and by_source["b"].status == "incomplete"

    # Configured: each label into its own branch.
    s2 = Session()
    ba, bb = s2.create_branch("for-a"), s2.create_branch("for-b")
    factory = history(s2, {"a": ba, "b": bb})
    handle2 = reactivex.from_iterable(merged).pipe(factory)
    assert handle2.done
    assert [_content(s2, m).assistant_response for m in ba.order] == ["A1 A2"]
    assert [_content(s2, m).assistant_response for m in bb.order] == ["B1"]


def test_partial_persisted_at_bounded_rate_in_virtual_time() -> None:
    scheduler = TestScheduler()
    session = Session()
    writes: list[tuple[float, str, str]] = []
    update = session.update_message
    add = session.add_message

    def spy_update(message: Any) -> Any:
        writes.append((scheduler.clock, message.content.status, message.content.assistant_response))
        return update(message)

    def spy_add(message: Any, branches: Any = None) -> Any:
        writes.append((scheduler.clock, message.content.status, message.content.assistant_response))
        return add(message, branches)

    session.update_message = spy_update  # type: ignore[method-assign]
    session.add_message = spy_add  # type: ignore[method-assign]

    final = Response(texts={0: "abcd"}, source="m")
    source = scheduler.create_hot_observable(
        on_next(210, TextDelta(text="a", source="m")),
        on_next(220, TextDelta(text="b", source="m")),
        on_next(230, Usage(source="m", output_tokens=1)),  # not content: no write
        on_next(500, TextDelta(text="c", source="m")),
        on_next(505, TextDelta(text="d", source="m")),
        on_next(520, Completed(response=final, source="m")),
        on_completed(530),
    )
    handle = history(session, None, source, persist_interval=100, scheduler=scheduler)
    scheduler.advance_to(1000)

    assert handle.done
    assert writes == [
        (210, "in_progress", "a"),  # the first text at once
        (310, "in_progress", "ab"),  # the rest at most once per interval
        (500, "in_progress", "abc"),  # after a quiet spell: at once
        (520, "complete", "abcd"),  # the end cancels the pending write
    ]


def test_dispose_records_cancelled_partial() -> None:
    scheduler = TestScheduler()
    session = Session()
    source = scheduler.create_hot_observable(
        on_next(210, TextDelta(text="so far", source="m")),
        on_next(400, TextDelta(text=" never", source="m")),
    )
    handle = history(session, None, source, scheduler=scheduler)
    scheduler.advance_to(300)
    handle.dispose()
    scheduler.advance_to(1000)
    content = _content(session, session.default_branch.order[-1])
    assert (content.status, content.incomplete_reason, content.assistant_response) == (
        "incomplete",
        "cancelled",
        "so far",
    )


def test_in_progress_answer_persisted_and_not_sent_as_context(tmp_path: Path) -> None:
    from lionrx.session import prepare_messages_for_chat

    scheduler = TestScheduler()
    session = Session.open(tmp_path / "chat.db")
    source = scheduler.create_hot_observable(on_next(210, TextDelta(text="half an", source="m")))
    history(session, None, source, scheduler=scheduler)
    scheduler.advance_to(300)
    content = _content(session, session.default_branch.order[-1])
    assert content.status == "in_progress"
    assert prepare_messages_for_chat(session.messages, session.default_branch) == []
    # Another connection sees the partial already on disk.
    other = Session.open(tmp_path / "chat.db", recover=False)
    assert _content(other, other.default_branch.order[-1]).assistant_response == "half an"
    other.close()
    session.close()


def test_history_sink_validates() -> None:
    session = Session()
    with pytest.raises(ValueError, match="persist_interval"):
        HistorySink(session, session.default_branch, persist_interval=-1)
    with pytest.raises(ValueError, match="no branch"):
        history(session, "missing")


@given(
    chunks=st.lists(st.text(min_size=1, max_size=8), max_size=12),
    sources=st.lists(st.sampled_from(["a", "b"]), min_size=12, max_size=12),
    ending=st.sampled_from(["completed", "failed", "error", "dispose"]),
    ticks=st.lists(st.integers(min_value=0, max_value=3), min_size=12, max_size=12),
    interval=st.sampled_from([0.0, 1.0, 2.5]),
)
@settings(max_examples=150, deadline=None)
def test_nothing_received_is_lost_and_only_completed_is_complete(
    chunks: list[str], sources: list[str], ending: str, ticks: list[int], interval: float
) -> None:
    from reactivex.subject import Subject

    scheduler = TestScheduler()
    session = Session()
    subject: Subject[Any] = Subject()
    handle = history(session, None, subject, persist_interval=interval, scheduler=scheduler)
    sent: dict[str, list[str]] = {"a": [], "b": []}
    builders = {s: ResponseBuilder(source=s) for s in sent}
    for chunk, source, tick in zip(chunks, sources, ticks, strict=False):
        event = TextDelta(text=chunk, source=source)
        builders[source].add(event)
        subject.on_next(event)
        sent[source].append(chunk)
        scheduler.advance_by(tick)  # let pending partial writes fire in between
    if ending == "completed":
        for s in sent:
            subject.on_next(Completed(response=builders[s].finish(), source=s))
        subject.on_completed()
    elif ending == "failed":
        for s in sent:
            subject.on_next(
                Failed(error=ProviderStreamError("x"), partial=builders[s].finish(), source=s)
            )
        subject.on_completed()
    elif ending == "error":
        subject.on_error(RuntimeError("bug"))
    else:
        handle.dispose()
    scheduler.advance_by(10)
    assert handle.done

    recorded = [session.messages[i].content for i in session.default_branch.order]
    assert all(isinstance(c, AssistantResponseContent) for c in recorded)
    by_source = {c.source: c for c in recorded}  # type: ignore[union-attr]
    assert len(by_source) == len(recorded)  # one message per label
    unlabelled = by_source.pop(None, None)
    if unlabelled is not None:
        # A stream that ended before any event still leaves a trace of how it ended.
        assert not chunks and ending in ("error", "dispose")
        assert unlabelled.status == "incomplete" and unlabelled.assistant_response == ""
    for source, texts in sent.items():
        content = by_source.get(source)
        if content is None:
            # A label that sent nothing has no message unless it ended with its own outcome.
            assert not texts and ending in ("error", "dispose")
            continue
        assert content.assistant_response == "".join(texts)
        assert content.is_complete == (ending == "completed")
        if ending != "completed":
            assert content.status == "incomplete" and content.incomplete_reason in (
                "error",
                "cancelled",
            )
