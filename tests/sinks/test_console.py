"""The console sink on pipes (no terminal): plain text as it arrives, never an escape code."""

from __future__ import annotations

import asyncio
import io
import re
import sys
import textwrap

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex.subject import Subject

from lionrx.errors import ConfigurationError, RateLimitError
from lionrx.events import Response, Usage
from lionrx.operators import merge_labeled
from lionrx.services import iModel
from lionrx.sinks import console, tee
from lionrx.sinks._stats import format_stats
from lionrx.testing import ErrorReply, FakeProviderServer, Script
from lionrx.testing._strategies import chunkings, texts

TEXT = (
    "Streams arrive in pieces. Dr. Smith said so, e.g. at 3.14 p.m. yesterday! "
    "Did you know?\n\n# A heading\n\n```py\nprint('x. y. z.')\n```\n\nThe end."
)


class Pipe(io.StringIO):
    """A text stream that records every write and flush, like a pipe (not a TTY)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.flushes = 0

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)

    def flush(self) -> None:
        self.flushes += 1

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("mode", ["raw", "sentence", "markdown"])
async def test_real_stream_to_a_pipe_is_the_plain_answer(
    server: FakeProviderServer, model: iModel, mode: str
) -> None:
    server.queue(Script(text=TEXT, chunk_size=4, delay=0.001))
    out = Pipe()
    response = await console(model.stream("hi"), mode=mode, stream=out)  # type: ignore[arg-type]
    assert response.text == TEXT
    assert out.getvalue() == TEXT + "\n"
    assert "\x1b" not in out.getvalue()
    assert out.flushes >= len(out.writes)
    if mode == "raw":
        assert out.writes[:-1] == Script(text=TEXT, chunk_size=4).text_chunks()
    if mode == "sentence":
        assert out.writes[0] == "Streams arrive in pieces. "
        assert out.writes[1] == "Dr. Smith said so, e.g. at 3.14 p.m. yesterday! "


async def test_text_is_written_the_moment_it_arrives() -> None:
    subject: Subject[str] = Subject()
    out = Pipe()
    handle = console(subject, stream=out)
    subject.on_next("Hel")
    assert out.getvalue() == "Hel" and out.flushes == 1
    subject.on_next("lo")
    assert out.getvalue() == "Hello"
    subject.on_completed()
    await handle
    assert out.getvalue() == "Hello\n"


async def test_stats_line(server: FakeProviderServer, model: iModel) -> None:
    server.queue(Script(text="one two three four", usage=(3, 4), delay=0.01))
    out = Pipe()
    response = await console(model.stream("hi"), stats=True, stream=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "one two three four"
    assert re.fullmatch(
        r"📊 Stats: 4 chunks \| first chunk \d+\.\d\ds \| total \d+\.\d\ds \| \d+\.\d tokens/s",
        lines[1],
    ), lines[1]
    assert response.usage is not None and response.usage.output_tokens == 4


def test_stats_without_usage_are_marked_approximate() -> None:
    response = Response(texts={0: "x" * 40}, chunks=4, time_to_first_text=0.5, total_time=1.5)
    assert format_stats(response) == (
        "📊 Stats: 4 chunks | first chunk 0.50s | total 1.50s | ~10.0 tokens/s"
    )
    exact = response.model_copy(update={"usage": Usage(output_tokens=20)})
    assert format_stats(exact, "gpt").endswith("| 20.0 tokens/s")
    assert format_stats(exact, "gpt").startswith("[gpt] 📊")


async def test_failure_is_one_plain_line_and_the_handle_raises(
    server: FakeProviderServer,
) -> None:
    server.queue(ErrorReply(status=429, body={"error": {"message": "slow down"}}))
    out = Pipe()
    async with iModel(
        provider="openai", model="m", base_url=server.openai_base_url, max_retries=0
    ) as model:
        with pytest.raises(RateLimitError, match="slow down"):
            await console(model.stream("hi"), stream=out)
    assert re.fullmatch(r"✗ RateLimitError: .*slow down.* \(0 characters kept\)\n", out.getvalue())


async def test_merged_streams_get_labelled_lines(server: FakeProviderServer) -> None:
    server.queue(
        Script(text="alpha beta gamma delta", delay=0.02),
        Script(text="one two\nthree four", delay=0.02, first_delay=0.01),
    )
    async with (
        iModel(provider="openai", model="a", name="gpt", base_url=server.openai_base_url) as a,
        iModel(provider="openai", model="b", name="claude", base_url=server.openai_base_url) as b,
    ):
        out = Pipe()
        merged = merge_labeled({"gpt": a.stream("hi"), "claude": b.stream("hi")})
        handle = console(merged, labels="lines", stats=True, stream=out)
        await handle
    assert set(handle.outcomes) == {"gpt", "claude"}
    lines = out.getvalue().splitlines()
    text_of = {"gpt": "", "claude": ""}
    for line in lines:
        label, _, rest = line.partition("] ")
        assert label in ("[gpt", "[claude"), line
        if "📊 Stats" not in rest:
            text_of[label[1:]] += rest
    # Each label's text, its own line breaks aside, is all there and in order.
    assert text_of["gpt"] == "alpha beta gamma delta"
    assert text_of["claude"] == "one twothree four"
    assert sum("📊 Stats" in line for line in lines) == 2
    assert "\x1b" not in out.getvalue()


async def test_progress_dots_then_the_answer(server: FakeProviderServer, model: iModel) -> None:
    words = " ".join(f"w{i}" for i in range(35))
    server.queue(Script(text=words, delay=0.001))
    out = Pipe()
    await console(model.stream("hi"), progress="dots", stream=out)
    assert out.getvalue() == "...\n" + words + "\n"


async def test_progress_line_is_not_drawn_on_a_pipe(
    server: FakeProviderServer, model: iModel
) -> None:
    server.queue(Script(text="a b c d e f", delay=0.001))
    out = Pipe()
    await console(model.stream("hi"), progress="line", stream=out)
    assert out.getvalue() == "a b c d e f\n"


async def test_one_request_for_console_and_file(
    server: FakeProviderServer, model: iModel, tmp_path: object
) -> None:
    from pathlib import Path

    from lionrx.sinks import file

    assert isinstance(tmp_path, Path)
    server.queue(Script(text=TEXT, chunk_size=9, delay=0.001))
    out = Pipe()
    shown, saved = tee(model.stream("hi"), console(stream=out), file(tmp_path / "a.md"))
    await shown
    await saved
    assert len(server.requests) == 1
    assert out.getvalue() == TEXT + "\n"
    assert (tmp_path / "a.md").read_text() == TEXT


async def test_bad_options_are_clear() -> None:
    with pytest.raises(ConfigurationError, match="mode"):
        console(reactivex.empty(), mode="fancy")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="progress"):
        console(reactivex.empty(), progress="bar")  # type: ignore[call-overload]


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from lionrx.services import iModel
    from lionrx.sinks import console

    async def main():
        async with iModel(provider="openai", model="m", base_url=sys.argv[1]) as model:
            await console(model.stream("hi"), mode=sys.argv[2], stats=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("mode", ["raw", "markdown"])
async def test_a_real_pipe_gets_no_escape_codes(server: FakeProviderServer, mode: str) -> None:
    server.queue(Script(text=TEXT, chunk_size=5, delay=0.001))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        server.openai_base_url,
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    output = stdout.decode()
    assert b"\x1b" not in stdout
    assert output.startswith(TEXT + "\n📊 Stats: ")


@settings(max_examples=60, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["raw", "sentence", "markdown"]))
async def test_pipe_output_is_lossless_under_any_chunking(data: st.DataObject, mode: str) -> None:
    text = data.draw(texts(min_size=1, max_size=120))
    pieces = data.draw(chunkings(text))
    out = Pipe()
    response = await console(reactivex.from_iterable(pieces), mode=mode, stream=out)  # type: ignore[arg-type]
    assert response.text == text
    assert out.getvalue() == text + ("" if text.endswith("\n") else "\n")
    assert out.getvalue().count("\x1b") == text.count("\x1b")  # none of our own


async def test_cancelling_the_waiting_task_closes_the_connection(
    server: FakeProviderServer, model: iModel
) -> None:
    server.queue(Script(text="word " * 200, delay=0.01))
    out = Pipe()
    handle = console(model.stream("hi"), stream=out)
    task = asyncio.ensure_future(handle.wait())
    while len(out.getvalue()) < 20:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if server.disconnects:
            break
        await asyncio.sleep(0.01)
    assert server.disconnects == 1
    assert re.search(r"\n■ stopped \(\d+ characters kept\)\n$", out.getvalue())
