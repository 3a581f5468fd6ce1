"""``base_url`` means what it means in each official client."""

from __future__ import annotations

import pytest

from lionrx.errors import ConfigurationError
from lionrx.services import iModel
from lionrx.testing import FakeProviderServer, Script

# OLLAMA_HOST as the official ``ollama`` client parses it (its ``_parse_host``).
OLLAMA_HOSTS = [
    ("localhost", "http://localhost:11434"),
    ("127.0.0.1:11434", "http://127.0.0.1:11434"),
    ("0.0.0.0", "http://0.0.0.0:11434"),
    (":8080", "http://127.0.0.1:8080"),
    ("http://localhost", "http://localhost:80"),
    ("https://ollama.example.com", "https://ollama.example.com:443"),
    ("http://example.com:56789/path/", "http://example.com:56789/path"),
    ("[::1]:5000", "http://[::1]:5000"),
]


@pytest.mark.parametrize(("host", "url"), OLLAMA_HOSTS)
def test_ollama_host_is_read_like_the_official_client(
    host: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert iModel(provider="ollama", model="m").config.base_url == url
    monkeypatch.delenv("OLLAMA_HOST")
    assert iModel(provider="ollama", model="m", base_url=host).config.base_url == url


def test_an_invalid_ollama_port_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid ollama host"):
        iModel(provider="ollama", model="m", base_url="localhost:notaport")


async def test_ollama_host_without_a_port_reaches_the_server(
    fake_server: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.queue(Script(text="from env"))
    monkeypatch.setenv("OLLAMA_HOST", f":{fake_server.port}")  # host defaults to 127.0.0.1
    async with iModel(provider="ollama", model="llama3.2") as model:
        text = "".join([c async for c in model.invoke_stream(messages="hi")])
    assert text == "from env"
    assert fake_server.last_request.path == "/api/chat"


@pytest.mark.parametrize(
    ("provider", "base_url", "path"),
    [
        ("openai", "http://127.0.0.1:{port}/v1", "/v1/chat/completions"),
        ("openai", "http://127.0.0.1:{port}/v1/", "/v1/chat/completions"),
        ("anthropic", "http://127.0.0.1:{port}", "/v1/messages"),
        ("anthropic", "http://127.0.0.1:{port}/", "/v1/messages"),
        ("ollama", "http://127.0.0.1:{port}", "/api/chat"),
    ],
)
async def test_each_provider_appends_its_path(
    fake_server: FakeProviderServer, provider: str, base_url: str, path: str
) -> None:
    fake_server.queue(Script(text="ok"))
    url = base_url.format(port=fake_server.port)
    async with iModel(provider=provider, model="m", base_url=url) as model:
        calling = await model.invoke(messages="hi")
    assert calling.raise_for_status().execution.response is not None
    assert fake_server.last_request.path == path


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize(
    "url", ["notaurl", "ftp://host/v1", "http://", "http://[bad", "http://h:x"]
)
def test_a_base_url_that_cannot_work_is_refused_up_front(provider: str, url: str) -> None:
    # Before: each went out, failed as a retried "connection error" after the backoff waits.
    with pytest.raises(ConfigurationError, match="is not an http\\(s\\) URL"):
        iModel(provider=provider, model="m", base_url=url)
