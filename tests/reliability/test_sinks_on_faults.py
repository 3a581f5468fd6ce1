"""On a fault the partial answer is kept everywhere it is recorded: the history sink stores
exactly the prefix that arrived, marked incomplete (in SQLite, read back from disk), and the
file sink has exactly that prefix on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, reference

from lionrx.errors import StreamTimeout
from lionrx.events import Completed, Failed
from lionrx.operators import timeout
from lionrx.session import Session
from lionrx.sinks import file, history, tee
from lionrx.testing import FakeProviderServer, Fault, Script

TEXT = "Der Fluss fließt; the answer streams — 🦁 and stops where the fault is."

faults = st.one_of(
    st.builds(Fault.drop, st.integers(0, 3000)),
    st.builds(Fault.invalid_json, st.integers(0, 25)),
    st.builds(Fault.stall, st.integers(0, 3000), st.just(30.0)),
    # Keep-alives for a while, then the answer; or keep-alives until the idle deadline.
    st.builds(Fault.keepalive_only, st.floats(0.0, 0.1), st.just(0.02)),
    st.just(Fault.keepalive_only(interval=0.02)),
    st.just(Fault.close_before_headers()),
    st.just(Fault.wrong_content_type()),
    st.builds(Fault.garbage, st.integers(0, 25)),
    st.builds(Fault.splitting, st.integers(1, 9), st.integers(1, 40)),
    st.none(),
)
TIMED_OUT = ("stall", "keepalive_only")


def received(server: FakeProviderServer, wire: Wire) -> tuple[str, bool]:
    """The text a correct client reads from what the server sent, and whether it ended."""
    served = server.responses[-1]
    if served.outcome == "closed_before_headers" or "html" in served.content_type:
        return "", False
    ref = reference(bytes(served.body), wire)
    return ref.text, ref.clean


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(wire=st.sampled_from(["openai", "anthropic", "ollama"]), fault=faults)
async def test_history_and_file_keep_exactly_the_prefix(
    fake_server: FakeProviderServer, tmp_path_factory: object, wire: Wire, fault: Fault | None
) -> None:
    tmp = Path(tmp_path_factory.mktemp("sinks"))  # type: ignore[attr-defined]
    db, out = tmp / "history.sqlite", tmp / "answer.txt"
    baseline = set(asyncio.all_tasks())
    fake_server.queue(Script(text=TEXT, chunk_size=3, fault=fault))
    model = make_model(fake_server, wire)
    session = Session.open(db)
    try:
        stream = model.stream("hi").pipe(timeout(idle=0.3))
        hist, disk = tee(stream, history(session, persist_interval=0), file(str(out)))
        outcomes = await asyncio.gather(hist.wait(), disk.wait())
        for outcome in outcomes:
            assert isinstance(outcome, Completed | Failed)
        text, clean = received(fake_server, wire)
        assert TEXT.startswith(text)
        complete = isinstance(outcomes[0], Completed)
        assert complete == clean
        assert out.read_text(encoding="utf-8") == text
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        session.close()
        await model.aclose()
    # Read the history back from disk, as a new process would.
    with Session.open(db) as again:
        [message] = again.default_branch.messages
        content = message.content
        assert content.assistant_response == text  # type: ignore[union-attr]
        if complete:
            assert content.status == "complete"  # type: ignore[union-attr]
        else:
            assert content.status == "incomplete"  # type: ignore[union-attr]
            expected = "timeout" if fault is not None and fault.kind in TIMED_OUT else "error"
            assert content.incomplete_reason == expected  # type: ignore[union-attr]
            assert content.error is not None  # type: ignore[union-attr]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(wire=st.sampled_from(["openai", "anthropic", "ollama"]), n=st.integers(0, 12))
async def test_disposal_keeps_the_prefix_marked_cancelled(
    fake_server: FakeProviderServer, tmp_path_factory: object, wire: Wire, n: int
) -> None:
    tmp = Path(tmp_path_factory.mktemp("dispose"))  # type: ignore[attr-defined]
    db, out = tmp / "history.sqlite", tmp / "answer.txt"
    before = fake_server.disconnects
    baseline = set(asyncio.all_tasks())
    fake_server.queue(Script(text=TEXT, chunk_size=3, delay=0.01))
    model = make_model(fake_server, wire)
    session = Session.open(db)
    try:
        hist, disk = tee(model.stream("hi"), history(session, persist_interval=0), file(str(out)))
        await fake_server.wait_for(lambda: fake_server.open_streams == 1, 10.0)
        while len(out.read_text(encoding="utf-8")) < n:
            await asyncio.sleep(0.005)
        hist.dispose()
        disk.dispose()
        outcomes = await asyncio.gather(hist.wait(), disk.wait())
        await fake_server.wait_for_disconnect(timeout=10.0, count=before + 1)
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        session.close()
        await model.aclose()
    partial = outcomes[0].partial.text  # type: ignore[union-attr]
    assert isinstance(outcomes[0], Failed) and TEXT.startswith(partial) and len(partial) >= n
    assert out.read_text(encoding="utf-8") == outcomes[1].partial.text  # type: ignore[union-attr]
    with Session.open(db) as again:
        [message] = again.default_branch.messages
        content = message.content
        assert content.status == "incomplete"  # type: ignore[union-attr]
        assert content.incomplete_reason == "cancelled"  # type: ignore[union-attr]
        assert content.assistant_response == partial  # type: ignore[union-attr]


# Found by this test: the timeout operator's Failed had no source label when only keep-alives
# had arrived, so sinks also gave the keep-alives' label a Completed of its own (fixed in
# lionrx/operators/_timeout.py, e8481d6).
@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
async def test_a_keepalive_only_stream_is_recorded_as_timed_out(
    fake_server: FakeProviderServer, tmp_path: Path, wire: Wire
) -> None:
    """A server that only sends keep-alives until the idle deadline: every sink reports the
    timeout, and the history holds one answer, empty and marked incomplete — not a finished
    one."""
    db, out = tmp_path / "history.sqlite", tmp_path / "answer.txt"
    fake_server.queue(Script(text=TEXT, fault=Fault.keepalive_only(interval=0.02)))
    model = make_model(fake_server, wire)
    session = Session.open(db)
    try:
        stream = model.stream("hi").pipe(timeout(idle=0.3))
        hist, disk = tee(stream, history(session, persist_interval=0), file(str(out)))
        outcomes = await asyncio.gather(hist.wait(), disk.wait())
    finally:
        session.close()
        await model.aclose()
    for outcome in outcomes:
        assert isinstance(outcome, Failed) and isinstance(outcome.error, StreamTimeout), outcome
    assert [type(o).__name__ for o in hist.outcomes.values()] == ["Failed"]
    assert out.read_text(encoding="utf-8") == ""
    with Session.open(db) as again:
        [message] = again.default_branch.messages
        content = message.content
        assert content.status == "incomplete"  # type: ignore[union-attr]
        assert content.incomplete_reason == "timeout"  # type: ignore[union-attr]
        assert content.assistant_response == ""  # type: ignore[union-attr]
