"""iModel as the lionpride notebook uses it, against the fake provider server."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from lionrx._errors import error_to_dict
from lionrx.errors import AuthenticationError, ConfigurationError
from lionrx.services import Calling, EventStatus, iModel
from lionrx.testing import ErrorReply, FakeProviderServer, Recording, Script

MESSAGES = [{"role": "user", "content": "Write a haiku about coding"}]


async def _events(model: iModel, **kw: Any) -> list[Any]:
    out: list[Any] = []
    done = asyncio.get_running_loop().create_future()
    threads = set()

    def on_next(event: Any) -> None:
        threads.add(threading.get_ident())
        out.append(event)

    model.stream(messages=MESSAGES, **kw).subscribe(
        on_next, done.set_exception, lambda: done.set_result(None)
    )
    await done
    assert threads <= {threading.get_ident()}
    return out


def test_config_and_name() -> None:
    model = iModel(provider="openai", model="gpt-4o-mini", temperature=0.7)
    assert model.name == "openai/gpt-4o-mini"
    assert model.backend.config.model == "gpt-4o-mini"
    assert model.backend.config.request_defaults == {"temperature": 0.7}
    assert model.backend.config.endpoint == "chat/completions"
    named = iModel(provider="openai", model="gpt-4o-mini", temperature=0.7, name="gpt")
    assert named.name == "gpt"


def test_anthropic_as_the_notebook_writes_it() -> None:
    model = iModel(
        provider="anthropic",
        endpoint="messages",
        model="claude-3-5-sonnet-20241022",
        temperature=0.7,
    )
    assert model.backend.config.model == "claude-3-5-sonnet-20241022"
    assert model.backend.config.base_url == "https://api.anthropic.com"


@pytest.mark.parametrize(
    ("provider", "kwargs", "match"),
    [
        ("anthropic", {"temperature": 1.5}, "temperature"),
        ("anthropic", {"top_p": -0.1}, "top_p"),
        ("anthropic", {"max_tokens": 0}, "max_tokens"),
        ("openai", {"temperature": 2.5}, "temperature"),
        ("openai", {"n": 0}, "n="),
    ],
)
def test_out_of_range_parameters_are_rejected_up_front(
    provider: str, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        iModel(provider=provider, model="m", **kwargs)


def test_unknown_provider() -> None:
    with pytest.raises(ConfigurationError, match="unknown provider"):
        iModel(provider="nope", model="m")


async def test_out_of_range_override_fails_before_any_request(
    fake_server: FakeProviderServer,
) -> None:
    async with iModel(provider="anthropic", model="m", base_url=fake_server.url) as model:
        calling = await model.invoke(messages=MESSAGES, temperature=3)
        assert isinstance(calling.execution.error, ConfigurationError)
        with pytest.raises(ConfigurationError):
            async for _ in model.invoke_stream(messages=MESSAGES, temperature=3):
                pass
    assert fake_server.requests == []


async def test_invoke_stream_yields_text(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="Code flows like water, bugs hide in the stream."))
    async with iModel(
        provider="openai",
        model="gpt-4o-mini",
        temperature=0.7,
        base_url=fake_server.openai_base_url,
    ) as model:
        chunks = [c async for c in model.invoke_stream(model="gpt-4o-mini", messages=MESSAGES)]
    assert all(isinstance(c, str) and c for c in chunks)
    assert len(chunks) > 3
    assert "".join(chunks) == "Code flows like water, bugs hide in the stream."
    assert not any("data:" in c for c in chunks)
    body = fake_server.last_request.json
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.7
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert fake_server.last_request.path == "/v1/chat/completions"


async def test_invoke_returns_a_calling(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="Two paragraphs.", usage=(12, 3)))
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(model="m", messages=MESSAGES)
    assert isinstance(calling, Calling)
    assert calling.execution.status is EventStatus.COMPLETED
    response = calling.execution.response
    data = calling.execution.response.data if calling.execution.response else ""
    assert data == "Two paragraphs."
    assert response is not None and response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 3)
    assert response.stop_reason == "stop"
    assert response.time_to_first_text is not None and response.total_time is not None
    assert calling.execution.duration is not None and calling.execution.duration > 0
    assert calling.execution.error is None
    assert calling.raise_for_status() is calling


async def test_a_failed_invoke_does_not_raise(fake_server: FakeProviderServer) -> None:
    fake_server.queue(ErrorReply(401, {"error": {"message": "invalid x-api-key"}}))
    async with iModel(
        provider="anthropic", model="m", base_url=fake_server.url, max_retries=0
    ) as model:
        calling = await model.invoke(messages=MESSAGES)
    assert calling.execution.status is EventStatus.FAILED
    assert calling.execution.response is None
    assert isinstance(calling.execution.error, AuthenticationError)
    data = calling.execution.response.data if calling.execution.response else ""
    assert data == ""
    with pytest.raises(AuthenticationError):
        calling.raise_for_status()


async def test_stream_has_one_terminal_and_labels(fake_server: FakeProviderServer) -> None:
    async with iModel(
        provider="openai", model="m", name="gpt", base_url=fake_server.openai_base_url
    ) as model:
        events = await _events(model)
        again = await _events(model)  # cold: a second subscription is a second request
    assert len(fake_server.requests) == 2
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "completed"
    assert sum(k in ("completed", "failed") for k in kinds) == 1
    assert {e.source for e in events} == {"gpt"}
    assert events[-1].response.text == "".join(e.text for e in events if e.kind == "text")
    assert [e.kind for e in again] == kinds


async def test_failure_is_a_value_in_the_stream(fake_server: FakeProviderServer) -> None:
    fake_server.queue(ErrorReply(400, {"error": {"message": "bad"}}))
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        events = await _events(model)
    assert [e.kind for e in events] == ["failed"]
    assert events[0].partial.text == ""


async def test_n_choices_invoke_stream_is_choice_zero(fake_server: FakeProviderServer) -> None:
    from pathlib import Path

    streams = Path(__file__).resolve().parent.parent / "fixtures" / "streams"
    fake_server.queue(Recording(streams / "openai_chat_n3_usage.sse"))
    fake_server.queue(Recording(streams / "openai_chat_n3_usage.sse"))
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        text = "".join([c async for c in model.invoke_stream(messages=MESSAGES, n=3)])
        response = (await model.invoke(messages=MESSAGES, n=3)).raise_for_status().response
    assert response is not None and text == response.texts[0]
    assert len(response.texts) == 3


async def test_anthropic_request_shape(fake_server: FakeProviderServer) -> None:
    async with iModel(
        provider="anthropic",
        endpoint="messages",
        model="claude-3-5-haiku-20241022",
        temperature=0.7,
        base_url=fake_server.anthropic_base_url,
        api_key="sk-ant-api03-secret-abcdefgh",
    ) as model:
        chunks = [
            c
            async for c in model.invoke_stream(
                model="claude-3-5-haiku-20241022",
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "hi"},
                ],
            )
        ]
    assert "".join(chunks) == "Hello from the lionrx fake provider server."
    request = fake_server.last_request
    assert request.path == "/v1/messages"
    assert request.json["system"] == "Be brief."
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]
    assert request.json["max_tokens"] == 1024
    assert request.json["temperature"] == 0.7
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["x-api-key"] == "REDACTED"  # sent (and redacted by the server)


async def test_ollama_request_shape(fake_server: FakeProviderServer) -> None:
    async with iModel(
        provider="ollama", model="llama3.2", temperature=0.2, base_url=fake_server.url
    ) as model:
        text = "".join([c async for c in model.invoke_stream(messages=MESSAGES)])
    assert text == "Hello from the lionrx fake provider server."
    request = fake_server.last_request
    assert request.path == "/api/chat"
    assert request.json["options"] == {"temperature": 0.2}


async def test_base_urls_and_keys_from_the_environment(
    fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.anthropic_base_url)
    monkeypatch.setenv("OLLAMA_HOST", fake_server.url.removeprefix("http://"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-openai-key-123456")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env-key-123456")
    models = [
        iModel(provider="openai", model="gpt-4o-mini", temperature=0.7, name="gpt"),
        iModel(provider="anthropic", endpoint="messages", model="c", name="claude"),
        iModel(provider="ollama", model="llama3.2", name="llama"),
    ]
    try:

        async def one(model: iModel) -> str:
            return "".join(
                [
                    c
                    async for c in model.invoke_stream(
                        model=model.backend.config.model, messages=MESSAGES
                    )
                ]
            )

        results = await asyncio.gather(*(one(m) for m in models))
    finally:
        for model in models:
            await model.aclose()
    assert results == ["Hello from the lionrx fake provider server."] * 3
    paths = sorted(r.path for r in fake_server.requests)
    assert paths == ["/api/chat", "/v1/chat/completions", "/v1/messages"]
    by_path = {r.path: r.headers for r in fake_server.requests}
    assert by_path["/v1/chat/completions"]["authorization"] == "REDACTED"
    assert by_path["/v1/messages"]["x-api-key"] == "REDACTED"


async def test_a_missing_key_for_the_real_api_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with iModel(provider="openai", model="gpt-4o-mini") as model:
        calling = await model.invoke(messages=MESSAGES)
    assert isinstance(calling.execution.error, ConfigurationError)
    assert "OPENAI_API_KEY" in str(calling.execution.error)


async def test_secrets_never_show(fake_server: FakeProviderServer) -> None:
    key = "sk-proj-verysecretkey-0123456789"
    fake_server.queue(
        ErrorReply(401, {"error": {"message": f"Incorrect API key provided: {key}."}})
    )
    async with iModel(
        provider="openai", model="m", api_key=key, base_url=fake_server.openai_base_url
    ) as model:
        calling = await model.invoke(messages=MESSAGES)
        shown = [
            repr(model),
            str(model.backend),
            repr(model.backend.config),
            str(model.backend.config),
            model.backend.config.model_dump_json(),
            repr(calling),
            str(calling.execution.error),
            repr(calling.execution.error),
            str(error_to_dict(calling.execution.error)),  # type: ignore[arg-type]
            str(calling.execution.error.body),  # type: ignore[union-attr]
        ]
    for text in shown:
        assert key not in text
    assert model.backend.config.api_key is not None
    assert model.backend.config.api_key.get_secret_value() == key


async def test_messages_as_a_string(fake_server: FakeProviderServer) -> None:
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        (await model.invoke(messages="hello")).raise_for_status()
    assert fake_server.last_request.json["messages"] == [{"role": "user", "content": "hello"}]


async def test_lionrx_messages_are_accepted(fake_server: FakeProviderServer) -> None:
    from lionrx.session.messages import InstructionContent, Message

    message = Message(content=InstructionContent(instruction="Tell me a joke"))
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        (await model.invoke(messages=[message])).raise_for_status()
    sent = fake_server.last_request.json["messages"]
    assert sent == [message.to_chat()] and sent[0]["role"] == "user"


async def test_bad_messages_are_a_clear_error(fake_server: FakeProviderServer) -> None:
    async with iModel(provider="openai", model="m", base_url=fake_server.openai_base_url) as model:
        calling = await model.invoke(messages=[42])
    assert isinstance(calling.execution.error, ConfigurationError)
    assert "role" in str(calling.execution.error)
    assert fake_server.requests == []
