"""Lossless under any network chunking: every recording, served in random pieces (down to one
byte), gives through the real iModel exactly the response it gives served whole."""

from __future__ import annotations

from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Wire, make_model, run_to_end

from lionrx.events import Completed, Failed
from lionrx.testing import FakeProviderServer, Fault, Recording

STREAMS = FIXTURES / "streams"
RECORDINGS: list[tuple[str, Wire]] = sorted(
    (p.name, "openai" if p.name.startswith("openai_chat") else p.name.split("_")[0])  # type: ignore[misc]
    for p in STREAMS.iterdir()
    if p.name.startswith(("openai_chat", "anthropic", "ollama"))
)


def summary(outcome: Completed | Failed) -> tuple[object, ...]:
    response = outcome.response if isinstance(outcome, Completed) else outcome.partial
    return (
        type(outcome).__name__,
        type(outcome.error).__name__ if isinstance(outcome, Failed) else None,
        response.texts,
        response.reasoning if hasattr(response, "reasoning") else None,
        response.tool_calls,
        response.usage,
        response.stop_reasons,
    )


async def outcome_of(server: FakeProviderServer, wire: Wire, rec: Recording) -> Completed | Failed:
    server.queue(rec)
    async with make_model(server, wire) as model:
        return (await run_to_end(model.stream("hi"))).check_one_outcome()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    recording=st.sampled_from(RECORDINGS),
    chunking=st.one_of(
        st.integers(1, 64),
        st.just("random"),
        st.lists(st.integers(1, 30), min_size=1, max_size=5).map(tuple),
    ),
    seed=st.integers(0, 10_000),
)
async def test_recordings_give_the_same_response_however_split(
    fake_server: FakeProviderServer,
    recording: tuple[str, Wire],
    chunking: int | str | tuple[int, ...],
    seed: int,
) -> None:
    name, wire = recording
    path = STREAMS / name
    whole = await outcome_of(fake_server, wire, Recording(path))
    if isinstance(chunking, tuple):
        rec = Recording(path, fault=Fault.splitting(*chunking))
    else:
        rec = Recording(path, chunk_size=chunking, seed=seed)  # type: ignore[arg-type]
    split = await outcome_of(fake_server, wire, rec)
    assert summary(split) == summary(whole), name
