"""Anthropic Messages (``endpoint="messages"``) over SSE.

`AnthropicMapper` maps message_start, content_block_start/delta/stop (text, input_json,
thinking, signature, redacted thinking), ping, message_delta and message_stop to events; a
mid-stream ``event: error`` raises, so the core ends the stream `Failed` with the partial text.
The request is built the Anthropic way: system prompt outside the messages, ``max_tokens`` always
set (default 1024), parameters range-checked before anything is sent, and a chat written in
OpenAI's shape (``tool`` results, ``tool_calls``, ``image_url`` parts) converted to content blocks.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lionrx._errors import ConfigurationError, OverloadedError, ProviderStreamError
from lionrx._events import (
    Event,
    Finish,
    KeepAlive,
    ReasoningDelta,
    Start,
    TextDelta,
    ToolCallDelta,
    Usage,
)
from lionrx._json import loads
from lionrx._transport import Decoder, _redact_json
from lionrx.providers._base import register_provider
from lionrx.providers._http import (
    BodyMapper,
    HTTPProvider,
    Mapper,
    SSEItems,
    cut_off,
    parse_json_item,
)

__all__ = ["AnthropicMapper", "AnthropicProvider", "DEFAULT_MAX_TOKENS"]

DEFAULT_MAX_TOKENS = 1024
"""``max_tokens`` sent when none is given (the Messages API requires it)."""


def _usage(usage: dict[str, Any], source: str | None) -> Usage:
    return Usage.model_construct(
        source=source,
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        cache_read_tokens=usage.get("cache_read_input_tokens"),
        cache_write_tokens=usage.get("cache_creation_input_tokens"),
    )


def _error(payload: Any, provider: str) -> Exception:
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return ProviderStreamError(f"{provider} stream error: {payload!r}", provider=provider)
    etype = error.get("type")
    message = str(error.get("message") or etype or "stream error")
    rid = payload.get("request_id") if isinstance(payload, dict) else None
    if etype == "overloaded_error":
        # Same meaning as HTTP 529, although the stream's status was 200.
        return OverloadedError(
            message, status=529, provider=provider, request_id=rid, body=_redact_json(payload)
        )
    return ProviderStreamError(message, error_type=etype, provider=provider, request_id=rid)


class AnthropicMapper:
    """Messages stream events → lionrx events (one instance per response)."""

    __slots__ = ("done", "source", "_provider", "_tools", "_kinds", "_stopped")

    def __init__(self, source: str | None = None, provider: str = "anthropic") -> None:
        self.done = False
        self.source = source
        self._provider = provider
        self._tools: dict[int, int] = {}
        """Content block index → tool-call index (tool calls are numbered 0, 1, ...)."""
        self._kinds: dict[int, str] = {}
        self._stopped = False

    def feed(self, item: Any) -> list[Event]:
        data = getattr(item, "data", None)
        if data is None:
            return [KeepAlive.model_construct(source=self.source)]
        if not data.strip():
            # A data-less block (e.g. ``event: ping`` alone) carries nothing.
            return [KeepAlive.model_construct(source=self.source)] if item.event == "ping" else []
        return self.event(parse_json_item(data, self._provider, loads))

    def event(self, obj: Any) -> list[Event]:
        """Events for one parsed stream event (its ``type`` equals the SSE event name)."""
        if not isinstance(obj, dict):
            return []
        kind = obj.get("type")
        source = self.source
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                text = delta.get("text")
                return [TextDelta.model_construct(source=source, text=text)] if text else []
            if dtype == "input_json_delta":
                block = obj.get("index", 0)
                return [
                    ToolCallDelta.model_construct(
                        source=source,
                        index=self._tool_index(block),
                        arguments_fragment=delta.get("partial_json") or "",
                    )
                ]
            if dtype == "thinking_delta":
                thinking = delta.get("thinking")
                return (
                    [ReasoningDelta.model_construct(source=source, text=thinking)]
                    if thinking
                    else []
                )
            if dtype == "signature_delta":
                return [
                    ReasoningDelta.model_construct(
                        source=source, text="", signature=delta.get("signature")
                    )
                ]
            return []
        if kind == "ping":
            return [KeepAlive.model_construct(source=source)]
        if kind == "content_block_start":
            return self._block_start(obj)
        if kind == "message_start":
            message = obj.get("message") or {}
            out: list[Event] = [
                Start.model_construct(
                    source=source, model=message.get("model"), response_id=message.get("id")
                )
            ]
            usage = message.get("usage")
            if isinstance(usage, dict):
                out.append(_usage(usage, source))
            return out
        if kind == "message_delta":
            out = []
            delta = obj.get("delta") or {}
            reason = delta.get("stop_reason")
            if reason is not None:
                self._stopped = True
                out.append(Finish.model_construct(source=source, reason=reason))
            usage = obj.get("usage")
            if isinstance(usage, dict):
                out.append(_usage(usage, source))
            return out
        if kind == "message_stop":
            self.done = True
            return []
        if kind == "error":
            raise _error(obj, self._provider)
        # content_block_stop and unknown event types carry nothing we map.
        return []

    def _tool_index(self, block: int) -> int:
        index = self._tools.get(block)
        if index is None:
            index = self._tools[block] = len(self._tools)
        return index

    def _block_start(self, obj: dict[str, Any]) -> list[Event]:
        block = obj.get("content_block") or {}
        btype = block.get("type")
        source = self.source
        if btype == "text":
            text = block.get("text")
            return [TextDelta.model_construct(source=source, text=text)] if text else []
        if btype in ("tool_use", "server_tool_use"):
            fragment = ""
            initial = block.get("input")
            if initial:
                import json

                # Inputs are normally streamed as input_json deltas; keep a pre-filled one.
                fragment = json.dumps(initial, ensure_ascii=False)
            return [
                ToolCallDelta.model_construct(
                    source=source,
                    index=self._tool_index(obj.get("index", 0)),
                    id=block.get("id"),
                    name=block.get("name"),
                    arguments_fragment=fragment,
                )
            ]
        if btype == "thinking":
            thinking = block.get("thinking") or ""
            signature = block.get("signature") or None
            if thinking or signature:
                return [
                    ReasoningDelta.model_construct(
                        source=source, text=thinking, signature=signature
                    )
                ]
            return []
        if btype == "redacted_thinking":
            return [ReasoningDelta.model_construct(source=source, text="", redacted=True)]
        return []

    def body(self, obj: Any) -> list[Event]:
        """Events for a whole non-streaming ``message`` body."""
        self.done = True
        if not isinstance(obj, dict):
            return []
        if obj.get("type") == "error":
            raise _error(obj, self._provider)
        source = self.source
        out: list[Event] = [
            Start.model_construct(source=source, model=obj.get("model"), response_id=obj.get("id"))
        ]
        import json

        tools = 0
        for block in obj.get("content") or []:
            btype = block.get("type")
            if btype == "text" and block.get("text"):
                out.append(TextDelta.model_construct(source=source, text=block["text"]))
            elif btype in ("tool_use", "server_tool_use"):
                out.append(
                    ToolCallDelta.model_construct(
                        source=source,
                        index=tools,
                        id=block.get("id"),
                        name=block.get("name"),
                        arguments_fragment=json.dumps(block.get("input") or {}, ensure_ascii=False),
                    )
                )
                tools += 1
            elif btype == "thinking":
                out.append(
                    ReasoningDelta.model_construct(
                        source=source,
                        text=block.get("thinking") or "",
                        signature=block.get("signature"),
                    )
                )
            elif btype == "redacted_thinking":
                out.append(ReasoningDelta.model_construct(source=source, text="", redacted=True))
        usage = obj.get("usage")
        if isinstance(usage, dict):
            out.append(_usage(usage, source))
        out.append(Finish.model_construct(source=source, reason=obj.get("stop_reason")))
        return out

    def end(self) -> list[Event]:
        if not self._stopped:
            raise cut_off(self._provider, "message_stop or a stop_reason")
        self.done = True
        return []


_RANGES: dict[str, tuple[float, float]] = {"temperature": (0.0, 1.0), "top_p": (0.0, 1.0)}


def _split_system(
    messages: list[dict[str, Any]],
) -> tuple[list[str | dict[str, Any]], list[dict[str, Any]]]:
    system: list[str | dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for message in messages:
        if message.get("role") in ("system", "developer"):
            content = message.get("content")
            if isinstance(content, list):
                system.extend(content)
            elif content:
                system.append(str(content))
        else:
            rest.append(message)
    return system, rest


def _openai_shaped(message: dict[str, Any]) -> bool:
    """True for a message only OpenAI's shape has: a ``tool`` result, an assistant's
    ``tool_calls``, an ``image_url`` part."""
    if message.get("role") in ("tool", "function") or message.get("tool_calls"):
        return True
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(part, dict) and part.get("type") == "image_url" for part in content
    )


def _anthropic_turns(messages: list[dict[str, Any]], provider: str) -> list[dict[str, Any]]:
    """``messages`` in Anthropic's shape. A chat written for OpenAI (tool results, tool calls,
    image URLs, consecutive turns of one role) is converted the way `prepare_anthropic_chat`
    does it; a chat already in Anthropic's shape is sent unchanged, block options included."""
    if not any(_openai_shaped(message) for message in messages):
        return messages
    # Imported here: the message helpers live in the session package, which imports providers.
    from lionrx.session.messages._chat import openai_to_anthropic

    try:
        return openai_to_anthropic(messages)["messages"]
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigurationError(
            f"these messages cannot be sent to {provider}: {exc}", provider=provider
        ) from None


@register_provider
class AnthropicProvider(HTTPProvider):
    """Anthropic Messages over SSE. ``base_url`` is the host root; lionrx appends
    ``/v1/messages``."""

    name = "anthropic"
    api_key_env = ("ANTHROPIC_API_KEY",)
    default_base_url = "https://api.anthropic.com"
    base_url_env = ("ANTHROPIC_BASE_URL",)
    param_ranges = _RANGES
    requires_key_for = ("api.anthropic.com",)
    client_options: ClassVar[frozenset[str]] = HTTPProvider.client_options | {"anthropic_version"}

    @classmethod
    def default_endpoint(cls) -> str:
        return "messages"

    def validate_params(self, params: dict[str, Any]) -> None:
        super().validate_params(params)
        for key in ("max_tokens", "top_k"):
            value = params.get(key)
            minimum = 1 if key == "max_tokens" else 0
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < minimum
            ):
                raise ConfigurationError(
                    f"{key}={value!r} must be an integer >= {minimum} for anthropic",
                    provider=self.name,
                )

    def build_request(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        endpoint = (self.config.endpoint or "messages").strip("/")
        if endpoint not in ("messages", "v1/messages"):
            raise ConfigurationError(
                f"endpoint {endpoint!r} is not supported by anthropic (use 'messages')",
                provider=self.name,
            )
        key = self.require_key()
        model = params.pop("model", None) or self.config.model
        if not model:
            raise ConfigurationError("no model given for anthropic", provider=self.name)
        system, rest = _split_system(messages)
        body: dict[str, Any] = {"model": model, "messages": _anthropic_turns(rest, self.name)}
        if system:
            if all(isinstance(part, str) for part in system):
                body["system"] = "\n\n".join(str(part) for part in system)
            else:
                body["system"] = [
                    {"type": "text", "text": part} if isinstance(part, str) else part
                    for part in system
                ]
        body.update(params)
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        streaming = body.setdefault("stream", True)
        headers = {
            "Accept": "text/event-stream" if streaming else "application/json",
            "anthropic-version": str(self.config.options.get("anthropic_version", "2023-06-01")),
        }
        if key:
            headers["x-api-key"] = key
        return f"{self.config.base_url}/v1/messages", headers, body

    def mapper(self, streaming: bool) -> Mapper:
        inner = AnthropicMapper(self.source, self.name)
        return inner if streaming else BodyMapper(inner.body, self.name)

    def stream_decoder(self) -> Decoder:
        return SSEItems()
