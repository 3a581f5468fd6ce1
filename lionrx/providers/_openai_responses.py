"""OpenAI Responses API (``iModel(provider="openai", endpoint="responses")``).

`ResponsesMapper` maps the named events (``response.output_text.delta``, function-call argument
deltas, reasoning summaries, ``response.completed`` / ``incomplete`` / ``failed`` and ``error``)
onto lionrx events. There is no ``[DONE]``: the answer ends with one of the three final events.
"""

from __future__ import annotations

from typing import Any

from lionrx._errors import ProviderStreamError
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
from lionrx.providers._http import cut_off, items_of, parse_json_item

__all__ = ["ResponsesMapper", "responses_body"]

_FINAL = ("response.completed", "response.incomplete")


def responses_body(messages: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """The request body: chat messages become ``input`` items; ``max_tokens`` is renamed."""
    body: dict[str, Any] = {"input": messages}
    if "max_tokens" in params:
        params["max_output_tokens"] = params.pop("max_tokens")
    params.pop("stream_options", None)
    body.update(params)
    return body


def _usage(usage: dict[str, Any], source: str | None) -> Usage:
    output_details = usage.get("output_tokens_details") or {}
    input_details = usage.get("input_tokens_details") or {}
    return Usage.model_construct(
        source=source,
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        reasoning_tokens=output_details.get("reasoning_tokens") if output_details else None,
        cache_read_tokens=input_details.get("cached_tokens") if input_details else None,
    )


def _error(error: Any, provider: str) -> ProviderStreamError:
    if not isinstance(error, dict):
        return ProviderStreamError(f"{provider} response failed: {error!r}", provider=provider)
    code = error.get("code") or error.get("type")
    return ProviderStreamError(
        str(error.get("message") or code or "response failed"),
        error_type=str(code) if code else None,
        provider=provider,
    )


class ResponsesMapper:
    """Responses API stream events → lionrx events (one instance per response)."""

    __slots__ = ("done", "source", "_provider", "_tools", "_started")

    def __init__(self, source: str | None = None, provider: str = "openai") -> None:
        self.done = False
        self.source = source
        self._provider = provider
        self._tools: dict[int, int] = {}
        """``output_index`` of a function call → tool-call index (0, 1, ...)."""
        self._started = False

    def feed(self, item: Any) -> list[Event]:
        data = getattr(item, "data", None)
        if data is None:
            return [KeepAlive.model_construct(source=self.source)]
        return self.event(parse_json_item(data, self._provider, loads))

    def _tool_index(self, output_index: int) -> int:
        index = self._tools.get(output_index)
        if index is None:
            index = self._tools[output_index] = len(self._tools)
        return index

    def event(self, obj: Any) -> list[Event]:
        """Events for one parsed stream event."""
        if not isinstance(obj, dict):
            return []
        kind = obj.get("type")
        source = self.source
        if kind == "response.output_text.delta":
            delta = obj.get("delta")
            return [TextDelta.model_construct(source=source, text=delta)] if delta else []
        if kind == "response.function_call_arguments.delta":
            return [
                ToolCallDelta.model_construct(
                    source=source,
                    index=self._tool_index(obj.get("output_index", 0)),
                    arguments_fragment=obj.get("delta") or "",
                )
            ]
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = obj.get("delta")
            return [ReasoningDelta.model_construct(source=source, text=delta)] if delta else []
        if kind == "response.refusal.delta":
            delta = obj.get("delta")
            return [RefusalDelta.model_construct(source=source, text=delta)] if delta else []
        if kind == "response.output_item.added":
            item = obj.get("item") or {}
            if item.get("type") == "function_call":
                return [
                    ToolCallDelta.model_construct(
                        source=source,
                        index=self._tool_index(obj.get("output_index", 0)),
                        id=item.get("call_id") or item.get("id"),
                        name=item.get("name"),
                        arguments_fragment=item.get("arguments") or "",
                    )
                ]
            return []
        if kind in ("response.created", "response.in_progress"):
            if self._started:
                return []
            self._started = True
            response = obj.get("response") or {}
            return [
                Start.model_construct(
                    source=source, model=response.get("model"), response_id=response.get("id")
                )
            ]
        if kind in _FINAL:
            self.done = True
            return self._final(obj.get("response") or {})
        if kind == "error":
            raise _error(obj.get("error") or obj, self._provider)
        if kind == "response.failed":
            raise _error((obj.get("response") or {}).get("error"), self._provider)
        return []

    def _final(self, response: dict[str, Any]) -> list[Event]:
        source = self.source
        out: list[Event] = []
        usage = response.get("usage")
        if isinstance(usage, dict):
            out.append(_usage(usage, source))
        status = response.get("status")
        if status == "incomplete":
            status = (response.get("incomplete_details") or {}).get("reason") or status
        out.append(Finish.model_construct(source=source, reason=status))
        return out

    def body(self, obj: Any) -> list[Event]:
        """Events for a whole non-streaming ``response`` object."""
        self.done = True
        if not isinstance(obj, dict):
            return []
        if obj.get("status") == "failed" or (obj.get("error") and not obj.get("output")):
            raise _error(obj.get("error"), self._provider)
        source = self.source
        out: list[Event] = [
            Start.model_construct(source=source, model=obj.get("model"), response_id=obj.get("id"))
        ]
        for position, item in enumerate(items_of(obj.get("output"))):
            itype = item.get("type")
            if itype == "message":
                for part in items_of(item.get("content")):
                    if part.get("type") == "output_text" and part.get("text"):
                        out.append(TextDelta.model_construct(source=source, text=part["text"]))
                    elif part.get("type") == "refusal" and part.get("refusal"):
                        out.append(
                            RefusalDelta.model_construct(source=source, text=part["refusal"])
                        )
            elif itype == "function_call":
                out.append(
                    ToolCallDelta.model_construct(
                        source=source,
                        index=self._tool_index(position),
                        id=item.get("call_id") or item.get("id"),
                        name=item.get("name"),
                        arguments_fragment=item.get("arguments") or "",
                    )
                )
            elif itype == "reasoning":
                for part in items_of(item.get("summary")):
                    if part.get("text"):
                        out.append(ReasoningDelta.model_construct(source=source, text=part["text"]))
        out.extend(self._final(obj))
        return out

    def end(self) -> list[Event]:
        if not self.done:
            raise cut_off(self._provider, "response.completed, response.incomplete or an error")
        return []
