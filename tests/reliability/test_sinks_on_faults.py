"""On a fault the partial answer is kept everywhere it is recorded: the history sink stores
exactly the prefix that arrived, marked incomplete (in SQLite, read back from disk), and the
file sink has exactly that prefix on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, assert_no_leaks, make_model, reference

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
    st.none(),
)


@settings(
    max_examples=30,
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
        ref = reference(bytes(fake_server.responses[-1].body), wire)
        assert TEXT.startswith(ref.text)
        complete = isinstance(outcomes[0], Completed)
        assert complete == ref.clean
        assert out.read_text(encoding="utf-8") == ref.text
        await assert_no_leaks(model, fake_server, baseline)
    finally:
        session.close()
        await model.aclose()
    # Read the history back from disk, as a new process would.
    with Session.open(db) as again:
        [message] = again.default_branch.messages
        content = message.content
        assert content.assistant_response == ref.text  # type: ignore[union-attr]
        if complete:
            assert content.status == "complete"  # type: ignore[union-attr]
        else:
            assert content.status == "incomplete"  # type: ignore[union-attr]
            expected = "timeout" if fault is not None and fault.kind == "stall" else "error"
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
