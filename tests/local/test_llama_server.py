"""lionrx's ``openai`` provider against llama.cpp's own OpenAI-compatible server (a real model
behind a real socket), checked against the official ``openai`` SDK on the same server."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI

from lionrx.services import EventStatus, iModel

pytestmark = pytest.mark.local_model

PROMPT = "Name three colors."
SETTINGS = {"temperature": 0.0, "seed": 1234, "max_tokens": 24}


def _model(base_url: str) -> iModel:
    # llama.cpp's server needs no key; the model name is whatever was loaded.
    return iModel(provider="openai", model="smollm2", base_url=base_url, name="llama-server")


async def test_streamed_equals_non_streamed_over_http(llama_server: str) -> None:
    async with _model(llama_server) as model:
        chunks = [c async for c in model.invoke_stream(PROMPT, **SETTINGS)]
        whole = await model.invoke(PROMPT, stream=False, **SETTINGS)
    assert whole.execution.status == EventStatus.COMPLETED, whole.execution.error
    assert whole.execution.response is not None
    assert len(chunks) > 3
    assert "".join(chunks) == whole.execution.response.text
    assert whole.execution.response.usage is not None
    assert whole.execution.response.usage.output_tokens


async def test_same_text_as_the_official_sdk(llama_server: str) -> None:
    client = AsyncOpenAI(base_url=llama_server, api_key="not-needed")
    try:
        stream = await client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            **SETTINGS,  # type: ignore[arg-type]
        )
        sdk_chunks = []
        async for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    sdk_chunks.append(choice.delta.content)
    finally:
        await client.close()
    async with _model(llama_server) as model:
        ours = [c async for c in model.invoke_stream(PROMPT, **SETTINGS)]
    assert "".join(ours) == "".join(sdk_chunks)
    # Same chunking too: lionrx adds no buffering between the socket and the caller.
    assert ours == sdk_chunks


async def test_server_and_in_process_model_agree(llama_server: str, local_model: iModel) -> None:
    # The same GGUF, chat template and greedy settings, in-process and over HTTP.
    async with _model(llama_server) as model:
        remote = await model.invoke(PROMPT, **SETTINGS)
    here = await local_model.invoke(PROMPT, **SETTINGS)
    assert remote.execution.response is not None and here.execution.response is not None
    assert remote.execution.response.text == here.execution.response.text
