"""The one event union every lionrx stream carries, and the `Response` it accumulates into.

Providers map their wire chunks onto these events; operators, sinks, history and recordings
only ever see these. Events are frozen pydantic models discriminated on ``kind``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
    model_validator,
)

__all__ = [
    "Completed",
    "Event",
    "EVENT_ADAPTER",
    "Failed",
    "Fallback",
    "Finish",
    "KeepAlive",
    "ReasoningDelta",
    "RefusalDelta",
    "Response",
    "ResponseBuilder",
    "Start",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "dump_event",
    "load_event",
    "is_terminal",
]


_object_new = object.__new__
_object_setattr = object.__setattr__
# Per event class: (field defaults in declaration order, required field names). A class with a
# default factory or an alias gets none, and pydantic's own model_construct.
_CONSTRUCT_PLAN: dict[type, tuple[dict[str, Any], tuple[str, ...]]] = {}


def _construct_plan(cls: type[BaseModel]) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    defaults: dict[str, Any] = {}
    required: list[str] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None or info.alias is not None:
            return None
        if info.is_required():
            required.append(name)
        defaults[name] = info.default
    return defaults, tuple(required)


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str | None = None
    """Label of the stream this event came from (the iModel's name, or a `merge_labeled` key)."""
    choice: int = 0
    """Choice index, for providers that stream several choices at once (OpenAI ``n>1``)."""

    @classmethod
    def model_construct(  # type: ignore[override]  # the pydantic plugin retypes it per model
        cls, _fields_set: set[str] | None = None, **values: Any
    ) -> Self:
        """Build an event from trusted data without validation: the same result as pydantic's
        ``model_construct`` at about half its cost (pydantic's spends ~1.8 µs per `TextDelta`
        in generic Python; this one ~1 µs, which took `invoke_stream` from 4.1 to 3.3 µs per
        chunk in ``make bench``). Providers build one event per chunk with it. Unknown or
        missing fields, or ``_fields_set``, fall back to pydantic's implementation."""
        plan = _CONSTRUCT_PLAN.get(cls)
        if plan is None:
            plan = _construct_plan(cls)
            if plan is None or _fields_set is not None:
                return super().model_construct(_fields_set, **values)
            _CONSTRUCT_PLAN[cls] = plan
        elif _fields_set is not None:
            return super().model_construct(_fields_set, **values)
        defaults, required = plan
        data = {**defaults, **values}
        if len(data) != len(defaults):
            return super().model_construct(_fields_set, **values)
        for name in required:
            if name not in values:
                return super().model_construct(_fields_set, **values)
        event = _object_new(cls)
        _object_setattr(event, "__dict__", data)
        _object_setattr(event, "__pydantic_fields_set__", set(values))
        _object_setattr(event, "__pydantic_extra__", None)
        _object_setattr(event, "__pydantic_private__", None)
        return event


def _serialize_error(error: BaseException) -> dict[str, Any]:
    from lionrx._errors import error_to_dict

    return error_to_dict(error)


ErrorField = Annotated[
    BaseException,
    PlainSerializer(_serialize_error, return_type=dict),
    WithJsonSchema({"type": "object"}),
]


def _load_error(value: Any) -> BaseException:
    if isinstance(value, BaseException):
        return value
    if isinstance(value, dict):
        from lionrx._errors import error_from_dict

        return error_from_dict(value)
    raise ValueError("error must be an exception or a serialized error object")


class Start(_EventBase):
    """The provider accepted the request and began its answer."""

    kind: Literal["start"] = "start"
    model: str | None = None
    """The model name the provider reports (may differ from the one asked for)."""
    response_id: str | None = None
    """The provider's id for this response (``chatcmpl-...``, ``msg_...``)."""


class TextDelta(_EventBase):
    """A piece of answer text."""

    kind: Literal["text"] = "text"
    text: str
    """The new text, in order; joining all deltas of a choice gives its full text."""


class ReasoningDelta(_EventBase):
    """A piece of the model's reasoning ("thinking"), separate from the answer."""

    kind: Literal["reasoning"] = "reasoning"
    text: str
    """Reasoning text (empty for a pure signature or a redacted block)."""
    signature: str | None = None
    """Anthropic's signature over the thinking block, when the provider sends one."""
    redacted: bool = False
    """True for a redacted thinking block whose content is opaque."""


class RefusalDelta(_EventBase):
    """A piece of a refusal message (OpenAI's ``refusal`` field)."""

    kind: Literal["refusal"] = "refusal"
    text: str
    """Refusal text, in order."""


class ToolCallDelta(_EventBase):
    """A fragment of a tool call: its id and name arrive first, then argument JSON in pieces."""

    kind: Literal["tool_call"] = "tool_call"
    index: int
    """Position of the call in the answer; fragments with the same index belong together."""
    id: str | None = None
    """The provider's call id (set on the first fragment only)."""
    name: str | None = None
    """The tool's name (set on the first fragment only)."""
    arguments_fragment: str = ""
    """The next piece of the arguments' JSON text; fragments may split tokens anywhere."""


class Usage(_EventBase):
    """Token counts reported by the provider. Later reports replace earlier fields that they set."""

    kind: Literal["usage"] = "usage"
    input_tokens: int | None = None
    """Prompt tokens."""
    output_tokens: int | None = None
    """Completion tokens."""
    reasoning_tokens: int | None = None
    """Tokens spent on reasoning, where the provider reports them."""
    cache_read_tokens: int | None = None
    """Prompt tokens served from the provider's cache."""
    cache_write_tokens: int | None = None
    """Prompt tokens written to the provider's cache."""

    @property
    def total_tokens(self) -> int | None:
        """Input plus output tokens, when both are known."""
        if self.input_tokens is None or self.output_tokens is None:
            return None
        return self.input_tokens + self.output_tokens


class Finish(_EventBase):
    """A choice finished, with the provider's reason (``stop``, ``length``, ``tool_calls``...)."""

    kind: Literal["finish"] = "finish"
    reason: str | None
    """The stop reason as the provider spells it (``end_turn``, ``stop``, ``max_tokens``...)."""


class Fallback(_EventBase):
    """The `fallback` operator switched to its next stream after a failure.

    Not terminal: the next stream's events follow. ``source`` is the stream that failed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    kind: Literal["fallback"] = "fallback"
    mode: Literal["restart", "continue"]
    """``restart``: the next stream answers from scratch — drop the text shown so far.
    ``continue``: the next stream continues the text shown so far (``prefix``) — keep it."""
    error: ErrorField
    """The failure that caused the switch."""
    attempt: int
    """Index of the stream that takes over (1 for the first fallback)."""
    prefix: str = ""
    """The text the next stream continues (``continue`` mode), empty on a restart."""

    @field_validator("error", mode="before")
    @classmethod
    def _load_error(cls, value: Any) -> BaseException:
        return _load_error(value)


class KeepAlive(_EventBase):
    """A keep-alive from the provider (an SSE comment, Anthropic's ``ping``). Carries no content."""

    kind: Literal["keep_alive"] = "keep_alive"


class ToolCall(BaseModel):
    """A complete tool call, its argument fragments joined."""

    model_config = ConfigDict(frozen=True)

    index: int
    """Position of the call in the answer."""
    id: str | None = None
    """The provider's call id."""
    name: str | None = None
    """The tool's name."""
    arguments: str = ""
    """The arguments' JSON text, exactly as streamed."""

    @property
    def parsed_arguments(self) -> Any:
        """The arguments parsed as JSON (``{}`` for empty arguments).

        Raises ``ValueError`` when the JSON is incomplete or invalid (e.g. a cut-off stream).
        """
        if not self.arguments.strip():
            return {}
        return json.loads(self.arguments)

    @property
    def complete(self) -> bool:
        """True when the arguments are valid JSON."""
        try:
            _ = self.parsed_arguments
        except ValueError:
            return False
        return True


class Response(BaseModel):
    """Everything a stream delivered, accumulated: what `Completed` carries, and what `Failed`
    carries as the partial answer."""

    model_config = ConfigDict(frozen=True)

    source: str | None = None
    """The stream's label."""
    model: str | None = None
    """The model name the provider reported."""
    response_id: str | None = None
    """The provider's response id."""
    texts: dict[int, str] = Field(default_factory=dict)
    """Full answer text per choice index."""
    reasoning: str = ""
    """Reasoning text joined (choice 0)."""
    reasoning_signature: str | None = None
    """Signature of the reasoning block, when the provider sent one."""
    refusal: str = ""
    """Refusal text joined (choice 0)."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Tool calls in index order (choice 0)."""
    usage: Usage | None = None
    """Token usage, when reported."""
    stop_reasons: dict[int, str | None] = Field(default_factory=dict)
    """Stop reason per choice index."""
    chunks: int = 0
    """Number of text deltas received (all choices)."""
    time_to_first_text: float | None = None
    """Seconds from the request's start to the first text delta."""
    total_time: float | None = None
    """Seconds from the request's start to the end of the stream."""

    @property
    def text(self) -> str:
        """The answer text of choice 0."""
        return self.texts.get(0, "")

    @property
    def data(self) -> str:
        """The answer text (lionpride's name for it: ``calling.execution.response.data``)."""
        return self.texts.get(0, "")

    @property
    def stop_reason(self) -> str | None:
        """The stop reason of choice 0."""
        return self.stop_reasons.get(0)

    def __str__(self) -> str:
        return self.text


class Completed(_EventBase):
    """Terminal outcome: the stream ended normally. Exactly one terminal event ends a stream."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["completed"] = "completed"
    response: Response
    """The whole answer."""


class Failed(_EventBase):
    """Terminal outcome: the stream failed. ``partial`` holds everything received before."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    kind: Literal["failed"] = "failed"
    error: ErrorField
    """The exception (a `lionrx.errors.LionrxError` for provider and transport failures)."""
    partial: Response
    """Everything received before the failure."""

    @field_validator("error", mode="before")
    @classmethod
    def _load_error(cls, value: Any) -> BaseException:
        return _load_error(value)

    @model_validator(mode="after")
    def _attach_partial(self) -> Self:
        # A loaded (or validated) Failed gives its error the partial answer too, as a live one
        # has: ``error.partial`` is what a text stream's consumer reads.
        if getattr(self.error, "partial", False) is None:
            self.error.partial = self.partial  # type: ignore[attr-defined]
        return self


Event = Annotated[
    Start
    | TextDelta
    | ReasoningDelta
    | RefusalDelta
    | ToolCallDelta
    | Usage
    | Finish
    | Fallback
    | KeepAlive
    | Completed
    | Failed,
    Field(discriminator="kind"),
]
"""Any lionrx stream event. ``Completed`` and ``Failed`` are the terminal outcomes."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
"""Dumps and loads events as JSON; recordings and history use it."""


def dump_event(event: Event) -> str:
    """Serialise one event to a JSON string."""
    return EVENT_ADAPTER.dump_json(event).decode()


def load_event(data: str | bytes) -> Event:
    """Parse one event from its JSON form."""
    return EVENT_ADAPTER.validate_json(data)


def is_terminal(event: object) -> bool:
    """True for `Completed` and `Failed`."""
    return isinstance(event, Completed | Failed)


class ResponseBuilder:
    """Accumulates events into a `Response`. Mutable and cheap per event: the hot path.

    ``add`` takes any event; ``build`` freezes what was seen so far (callable any time, e.g. to
    attach a partial answer to a failure).
    """

    __slots__ = (
        "source",
        "model",
        "response_id",
        "_texts",
        "_reasoning",
        "reasoning_signature",
        "_refusal",
        "_tools",
        "usage",
        "stop_reasons",
        "chunks",
        "started",
        "first_text_at",
        "ended_at",
    )

    def __init__(self, source: str | None = None, started: float | None = None) -> None:
        self.source = source
        self.model: str | None = None
        self.response_id: str | None = None
        self._texts: dict[int, list[str]] = {}
        self._reasoning: list[str] = []
        self.reasoning_signature: str | None = None
        self._refusal: list[str] = []
        self._tools: dict[int, list[Any]] = {}
        self.usage: Usage | None = None
        self.stop_reasons: dict[int, str | None] = {}
        self.chunks = 0
        self.started = time.perf_counter() if started is None else started
        self.first_text_at: float | None = None
        self.ended_at: float | None = None

    @property
    def has_text(self) -> bool:
        """True once any answer text (or refusal, or tool call) was received."""
        return bool(self._texts or self._refusal or self._tools)

    def text(self, choice: int = 0) -> str:
        """The text of one choice so far."""
        return "".join(self._texts.get(choice, ()))

    def add(self, event: object) -> None:
        """Fold one event in."""
        kind = getattr(event, "kind", None)
        if kind == "text":
            assert isinstance(event, TextDelta)
            if self.first_text_at is None:
                self.first_text_at = time.perf_counter()
            self.chunks += 1
            parts = self._texts.get(event.choice)
            if parts is None:
                self._texts[event.choice] = [event.text]
            else:
                parts.append(event.text)
        elif kind == "reasoning":
            assert isinstance(event, ReasoningDelta)
            if event.choice == 0:
                self._reasoning.append(event.text)
                if event.signature:
                    self.reasoning_signature = event.signature
        elif kind == "refusal":
            assert isinstance(event, RefusalDelta)
            if event.choice == 0:
                self._refusal.append(event.text)
        elif kind == "tool_call":
            assert isinstance(event, ToolCallDelta)
            if event.choice == 0:
                slot = self._tools.get(event.index)
                if slot is None:
                    self._tools[event.index] = [event.id, event.name, [event.arguments_fragment]]
                else:
                    if event.id and not slot[0]:
                        slot[0] = event.id
                    if event.name and not slot[1]:
                        slot[1] = event.name
                    slot[2].append(event.arguments_fragment)
        elif kind == "usage":
            assert isinstance(event, Usage)
            if self.usage is None:
                self.usage = event
            else:
                update = {
                    k: v
                    for k, v in event.model_dump(exclude={"kind", "source", "choice"}).items()
                    if v is not None
                }
                self.usage = self.usage.model_copy(update=update)
        elif kind == "finish":
            assert isinstance(event, Finish)
            self.stop_reasons[event.choice] = event.reason
        elif kind == "start":
            assert isinstance(event, Start)
            self.model = event.model or self.model
            self.response_id = event.response_id or self.response_id

    def build(self) -> Response:
        """A frozen snapshot of everything so far."""
        end = self.ended_at if self.ended_at is not None else time.perf_counter()
        return Response.model_construct(
            source=self.source,
            model=self.model,
            response_id=self.response_id,
            texts={k: "".join(v) for k, v in sorted(self._texts.items())},
            reasoning="".join(self._reasoning),
            reasoning_signature=self.reasoning_signature,
            refusal="".join(self._refusal),
            tool_calls=tuple(
                ToolCall(index=i, id=s[0], name=s[1], arguments="".join(s[2]))
                for i, s in sorted(self._tools.items())
            ),
            usage=self.usage,
            stop_reasons=dict(self.stop_reasons),
            chunks=self.chunks,
            time_to_first_text=(
                None if self.first_text_at is None else self.first_text_at - self.started
            ),
            total_time=end - self.started,
        )

    def finish(self) -> Response:
        """Mark the end time and build."""
        if self.ended_at is None:
            self.ended_at = time.perf_counter()
        return self.build()
