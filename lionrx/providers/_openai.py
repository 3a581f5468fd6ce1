"""OpenAI Chat Completions (and any compatible server: llama.cpp, vLLM, Ollama's ``/v1``).

`OpenAIChatMapper` turns decoded SSE events (or a whole non-streaming body) into lionrx events:
role chunk, content, refusal, tool calls keyed by ``index``, the ``choices: []`` usage chunk,
``finish_reason``, ``[DONE]``, and ``n>1`` choices interleaved.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from lionrx._errors import ConfigurationError, ProviderStreamError
from lionrx._events import (
    Event,
    Finish,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
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
    SSEItems,
    cut_off,
    items_of,
    parse_json_item,
)
from lionrx.providers._openai_responses import ResponsesMapper, responses_body

__all__ = ["OpenAIChatMapper", "OpenAIProvider", "openai_usage"]


def openai_usage(usage: dict[str, Any], source: str | None) -> Usage:
    """A `Usage` event from an OpenAI ``usage`` object."""
    completion = usage.get("completion_tokens_details") or {}
    prompt = usage.get("prompt_tokens_details") or {}
    return Usage.model_construct(
        source=source,
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        reasoning_tokens=completion.get("reasoning_tokens") if completion else None,
        cache_read_tokens=prompt.get("cached_tokens") if prompt else None,
    )


class OpenAIChatMapper:
    """Chat Completions chunks → events. Feed SSE events (``.event``/``.data``) or a body."""

    __slots__ = ("done", "source", "_started", "_finished", "_provider")

    def __init__(self, source: str | None = None, provider: str = "openai") -> None:
        self.done = False
        self.source = source
        self._started = False
        self._finished = False
        self._provider = provider

    def feed(self, item: Any) -> list[Event]:
        data = getattr(item, "data", None)
        if data is None:
            # An SSE comment (keep-alive) surfaces as an item without data.
            return [KeepAlive.model_construct(source=self.source)]
        if data.startswith("[DONE]"):
            self.done = True
            return []
        if getattr(item, "event", "message") not in ("message", "", None):
            # Named events are not part of Chat Completions; ignore them like the SDK.
            return []
        return self.chunk(parse_json_item(data, self._provider, loads))

    def chunk(self, obj: Any) -> list[Event]:
        """Events for one parsed chunk object."""
        if not isinstance(obj, dict):
            return []
        error = obj.get("error")
        if error:
            raise _stream_error(error, self._provider)
        source = self.source
        out: list[Event] = []
        if not self._started:
            self._started = True
            out.append(
                Start.model_construct(
                    source=source, model=obj.get("model"), response_id=obj.get("id")
                )
            )
        for choice in items_of(obj.get("choices")):
            index = choice.get("index", 0) or 0
            delta = choice.get("delta") or choice.get("message") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                out.append(
                    ReasoningDelta.model_construct(source=source, choice=index, text=reasoning)
                )
            content = delta.get("content")
            if content:
                out.append(TextDelta.model_construct(source=source, choice=index, text=content))
            refusal = delta.get("refusal")
            if refusal:
                out.append(RefusalDelta.model_construct(source=source, choice=index, text=refusal))
            for position, call in enumerate(items_of(delta.get("tool_calls"))):
                function = call.get("function") or {}
                arguments = function.get("arguments")
                if arguments is not None and not isinstance(arguments, str):
                    arguments = json.dumps(arguments, ensure_ascii=False)
                out.append(
                    ToolCallDelta.model_construct(
                        source=source,
                        choice=index,
                        index=call.get("index", position),
                        id=call.get("id"),
                        name=function.get("name"),
                        arguments_fragment=arguments or "",
                    )
                )
            reason = choice.get("finish_reason")
            if reason is not None:
                self._finished = True
                out.append(Finish.model_construct(source=source, choice=index, reason=reason))
        usage = obj.get("usage")
        if isinstance(usage, dict):
            out.append(openai_usage(usage, source))
        return out

    def body(self, obj: Any) -> list[Event]:
        """Events for a whole non-streaming ``chat.completion`` body."""
        self.done = True
        return self.chunk(obj)

    def end(self) -> list[Event]:
        # A compatible server may omit [DONE]; a finish reason still marks a complete answer.
        if not self._finished:
            raise cut_off(self._provider, "data: [DONE] or a finish_reason")
        self.done = True
        return []


def _stream_error(error: Any, provider: str) -> ProviderStreamError:
    if isinstance(error, dict):
        message = str(error.get("message") or error)
        etype = error.get("type") or error.get("code")
        return ProviderStreamError(
            message, error_type=str(etype) if etype else None, provider=provider
        )
    return ProviderStreamError(str(error), provider=provider)


_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}


@register_provider
class OpenAIProvider(HTTPProvider):
    """OpenAI Chat Completions over SSE; works with any compatible server via ``base_url``.

    ``base_url`` ends in ``/v1`` (as in the official client); lionrx appends
    ``/chat/completions`` (or ``/responses`` with ``endpoint="responses"``). Usage reporting
    (``stream_options.include_usage``) is on by default.
    """

    name = "openai"
    api_key_env = ("OPENAI_API_KEY",)
    default_base_url = "https://api.openai.com/v1"
    base_url_env = ("OPENAI_BASE_URL",)
    param_ranges = _RANGES
    requires_key_for = ("api.openai.com",)
    client_options: ClassVar[frozenset[str]] = HTTPProvider.client_options | {"include_usage"}

    @classmethod
    def default_endpoint(cls) -> str:
        return "chat/completions"

    def validate_params(self, params: dict[str, Any]) -> None:
        super().validate_params(params)
        n = params.get("n")
        if n is not None and (not isinstance(n, int) or n < 1):
            raise ConfigurationError(f"n={n!r} must be a positive integer", provider=self.name)

    def build_request(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        endpoint = self._endpoint()
        key = self.require_key()
        model = params.pop("model", None) or self.config.model
        if not model:
            raise ConfigurationError("no model given for openai", provider=self.name)
        body: dict[str, Any] = {"model": model}
        if endpoint == "responses":
            body.update(responses_body(messages, params))
        else:
            body["messages"] = messages
            body.update(params)
        streaming = body.setdefault("stream", True)
        if endpoint != "responses" and streaming and self.config.options.get("include_usage", True):
            options = dict(body.get("stream_options") or {})
            options.setdefault("include_usage", True)
            body["stream_options"] = options
        headers = {"Accept": "text/event-stream" if streaming else "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return f"{self.config.base_url}/{endpoint}", headers, body

    def _endpoint(self) -> str:
        endpoint = (self.config.endpoint or "chat/completions").strip("/")
        if endpoint == "chat":
            endpoint = "chat/completions"
        if endpoint not in ("chat/completions", "responses"):
            raise ConfigurationError(
                f"endpoint {endpoint!r} is not supported by {self.name} "
                "(use 'chat/completions' or 'responses')",
                provider=self.name,
            )
        return endpoint

    def mapper(self, streaming: bool) -> Mapper:
        if self._endpoint() == "responses":
            responses = ResponsesMapper(self.source, self.name)
            return responses if streaming else BodyMapper(responses.body, self.name)
        inner = OpenAIChatMapper(self.source, self.name)
        return inner if streaming else BodyMapper(inner.body, self.name)

    def stream_decoder(self) -> Decoder:
        return SSEItems()
