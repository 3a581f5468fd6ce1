"""Ollama's native ``/api/chat``: newline-delimited JSON, one object per line.

`OllamaMapper` maps ``message.content`` / ``message.thinking`` deltas, whole tool calls with
object-valued arguments (serialised to JSON text), the final ``done: true`` line (stop reason and
token counts) and the bare ``{"error": ...}`` line.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from lionrx._errors import ConfigurationError, ProviderStreamError
from lionrx._events import (
    Event,
    Finish,
    ReasoningDelta,
    Start,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from lionrx._json import loads
from lionrx._transport import Decoder
from lionrx.providers._base import register_provider
from lionrx.providers._http import (
    BodyMapper,
    HTTPProvider,
    Mapper,
    cut_off,
    env_or,
    items_of,
    parse_json_item,
)

__all__ = ["OllamaMapper", "OllamaProvider"]


class OllamaMapper:
    """NDJSON objects → events (one instance per response)."""

    __slots__ = ("done", "source", "_provider", "_started", "_tools")

    def __init__(self, source: str | None = None, provider: str = "ollama") -> None:
        self.done = False
        self.source = source
        self._provider = provider
        self._started = False
        self._tools = 0

    def feed(self, item: Any) -> list[Event]:
        if isinstance(item, str | bytes):
            item = parse_json_item(item, self._provider, loads)
        return self.line(item)

    def line(self, obj: Any) -> list[Event]:
        """Events for one parsed line."""
        if not isinstance(obj, dict):
            return []
        error = obj.get("error")
        if error:
            raise ProviderStreamError(
                str(error) if not isinstance(error, dict) else str(error.get("message", error)),
                provider=self._provider,
            )
        source = self.source
        out: list[Event] = []
        if not self._started:
            self._started = True
            out.append(Start.model_construct(source=source, model=obj.get("model")))
        message = obj.get("message") or {}
        thinking = message.get("thinking") or obj.get("thinking")
        if thinking:
            out.append(ReasoningDelta.model_construct(source=source, text=thinking))
        # ``response`` is /api/generate's name for the same delta.
        content = message.get("content") or obj.get("response")
        if content:
            out.append(TextDelta.model_construct(source=source, text=content))
        for call in items_of(message.get("tool_calls")):
            function = call.get("function") or {}
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(
                    arguments if arguments is not None else {}, ensure_ascii=False
                )
            out.append(
                ToolCallDelta.model_construct(
                    source=source,
                    index=self._tools,
                    id=call.get("id"),
                    name=function.get("name"),
                    arguments_fragment=arguments,
                )
            )
            self._tools += 1
        if obj.get("done"):
            self.done = True
            out.append(
                Usage.model_construct(
                    source=source,
                    input_tokens=obj.get("prompt_eval_count"),
                    output_tokens=obj.get("eval_count"),
                )
            )
            out.append(Finish.model_construct(source=source, reason=obj.get("done_reason")))
        return out

    def body(self, obj: Any) -> list[Event]:
        """Events for a whole non-streaming answer (one object, implicitly done)."""
        if isinstance(obj, dict):
            obj.setdefault("done", True)
        return self.line(obj)

    def end(self) -> list[Event]:
        if not self.done:
            raise cut_off(self._provider, '"done": true')
        return []


_DATA_URL_PREFIX = "data:"


def _ollama_message(message: dict[str, Any], provider: str) -> dict[str, Any]:
    """One message in Ollama's shape: ``content`` a string, images as base64 in ``images``,
    tool-call ``arguments`` an object (an OpenAI-shaped chat has parts and JSON text there)."""
    content = message.get("content")
    calls = message.get("tool_calls")
    string_args = isinstance(calls, list) and any(
        isinstance(c, dict) and isinstance((c.get("function") or {}).get("arguments"), str)
        for c in calls
    )
    if not isinstance(content, list) and not string_args:
        return message
    out = dict(message)
    if isinstance(content, list):
        texts: list[str] = []
        images = list(out.get("images") or [])
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                texts.append(str(part.get("text") or ""))
            elif kind == "image_url":
                url = str((part.get("image_url") or {}).get("url", ""))
                head, comma, data = url.partition(",")
                if not (url.startswith(_DATA_URL_PREFIX) and comma and head.endswith(";base64")):
                    raise ConfigurationError(
                        "ollama takes images as base64 data (data:image/...;base64,...), "
                        f"not {url[:60]!r}",
                        provider=provider,
                    )
                images.append(data)
            else:
                raise ConfigurationError(
                    f"ollama cannot take a {kind!r} content part", provider=provider
                )
        out["content"] = "".join(texts)
        if images:
            out["images"] = images
    if string_args:
        out["tool_calls"] = [_object_arguments(call) for call in calls or ()]
    return out


def _object_arguments(call: Any) -> Any:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return call
    arguments: str = function["arguments"]
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        parsed = {"_raw_arguments": arguments}  # a cut-off call: keep its text, do not fail
    return {**call, "function": {**function, "arguments": parsed}}


def _ollama_messages(messages: list[dict[str, Any]], provider: str) -> list[dict[str, Any]]:
    """``messages`` in Ollama's shape; a chat written for OpenAI is converted, one already in
    Ollama's shape is sent unchanged."""
    return [_ollama_message(message, provider) for message in messages]


def _parse_host(host: str) -> str:
    """``base_url`` / ``OLLAMA_HOST`` read as the official ``ollama`` client reads it: the
    scheme defaults to http, the port to 11434 when no scheme is given (else the scheme's own),
    the host to 127.0.0.1 (``localhost``, ``:8080``, ``0.0.0.0:11434`` all work)."""
    from urllib.parse import urlsplit

    scheme, sep, rest = host.strip().partition("://")
    port = 11434
    if not sep:
        scheme, rest = "http", host.strip()
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urlsplit(f"{scheme}://{rest}")
    try:
        port = split.port or port
    except ValueError:
        raise ConfigurationError(f"invalid ollama host {host!r}", provider="ollama") from None
    name = split.hostname or "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"  # IPv6
    path = split.path.strip("/")
    return f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")


@register_provider
class OllamaProvider(HTTPProvider):
    """Ollama's ``/api/chat`` (NDJSON). ``base_url`` (or ``OLLAMA_HOST``) is the server root."""

    name = "ollama"
    api_key_env = ("OLLAMA_API_KEY",)
    default_base_url = "http://127.0.0.1:11434"
    stream_media_types: ClassVar[tuple[str, ...]] = ("application/x-ndjson", "application/json")
    client_options: ClassVar[frozenset[str]] = HTTPProvider.client_options

    @classmethod
    def resolve_base_url(cls, base_url: str | None) -> str:
        return _parse_host(env_or(base_url, "OLLAMA_HOST") or cls.default_base_url)

    @classmethod
    def default_endpoint(cls) -> str:
        return "chat"

    def build_request(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        endpoint = (self.config.endpoint or "chat").strip("/")
        if endpoint not in ("chat", "api/chat"):
            raise ConfigurationError(
                f"endpoint {endpoint!r} is not supported by ollama (use 'chat')",
                provider=self.name,
            )
        model = params.pop("model", None) or self.config.model
        if not model:
            raise ConfigurationError("no model given for ollama", provider=self.name)
        body: dict[str, Any] = {"model": model, "messages": _ollama_messages(messages, self.name)}
        # Ollama takes sampling settings under "options"; top-level names are moved there.
        options = dict(params.pop("options", None) or {})
        for key in ("temperature", "top_p", "top_k", "seed", "stop", "num_predict"):
            if key in params:
                options[key] = params.pop(key)
        if "max_tokens" in params:
            options["num_predict"] = params.pop("max_tokens")
        if options:
            body["options"] = options
        body.update(params)
        streaming = body.setdefault("stream", True)
        headers = {"Accept": "application/x-ndjson" if streaming else "application/json"}
        api_key = self.api_key()
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return f"{self.config.base_url}/api/chat", headers, body

    def mapper(self, streaming: bool) -> Mapper:
        inner = OllamaMapper(self.source, self.name)
        return inner if streaming else BodyMapper(inner.body, self.name)

    def stream_decoder(self) -> Decoder:
        from lionrx._ndjson import NDJSONDecoder

        decoder: Decoder = NDJSONDecoder()
        return decoder
