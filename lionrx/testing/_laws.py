"""Stream laws: reusable checks that an operator treats lionrx streams lawfully.

Each ``check_*`` function runs the operator once in virtual time over the chunks you give and
raises ``AssertionError`` saying what broke; `assert_stream_laws` runs them all under
hypothesis over random texts and random chunkings (and random gaps between chunks, for
time-based operators). Use them on your own operators::

    from lionrx.testing import assert_stream_laws
    assert_stream_laws(lambda scheduler: my_operator(scheduler=scheduler))

The laws: lossless under any chunking; order kept; no empty chunks; no duplicated text;
completion and errors flush what is buffered and the error is passed on; exactly one terminal
outcome; deterministic under ``TestScheduler``; disposing downstream disposes upstream (every
upstream, for operators over several streams: `check_dispose_reaches_every_source`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from reactivex import Observable
from reactivex.notification import OnCompleted, OnError, OnNext
from reactivex.testing import TestScheduler
from reactivex.testing.recorded import Recorded
from reactivex.testing.subscription import Subscription

from lionrx._errors import ProviderStreamError
from lionrx._events import (
    Completed,
    Failed,
    Finish,
    KeepAlive,
    Response,
    Start,
    TextDelta,
    Usage,
)
from lionrx.testing._virtual import (
    SUBSCRIBED,
    OperatorFactory,
    VirtualRun,
    messages,
    output_text,
    run_virtual,
)

__all__ = [
    "Extract",
    "Shape",
    "assert_stream_laws",
    "check_deterministic",
    "check_dispose_propagates",
    "check_dispose_reaches_every_source",
    "check_flush_on_error",
    "check_lossless",
    "check_no_empty_chunks",
    "check_one_terminal",
    "check_order",
    "event_input",
]

Shape = Literal["text", "events"]
"""Which stream shape to feed: ``str`` chunks, or lionrx events ending in a terminal event."""
Extract = Callable[[Sequence[Any]], str]
"""Reads the output text from an operator's ``on_next`` values, for operators whose output is
not text chunks (``accumulate``: the last snapshot). Default: `output_text`."""

_LABEL = "law"
_BOOM = "law: the source failed"


def event_input(chunks: Sequence[str], *, channels: int = 1, fail: bool = False) -> list[Any]:
    """The chunks as a lawful event stream: `Start`, a `TextDelta` per chunk (round-robin over
    ``channels`` choices), a `KeepAlive` after every third chunk, `Usage`, a `Finish` per
    choice, then `Completed` (or `Failed` with a `ProviderStreamError` when ``fail``).

    Deterministic: the same chunks give equal events (no clock readings in the response)."""
    events: list[Any] = [Start(source=_LABEL, model="law-model")]
    for k, chunk in enumerate(chunks):
        events.append(TextDelta(text=chunk, source=_LABEL, choice=k % channels))
        if k % 3 == 2:
            events.append(KeepAlive(source=_LABEL))
    usage = Usage(source=_LABEL, input_tokens=3, output_tokens=len(chunks))
    events.append(usage)
    texts = {c: t for c, t in _expected_texts(chunks, channels).items() if t}
    if fail:
        partial = Response(
            source=_LABEL, model="law-model", texts=texts, usage=usage, chunks=len(chunks)
        )
        error = ProviderStreamError(_BOOM, error_type="law", partial=partial)
        events.append(Failed(error=error, partial=partial, source=_LABEL))
    else:
        stops: dict[int, str | None] = {}
        for choice in range(channels):
            events.append(Finish(reason="stop", source=_LABEL, choice=choice))
            stops[choice] = "stop"
        response = Response(
            source=_LABEL,
            model="law-model",
            texts=texts,
            usage=usage,
            stop_reasons=stops,
            chunks=len(chunks),
        )
        events.append(Completed(response=response, source=_LABEL))
    return events


def _expected_texts(chunks: Sequence[str], channels: int) -> dict[int, str]:
    out: dict[int, list[str]] = {c: [] for c in range(channels)}
    for k, chunk in enumerate(chunks):
        out[k % channels].append(chunk)
    return {c: "".join(parts) for c, parts in out.items()}


def _texts_by_choice(values: Sequence[Any]) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for value in values:
        if getattr(value, "kind", None) == "text":
            out.setdefault(value.choice, []).append(value.text)
    return {c: "".join(parts) for c, parts in out.items()}


def _run(
    make: OperatorFactory,
    chunks: Sequence[str],
    shape: Shape,
    gaps: Sequence[int] | int,
    *,
    channels: int = 1,
    error: Exception | None = None,
    fail: bool = False,
    complete: bool = True,
    disposed: float | None = None,
) -> VirtualRun:
    items: list[Any] = (
        list(chunks) if shape == "text" else event_input(chunks, channels=channels, fail=fail)
    )
    if error is not None and shape == "events":
        items = items[:-1]  # an event stream that errors has no terminal event
    gap = gaps if isinstance(gaps, int) or gaps else 10
    notes = messages(items, gap=gap, error=error, complete=complete)
    return run_virtual(make, notes, disposed=disposed)


def _check_text(
    run: VirtualRun,
    chunks: Sequence[str],
    shape: Shape,
    channels: int,
    extract: Extract | None,
    what: str,
) -> None:
    values = run.values
    if extract is not None:
        got = extract(values)
        want = "".join(chunks)
        assert got == want, f"{what}: output text {got!r} != input text {want!r}"
        return
    if shape == "text":
        got = output_text(values)
        want = "".join(chunks)
        assert got == want, f"{what}: output text {got!r} != input text {want!r}"
        return
    got_by = _texts_by_choice(values)
    for choice, want in _expected_texts(chunks, channels).items():
        got = got_by.get(choice, "")
        assert got == want, f"{what}: choice {choice}: output {got!r} != input {want!r}"


def check_lossless(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    shape: Shape = "text",
    gaps: Sequence[int] | int = 10,
    channels: int = 1,
    extract: Extract | None = None,
) -> None:
    """Joined output text == joined input text (per choice on event streams): nothing lost,
    nothing duplicated, nothing reordered."""
    run = _run(make, chunks, shape, gaps, channels=channels)
    _check_text(run, chunks, shape, channels, extract, "lossless")


def check_no_empty_chunks(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    shape: Shape = "text",
    gaps: Sequence[int] | int = 10,
    channels: int = 1,
) -> None:
    """No ``""`` chunk and no `TextDelta` with empty text is ever emitted."""
    run = _run(make, chunks, shape, gaps, channels=channels)
    for tick, value in zip(run.ticks, run.values, strict=True):
        if isinstance(value, str):
            assert value, f"no empty chunks: empty str emitted at tick {tick}"
        elif getattr(value, "kind", None) == "text":
            assert value.text, f"no empty chunks: empty TextDelta emitted at tick {tick}"


def check_order(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    gaps: Sequence[int] | int = 10,
    channels: int = 2,
) -> None:
    """On an event stream, events other than text (and other than any the operator adds)
    keep their order, and each choice's text keeps its order."""
    run = _run(make, chunks, "events", gaps, channels=channels)
    want = [e for e in event_input(chunks, channels=channels) if e.kind != "text"]
    kinds = {type(e) for e in want}
    got = [v for v in run.values if type(v) in kinds]
    assert got == want, f"order: other events came out as {got!r}, expected {want!r}"
    _check_text(run, chunks, "events", channels, None, "order")


def check_flush_on_error(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    shape: Shape = "text",
    gaps: Sequence[int] | int = 10,
    extract: Extract | None = None,
) -> None:
    """All text is out before the end, on completion and on failure; an error is passed on
    (the same exception); a `Failed` event passes through with its error."""
    for ending in ("completed", "error", "failed"):
        if ending == "failed" and shape == "text":
            continue
        error = RuntimeError("law: upstream error") if ending == "error" else None
        run = _run(make, chunks, shape, gaps, error=error, fail=ending == "failed")
        ends = run.ends
        assert ends, f"flush ({ending}): the stream never ended"
        last = run.messages[-1].value
        assert isinstance(last, OnCompleted | OnError), f"flush ({ending}): items after the end"
        before = [
            m.value.value
            for m in run.messages
            if isinstance(m.value, OnNext) and getattr(m.value.value, "kind", "") != "failed"
        ]
        if extract is not None:
            assert extract(before) == "".join(chunks), f"flush ({ending}): text lost at the end"
        else:
            joined = output_text(before)
            assert joined == "".join(chunks), (
                f"flush ({ending}): {joined!r} came out before the end, "
                f"expected {''.join(chunks)!r}"
            )
        if ending == "error":
            assert run.error is error, f"flush (error): ended with {ends!r}, not the error"
        elif ending == "failed":
            failed = [v for v in run.values if getattr(v, "kind", None) == "failed"]
            assert len(failed) == 1, f"flush (failed): {len(failed)} Failed events"
            assert str(failed[0].error) == str(ProviderStreamError(_BOOM)), (
                "flush (failed): the Failed event lost its error"
            )
            assert run.values[-1] is failed[0], "flush (failed): events after Failed"


def check_one_terminal(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    shape: Shape = "text",
    gaps: Sequence[int] | int = 10,
    fail: bool = False,
) -> None:
    """Exactly one end: text streams end with one ``on_completed``/``on_error`` and nothing
    after; event streams carry exactly one `Completed`/`Failed` (matching the input's), last,
    then ``on_completed``."""
    run = _run(make, chunks, shape, gaps, fail=fail)
    assert len(run.ends) == 1, f"one terminal: {len(run.ends)} ends ({run.ends!r})"
    assert isinstance(run.messages[-1].value, OnCompleted | OnError), "one terminal: not last"
    if shape == "events":
        terminals = [v for v in run.values if getattr(v, "kind", None) in ("completed", "failed")]
        assert len(terminals) == 1, f"one terminal: {len(terminals)} terminal events"
        assert run.values[-1] is terminals[0], "one terminal: events after the terminal event"
        want = "failed" if fail else "completed"
        assert terminals[0].kind == want, f"one terminal: {terminals[0].kind}, not {want}"
        assert run.completed, "one terminal: an event stream must end with on_completed"


def _normal(run: VirtualRun) -> list[tuple[float, str, str]]:
    out: list[tuple[float, str, str]] = []
    for m in run.messages:
        note = m.value
        if isinstance(note, OnNext):
            out.append((m.time, "N", repr(note.value)))
        elif isinstance(note, OnError):
            out.append((m.time, "E", f"{type(note.exception).__name__}: {note.exception}"))
        else:
            out.append((m.time, "C", ""))
    return out


def check_deterministic(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    shape: Shape = "text",
    gaps: Sequence[int] | int = 10,
) -> None:
    """Two runs in virtual time give the same notifications at the same ticks."""
    first = _normal(_run(make, chunks, shape, gaps))
    second = _normal(_run(make, chunks, shape, gaps))
    for a, b in zip(first, second, strict=False):
        assert a == b, f"deterministic: {a!r} in one run, {b!r} in another"
    assert len(first) == len(second), "deterministic: runs sent different numbers of messages"


def check_dispose_propagates(
    make: OperatorFactory,
    chunks: Sequence[str],
    *,
    shape: Shape = "text",
    gaps: Sequence[int] | int = 10,
) -> None:
    """Disposing downstream in the middle of the stream disposes the source at that tick."""
    at = SUBSCRIBED + 15
    run = _run(make, chunks, shape, gaps, complete=False, disposed=at)
    subs = run.subscriptions
    assert subs, "dispose: the operator never subscribed to its source"
    assert all(s.unsubscribe == at for s in subs), (
        f"dispose: source subscriptions {subs!r} were not disposed at tick {at}"
    )


def check_dispose_reaches_every_source(
    combine: Callable[[Sequence[Observable[Any]]], Observable[Any]],
    sources: Sequence[Sequence[Recorded[Any]]],
    *,
    disposed: float,
) -> list[list[Subscription]]:
    """For operators over several streams (`merge_labeled`, `race`, `fallback`, your own):
    disposing the result at tick ``disposed`` leaves no source subscribed after that tick.

    ``combine`` builds the stream from the cold sources (timed notifications, see `messages`),
    subscribed at tick 200. Every subscription of every source must have ended at or before
    ``disposed`` (a loser of a race or a failed attempt of a fallback may end earlier), and at
    least one must have run until ``disposed`` itself (the disposal reached it). Returns each
    source's subscriptions for further checks."""
    sched = TestScheduler()
    cold = [sched.create_cold_observable(list(notes)) for notes in sources]
    sched.start(lambda: combine(cold), disposed=disposed)
    subs = [list(c.subscriptions) for c in cold]
    flat = [s for per in subs for s in per]
    assert flat, "dispose (every source): no source was ever subscribed"
    for k, per in enumerate(subs):
        for s in per:
            assert s.unsubscribe <= disposed, (
                f"dispose (every source): source {k} still subscribed after tick {disposed} ({s!r})"
            )
    assert any(s.unsubscribe == disposed for s in flat), (
        f"dispose (every source): no source was disposed at tick {disposed}: {subs!r}"
    )
    return subs


def assert_stream_laws(
    make: OperatorFactory,
    *,
    shapes: Sequence[Shape] = ("text", "events"),
    extract: Extract | None = None,
    max_examples: int = 60,
    timed: bool = False,
    check_empty: bool = True,
) -> None:
    """Runs every law under hypothesis: random texts (`lionrx.testing.texts`), random
    chunkings (`lionrx.testing.chunkings`), and with ``timed=True`` random gaps between
    chunks. ``extract`` reads the output text for operators whose output is not text chunks
    (then ``check_empty`` applies to ``str`` output only and per-choice checks are skipped)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from lionrx.testing._strategies import chunkings, texts

    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def laws(data: st.DataObject) -> None:
        whole = data.draw(texts(max_size=80), label="text")
        chunks = [c for c in data.draw(chunkings(whole), label="chunks") if c]
        gaps: Sequence[int] | int = (
            data.draw(st.lists(st.integers(1, 30), min_size=1, max_size=6), label="gaps")
            if timed
            else 10
        )
        for shape in shapes:
            check_lossless(make, chunks, shape=shape, gaps=gaps, extract=extract)
            if check_empty:
                check_no_empty_chunks(make, chunks, shape=shape, gaps=gaps)
            check_flush_on_error(make, chunks, shape=shape, gaps=gaps, extract=extract)
            check_one_terminal(make, chunks, shape=shape, gaps=gaps)
            check_deterministic(make, chunks, shape=shape, gaps=gaps)
            if chunks:
                check_dispose_propagates(make, chunks, shape=shape, gaps=gaps)
            if shape == "events":
                check_one_terminal(make, chunks, shape=shape, gaps=gaps, fail=True)
                if extract is None:
                    check_order(make, chunks, gaps=gaps)

    laws()
