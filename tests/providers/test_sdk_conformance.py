"""Every recorded provider stream, served over a real socket in random network chunkings, gives
lionrx the same text, tool calls, usage and stop reason as the official SDKs on the same bytes."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest
from providers_helpers import STREAMS

from lionrx.errors import OverloadedError, ProviderStreamError
from lionrx.services import EventStatus, iModel
from lionrx.testing import FakeProviderServer, Recording

OPENAI = sorted(p.name for p in STREAMS.glob("openai_chat_*.sse"))
ANTHROPIC = sorted(p.name for p in STREAMS.glob("anthropic_*.sse"))
OLLAMA = sorted(p.name for p in STREAMS.glob("ollama_*.ndjson"))
SEEDS = [0, 1, 2]
MESSAGES = [{"role": "user", "content": "hi"}]


def test_the_corpus_is_there() -> None:
    assert len(OPENAI) >= 10 and len(ANTHROPIC) >= 9 and len(OLLAMA) >= 3


def _chunking(seed: int) -> dict[str, Any]:
    # seed 0 is one write per body; others are random 1..64-byte writes.
    return {"chunk_size": "random", "seed": seed} if seed else {}


async def _openai_reference(server: FakeProviderServer, name: str, seed: int) -> dict[str, Any]:
    server.queue(Recording(STREAMS / name, **_chunking(seed)))
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
    try:
        try:
            async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:  # type: ignore[arg-type]
                completion = await stream.get_final_completion()
        except openai.LengthFinishReasonError as exc:
            completion = exc.completion  # type: ignore[assignment]
    finally:
        await client.close()
    choices = {c.index: c for c in completion.choices}
    first = choices[0].message
    usage = completion.usage
    return {
        "texts": {i: c.message.content or "" for i, c in choices.items()},
        "refusal": first.refusal or "",
        "tools": [
            (t.function.name, json.loads(t.function.arguments)) for t in first.tool_calls or []
        ],
        "usage": None if usage is None else (usage.prompt_tokens, usage.completion_tokens),
        "stop": {i: c.finish_reason for i, c in choices.items()},
        "model": completion.model,
    }


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", OPENAI)
async def test_openai_recordings_match_the_openai_sdk(
    fake_server: FakeProviderServer, name: str, seed: int
) -> None:
    expected = await _openai_reference(fake_server, name, seed)
    fake_server.queue(Recording(STREAMS / name, **_chunking(seed)))
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages=MESSAGES)
    calling.raise_for_status()
    response = calling.execution.response
    assert response is not None
    texts = {i: response.texts.get(i, "") for i in expected["texts"]}
    assert texts == expected["texts"]
    assert response.refusal == expected["refusal"]
    assert [(t.name, t.parsed_arguments) for t in response.tool_calls] == expected["tools"]
    usage = response.usage
    got_usage = None if usage is None else (usage.input_tokens, usage.output_tokens)
    assert got_usage == expected["usage"]
    assert response.stop_reasons == expected["stop"]
    assert response.model == expected["model"]
    assert response.data == expected["texts"][0]


async def _anthropic_reference(
    server: FakeProviderServer, name: str, seed: int
) -> tuple[dict[str, Any], BaseException | None]:
    """Accumulate the SDK's typed raw events (its helper needs usage, which the documentation
    examples leave out)."""
    server.queue(Recording(STREAMS / name, **_chunking(seed)))
    client = anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="sk-ant-test", max_retries=0
    )
    out: dict[str, Any] = {
        "text": "",
        "reasoning": "",
        "signature": None,
        "tools": [],
        "input": None,
        "output": None,
        "stop": None,
        "model": None,
    }
    raw_args: dict[int, list[str]] = {}
    error: BaseException | None = None
    try:
        stream = await client.messages.create(
            model="m",
            max_tokens=100,
            messages=MESSAGES,
            stream=True,  # type: ignore[arg-type]
        )
        async for event in stream:
            if event.type == "message_start":
                out["model"] = event.message.model
                if event.message.usage is not None:
                    out["input"] = event.message.usage.input_tokens
                    out["output"] = event.message.usage.output_tokens
            elif event.type == "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    out["tools"].append([block.name, event.index])
                    raw_args[event.index] = []
            elif event.type == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    out["text"] += delta.text
                elif delta.type == "thinking_delta":
                    out["reasoning"] += delta.thinking
                elif delta.type == "signature_delta":
                    out["signature"] = delta.signature
                elif delta.type == "input_json_delta":
                    raw_args[event.index].append(delta.partial_json)
            elif event.type == "message_delta":
                out["stop"] = event.delta.stop_reason
                if event.usage is not None and event.usage.output_tokens is not None:
                    out["output"] = event.usage.output_tokens
    except anthropic.APIStatusError as exc:
        error = exc
    finally:
        await client.close()
    tools = []
    for tool_name, index in out["tools"]:
        text = "".join(raw_args[index])
        try:
            args: Any = json.loads(text) if text.strip() else {}
        except ValueError:
            args = "incomplete"
        tools.append((tool_name, args))
    out["tools"] = tools
    return out, error


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ANTHROPIC)
async def test_anthropic_recordings_match_the_anthropic_sdk(
    fake_server: FakeProviderServer, name: str, seed: int
) -> None:
    expected, sdk_error = await _anthropic_reference(fake_server, name, seed)
    fake_server.queue(Recording(STREAMS / name, **_chunking(seed)))
    async with iModel(
        provider="anthropic",
        endpoint="messages",
        model="m",
        base_url=fake_server.anthropic_base_url,
        api_key="sk-ant-test-key-123456",
    ) as model:
        calling = await model.invoke(messages=MESSAGES)
    if sdk_error is not None:
        # The SDK raises the mid-stream error; lionrx fails the call the same way, partial kept.
        assert calling.execution.status is EventStatus.FAILED
        error = calling.execution.error
        assert isinstance(error, OverloadedError | ProviderStreamError)
        assert "Overloaded" in str(error)
        assert error.partial is not None and error.partial.text == expected["text"]
        assert calling.execution.response is None
        return
    calling.raise_for_status()
    response = calling.execution.response
    assert response is not None
    assert response.text == expected["text"]
    assert response.reasoning == expected["reasoning"]
    assert response.reasoning_signature == expected["signature"]
    got_tools = [
        (t.name, t.parsed_arguments if t.complete else "incomplete") for t in response.tool_calls
    ]
    assert got_tools == expected["tools"]
    usage = response.usage
    got_usage = (None, None) if usage is None else (usage.input_tokens, usage.output_tokens)
    assert got_usage == (expected["input"], expected["output"])
    assert response.stop_reason == expected["stop"]
    assert response.model == expected["model"]


def _ollama_reference(name: str) -> dict[str, Any]:
    """Ollama has no official Python SDK among the dev dependencies: read the lines directly."""
    out: dict[str, Any] = {"text": "", "tools": [], "stop": None, "error": None, "usage": None}
    for line in (STREAMS / name).read_text().splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        if "error" in obj:
            out["error"] = obj["error"]
            break
        message = obj.get("message") or {}
        out["text"] += message.get("content") or obj.get("response") or ""
        for call in message.get("tool_calls") or []:
            out["tools"].append((call["function"]["name"], call["function"]["arguments"]))
        if obj.get("done"):
            out["stop"] = obj.get("done_reason")
            out["usage"] = (obj.get("prompt_eval_count"), obj.get("eval_count"))
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", OLLAMA)
async def test_ollama_recordings(fake_server: FakeProviderServer, name: str, seed: int) -> None:
    expected = _ollama_reference(name)
    fake_server.queue(Recording(STREAMS / name, **_chunking(seed)))
    async with iModel(provider="ollama", model="m", base_url=fake_server.ollama_base_url) as model:
        calling = await model.invoke(messages=MESSAGES)
    if expected["error"] is not None:
        error = calling.execution.error
        assert isinstance(error, ProviderStreamError)
        assert expected["error"] in str(error)
        assert error.partial is not None and error.partial.text == expected["text"]
        return
    calling.raise_for_status()
    response = calling.execution.response
    assert response is not None
    assert response.text == expected["text"]
    assert [(t.name, t.parsed_arguments) for t in response.tool_calls] == expected["tools"]
    assert response.stop_reason == expected["stop"]
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == expected["usage"]


RESPONSES = sorted(p.name for p in STREAMS.glob("openai_responses*.sse"))


async def _responses_reference(
    server: FakeProviderServer, name: str, seed: int
) -> tuple[dict[str, Any], BaseException | None]:
    server.queue(Recording(STREAMS / name, **_chunking(seed)))
    client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
    try:
        async with client.responses.stream(model="m", input="hi") as stream:
            final = await stream.get_final_response()
    except openai.APIError as exc:
        return {}, exc
    finally:
        await client.close()
    tools = [(o.name, json.loads(o.arguments)) for o in final.output if o.type == "function_call"]
    usage = final.usage
    return {
        "text": final.output_text,
        "tools": tools,
        "usage": None if usage is None else (usage.input_tokens, usage.output_tokens),
        "status": final.status,
        "model": final.model,
    }, None


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", RESPONSES)
async def test_responses_api_recordings_match_the_openai_sdk(
    fake_server: FakeProviderServer, name: str, seed: int
) -> None:
    expected, sdk_error = await _responses_reference(fake_server, name, seed)
    fake_server.queue(Recording(STREAMS / name, **_chunking(seed)))
    async with iModel(
        provider="openai", endpoint="responses", model="m", base_url=fake_server.openai_base_url
    ) as model:
        calling = await model.invoke(messages=MESSAGES)
    assert fake_server.last_request.path == "/v1/responses"
    assert fake_server.last_request.json["input"] == MESSAGES
    if sdk_error is not None:
        error = calling.execution.error
        assert isinstance(error, ProviderStreamError)
        assert error.error_type == "rate_limit_exceeded"
        assert str(sdk_error) in str(error)
        return
    response = calling.raise_for_status().execution.response
    assert response is not None
    assert response.text == expected["text"]
    assert [(t.name, t.parsed_arguments) for t in response.tool_calls] == expected["tools"]
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == expected["usage"]
    assert response.stop_reason == expected["status"]
    assert response.model == expected["model"]
