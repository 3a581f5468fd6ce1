"""A fake LLM provider server on 127.0.0.1 for tests, demos and the command line.

`FakeProviderServer` speaks the wire shapes of OpenAI Chat Completions (``/v1/chat/completions``),
Anthropic Messages (``/v1/messages``) and Ollama (``/api/chat``), streaming and not, over real
sockets. It answers each request with the next queued reply, else ``server.default``:

- `Script`: a scripted answer (text, reasoning, tool calls, usage) rendered in the shape of the
  endpoint that was hit, with controllable chunking, delays and keep-alives;
- `Recording`: a raw recorded body (``tests/fixtures/streams/*.sse``) served byte-exact, with
  controllable network chunking;
- `ErrorReply`: an HTTP error.

Every reply may carry a `Fault` (``lionrx.testing._chaos``): drop the connection at byte k, stall,
keep-alives only, garbage, invalid JSON or UTF-8, an enormous line, a trickle, closing before
headers, a wrong content type. The server counts requests, open streams and client disconnects
so tests can prove that cancelling a stream really closes its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from aiohttp import web

if TYPE_CHECKING:
    from lionrx.testing._chaos import Fault

__all__ = [
    "ErrorReply",
    "FakeProviderServer",
    "RecordedRequest",
    "Recording",
    "Reply",
    "Script",
    "ServedResponse",
    "ToolCallScript",
    "split_words",
]

Wire = Literal["openai", "anthropic", "ollama"]

_SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie", "x-goog-api-key"}
)
REDACTED = "REDACTED"

_WORDS = re.compile(r"\s*\S+|\s+")


def split_words(text: str) -> list[str]:
    """Split text into word-sized pieces the way models stream it (leading space kept)."""
    return _WORDS.findall(text)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class ToolCallScript:
    """A tool call the scripted model makes. ``arguments`` is JSON text (or a dict to dump)."""

    name: str
    arguments: str | dict[str, Any] = "{}"
    id: str | None = None
    chunk_size: int = 8
    """Characters per streamed argument fragment."""

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text, exactly as streamed."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(",", ":"))


@dataclass
class Script:
    """A scripted answer, rendered in the wire shape of whichever endpoint is hit.

    Text is streamed as ``chunks`` if given, else in pieces of ``chunk_size`` characters, else
    word by word. ``delay`` is the pause between frames, ``first_delay`` the pause after the
    headers before the first frame. ``keepalive_every``: an ``int`` sends a keep-alive (SSE
    comment ``: keep-alive``, Anthropic ``ping``, an empty NDJSON line) after every that many
    frames; a ``float`` sends one every that many seconds while the server waits.
    ``usage=(input_tokens, output_tokens)``; ``stop_reason`` defaults to the provider's own
    (``stop``/``end_turn``, or the tool-call reason when tools are called).
    """

    text: str = ""
    chunk_size: int | None = None
    chunks: list[str] | None = None
    delay: float = 0.0
    keepalive_every: int | float | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCallScript | dict[str, Any]] = field(default_factory=list)
    usage: tuple[int, int] | None = None
    stop_reason: str | None = None
    first_delay: float = 0.0
    model: str | None = None
    """Model name reported in the answer (default: the model the request asked for)."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers."""
    fault: Fault | None = None

    def __post_init__(self) -> None:
        if self.chunks is not None:
            joined = "".join(self.chunks)
            if self.text and self.text != joined:
                raise ValueError("Script: text and chunks disagree")
            self.text = joined
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("Script: chunk_size must be >= 1")
        self.tool_calls = [
            tc if isinstance(tc, ToolCallScript) else ToolCallScript(**tc) for tc in self.tool_calls
        ]

    def text_chunks(self) -> list[str]:
        """The text pieces as they will be streamed."""
        if self.chunks is not None:
            return [c for c in self.chunks if c]
        if self.chunk_size is not None:
            return _pieces(self.text, self.chunk_size)
        return split_words(self.text)

    def reasoning_chunks(self) -> list[str]:
        """The reasoning pieces as they will be streamed."""
        if not self.reasoning:
            return []
        if self.chunk_size is not None:
            return _pieces(self.reasoning, self.chunk_size)
        return split_words(self.reasoning)

    def tools(self) -> list[ToolCallScript]:
        """The tool calls, normalised."""
        return [tc for tc in self.tool_calls if isinstance(tc, ToolCallScript)]


@dataclass
class Recording:
    """A raw response body served byte-exact (whatever endpoint is hit).

    ``chunk_size``: None writes the body at once; an int writes pieces of that many bytes;
    ``"random"`` writes pieces of 1..64 bytes drawn from ``random.Random(seed)``. ``delay`` is
    the pause between writes. ``content_type`` defaults from the file suffix (``.sse`` ->
    ``text/event-stream``, ``.ndjson`` -> ``application/x-ndjson``).
    """

    path: str | Path | None = None
    chunk_size: int | Literal["random"] | None = None
    seed: int = 0
    delay: float = 0.0
    data: bytes | None = None
    content_type: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.data is None):
            raise ValueError("Recording: give exactly one of path= or data=")
        if isinstance(self.chunk_size, int) and self.chunk_size < 1:
            raise ValueError("Recording: chunk_size must be >= 1")

    def body(self) -> bytes:
        """The bytes to serve."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return Path(self.path).read_bytes()

    def media_type(self) -> str:
        """The Content-Type to send."""
        if self.content_type:
            return self.content_type
        suffix = Path(str(self.path)).suffix if self.path is not None else ""
        if suffix == ".ndjson":
            return "application/x-ndjson"
        if suffix == ".json":
            return "application/json"
        return "text/event-stream; charset=utf-8"

    def split(self, body: bytes) -> list[bytes]:
        """The network writes for ``body``."""
        if self.chunk_size is None:
            return [body] if body else []
        if self.chunk_size == "random":
            rng = random.Random(self.seed)
            out: list[bytes] = []
            i = 0
            while i < len(body):
                n = rng.randint(1, 64)
                out.append(body[i : i + n])
                i += n
            return out
        size = self.chunk_size
        return [body[i : i + size] for i in range(0, len(body), size)]


@dataclass
class ErrorReply:
    """An HTTP error: ``body`` a dict (sent as JSON), str or bytes."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None

    def render(self) -> tuple[bytes, str]:
        """The body bytes and its content type."""
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("content-type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("content-type", "text/plain")
        payload = self.body if self.body is not None else {"error": {"message": "error"}}
        return json.dumps(payload).encode(), "application/json"

    @classmethod
    def from_conformance(
        cls, case: dict[str, Any], *, retry_after: str | None = None
    ) -> ErrorReply:
        """An error from an ``errors.json`` ``http_errors`` entry; ``retry_after`` overrides
        (``""`` removes) its ``retry-after`` header."""
        headers = {k.lower(): v for k, v in dict(case.get("headers") or {}).items()}
        if retry_after is not None:
            headers.pop("retry-after", None)
            if retry_after:
                headers["retry-after"] = retry_after
        if "body" in case:
            body: Any = case["body"]
        else:
            body = str(case.get("body_text", "")).encode()
        return cls(status=int(case["status"]), body=body, headers=headers)


Reply = Script | Recording | ErrorReply


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received. ``headers`` has lower-case names; credential headers
    (``authorization``, ``x-api-key``...) have the value ``REDACTED``."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    query: dict[str, str]
    body: bytes
    received_at: float = 0.0
    """``time.monotonic()`` when the request arrived."""

    @property
    def stream(self) -> bool:
        """Whether the request asked for a streamed answer (provider defaults applied)."""
        default = self.path.startswith("/api/")  # Ollama streams unless told not to
        if isinstance(self.json, dict) and "stream" in self.json:
            return bool(self.json["stream"])
        return default


Outcome = Literal[
    "pending",
    "completed",
    "client_disconnected",
    "dropped",
    "closed_before_headers",
    "server_closed",
]


@dataclass
class ServedResponse:
    """What the server did with one request: status, content type, the body bytes it wrote
    (keep-alives included) and how it ended."""

    request: RecordedRequest
    status: int = 0
    content_type: str = ""
    body: bytearray = field(default_factory=bytearray)
    outcome: Outcome = "pending"


# ---------------------------------------------------------------------------------------------
# Rendering: a reply becomes a status, headers and a list of frames (bytes or a pause).


@dataclass(frozen=True)
class _Pause:
    seconds: float


Frame = bytes | _Pause


@dataclass
class _Rendered:
    status: int
    content_type: str
    headers: dict[str, str]
    frames: list[Frame]
    keepalive: bytes
    keepalive_interval: float | None = None
    streaming: bool = True
    fault: Fault | None = None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _sse(data: Any, event: str | None = None) -> bytes:
    text = data if isinstance(data, str) else _dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


_KEEPALIVE: dict[Wire, bytes] = {
    "openai": b": keep-alive\n\n",
    "anthropic": _sse({"type": "ping"}, "ping"),
    "ollama": b"\n",
}


def _tokens(request: RecordedRequest) -> int:
    return max(1, len(_dumps(request.json or {})) // 4)


class _Renderer:
    def __init__(self, script: Script, request: RecordedRequest, n: int) -> None:
        self.script = script
        self.request = request
        body = request.json if isinstance(request.json, dict) else {}
        self.model = script.model or str(body.get("model") or "fake-model")
        self.n = n
        text_chunks = script.text_chunks()
        self.usage = script.usage or (
            _tokens(request),
            len(text_chunks) + len(script.reasoning_chunks()) + len(script.tools()),
        )

    def _frames_with_pauses(self, frames: list[bytes], keepalive: bytes) -> list[Frame]:
        s = self.script
        out: list[Frame] = []
        every = s.keepalive_every
        count_every = every if isinstance(every, int) and not isinstance(every, bool) else None
        for i, f in enumerate(frames):
            if i == 0 and s.first_delay > 0:
                out.append(_Pause(s.first_delay))
            elif i > 0 and s.delay > 0:
                out.append(_Pause(s.delay))
            out.append(f)
            if count_every and (i + 1) % count_every == 0 and i + 1 < len(frames):
                out.append(keepalive)
        return out

    def render(self, wire: Wire) -> _Rendered:
        s = self.script
        stream = self.request.stream
        keepalive = _KEEPALIVE[wire]
        interval = (
            float(s.keepalive_every)
            if isinstance(s.keepalive_every, float) and s.keepalive_every > 0
            else None
        )
        headers = dict(s.headers)
        if wire == "openai":
            headers.setdefault("x-request-id", f"req_fake{self.n}")
        elif wire == "anthropic":
            headers.setdefault("request-id", f"req_fake{self.n}")
        if not stream:
            body = getattr(self, f"_{wire}_json")()
            return _Rendered(
                s.status,
                "application/json",
                headers,
                self._frames_with_pauses([_dumps(body).encode()], keepalive)
                if s.first_delay
                else [_dumps(body).encode()],
                # A JSON body has a Content-Length: nothing may be added while waiting.
                keepalive=b"",
                keepalive_interval=None,
                streaming=False,
                fault=s.fault,
            )
        frames: list[bytes] = getattr(self, f"_{wire}_stream")()
        ctype = "application/x-ndjson" if wire == "ollama" else "text/event-stream; charset=utf-8"
        return _Rendered(
            s.status,
            ctype,
            headers,
            self._frames_with_pauses(frames, keepalive),
            keepalive=keepalive,
            keepalive_interval=interval,
            fault=s.fault,
        )

    # -- OpenAI ----------------------------------------------------------------------------

    def _openai_stop(self) -> str:
        return self.script.stop_reason or ("tool_calls" if self.script.tools() else "stop")

    def _openai_usage(self) -> dict[str, int]:
        i, o = self.usage
        return {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}

    def _openai_stream(self) -> list[bytes]:
        s = self.script
        body = self.request.json if isinstance(self.request.json, dict) else {}
        opts = body.get("stream_options") or {}
        include_usage = bool(isinstance(opts, dict) and opts.get("include_usage"))
        base: dict[str, Any] = {
            "id": f"chatcmpl-fake{self.n}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_fake",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            c = dict(base)
            c["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            if include_usage:
                c["usage"] = None
            return _sse(c)

        frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
        frames += [chunk({"reasoning_content": p}) for p in s.reasoning_chunks()]
        frames += [chunk({"content": p}) for p in s.text_chunks()]
        for i, tc in enumerate(s.tools()):
            call_id = tc.id or f"call_fake{self.n}_{i}"
            frames.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": tc.name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for piece in _pieces(tc.arguments_json, tc.chunk_size):
                frames.append(
                    chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
                )
        frames.append(chunk({}, self._openai_stop()))
        if include_usage:
            c = dict(base)
            c["choices"] = []
            c["usage"] = self._openai_usage()
            frames.append(_sse(c))
        frames.append(b"data: [DONE]\n\n")
        return frames

    def _openai_json(self) -> dict[str, Any]:
        s = self.script
        message: dict[str, Any] = {"role": "assistant", "content": s.text, "refusal": None}
        if s.reasoning:
            message["reasoning_content"] = s.reasoning
        if s.tools():
            message["tool_calls"] = [
                {
                    "id": tc.id or f"call_fake{self.n}_{i}",
                    "type": "function",
                    "function": {"name": tc.name, "arguments": tc.arguments_json},
                }
                for i, tc in enumerate(s.tools())
            ]
        return {
            "id": f"chatcmpl-fake{self.n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._openai_stop(),
                }
            ],
            "usage": self._openai_usage(),
        }

    # -- Anthropic -------------------------------------------------------------------------

    def _anthropic_stop(self) -> str:
        return self.script.stop_reason or ("tool_use" if self.script.tools() else "end_turn")

    def _anthropic_stream(self) -> list[bytes]:
        s = self.script
        i_tokens, o_tokens = self.usage
        frames = [
            _sse(
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_fake{self.n}",
                        "type": "message",
                        "role": "assistant",
                        "content": [],
                        "model": self.model,
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": i_tokens, "output_tokens": 1},
                    },
                },
                "message_start",
            )
        ]
        index = 0
        pinged = False

        def start(block: dict[str, Any]) -> None:
            nonlocal pinged
            frames.append(
                _sse(
                    {"type": "content_block_start", "index": index, "content_block": block},
                    "content_block_start",
                )
            )
            if not pinged:  # the real API pings once after the first block starts
                frames.append(_KEEPALIVE["anthropic"])
                pinged = True

        def delta(d: dict[str, Any]) -> None:
            frames.append(
                _sse(
                    {"type": "content_block_delta", "index": index, "delta": d},
                    "content_block_delta",
                )
            )

        def stop() -> None:
            nonlocal index
            frames.append(
                _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            )
            index += 1

        if s.reasoning:
            start({"type": "thinking", "thinking": "", "signature": ""})
            for p in s.reasoning_chunks():
                delta({"type": "thinking_delta", "thinking": p})
            delta({"type": "signature_delta", "signature": f"fake-signature-{self.n}"})
            stop()
        if s.text or not s.tools():
            start({"type": "text", "text": ""})
            for p in s.text_chunks():
                delta({"type": "text_delta", "text": p})
            stop()
        for i, tc in enumerate(s.tools()):
            start(
                {
                    "type": "tool_use",
                    "id": tc.id or f"toolu_fake{self.n}_{i}",
                    "name": tc.name,
                    "input": {},
                }
            )
            for piece in _pieces(tc.arguments_json, tc.chunk_size):
                delta({"type": "input_json_delta", "partial_json": piece})
            stop()
        frames.append(
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self._anthropic_stop(), "stop_sequence": None},
                    "usage": {"output_tokens": o_tokens},
                },
                "message_delta",
            )
        )
        frames.append(_sse({"type": "message_stop"}, "message_stop"))
        return frames

    def _anthropic_json(self) -> dict[str, Any]:
        s = self.script
        content: list[dict[str, Any]] = []
        if s.reasoning:
            content.append(
                {"type": "thinking", "thinking": s.reasoning, "signature": f"fake-sig-{self.n}"}
            )
        if s.text or not s.tools():
            content.append({"type": "text", "text": s.text})
        for i, tc in enumerate(s.tools()):
            content.append(
                {
                    "type": "tool_use",
                    "id": tc.id or f"toolu_fake{self.n}_{i}",
                    "name": tc.name,
                    "input": json.loads(tc.arguments_json or "{}"),
                }
            )
        i_tokens, o_tokens = self.usage
        return {
            "id": f"msg_fake{self.n}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self._anthropic_stop(),
            "stop_sequence": None,
            "usage": {"input_tokens": i_tokens, "output_tokens": o_tokens},
        }

    # -- Ollama ----------------------------------------------------------------------------

    def _ollama_line(self, message: dict[str, Any], done: bool = False) -> dict[str, Any]:
        line: dict[str, Any] = {
            "model": self.model,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
            "message": {"role": "assistant", "content": "", **message},
            "done": done,
        }
        if done:
            i_tokens, o_tokens = self.usage
            line.update(
                {
                    "done_reason": self.script.stop_reason or "stop",
                    "total_duration": 1000000,
                    "load_duration": 1000,
                    "prompt_eval_count": i_tokens,
                    "prompt_eval_duration": 1000,
                    "eval_count": o_tokens,
                    "eval_duration": 1000,
                }
            )
        return line

    def _ollama_tool_calls(self) -> list[dict[str, Any]]:
        return [
            {"function": {"name": tc.name, "arguments": json.loads(tc.arguments_json or "{}")}}
            for tc in self.script.tools()
        ]

    def _ollama_stream(self) -> list[bytes]:
        s = self.script
        lines = [self._ollama_line({"thinking": p}) for p in s.reasoning_chunks()]
        lines += [self._ollama_line({"content": p}) for p in s.text_chunks()]
        if s.tools():
            lines.append(self._ollama_line({"tool_calls": self._ollama_tool_calls()}))
        lines.append(self._ollama_line({}, done=True))
        return [(_dumps(line) + "\n").encode() for line in lines]

    def _ollama_json(self) -> dict[str, Any]:
        s = self.script
        message: dict[str, Any] = {"content": s.text}
        if s.reasoning:
            message["thinking"] = s.reasoning
        if s.tools():
            message["tool_calls"] = self._ollama_tool_calls()
        return self._ollama_line(message, done=True)


def _wire_of(path: str) -> Wire | None:
    if path.rstrip("/").endswith("/chat/completions"):
        return "openai"
    if path.rstrip("/").endswith("/v1/messages"):
        return "anthropic"
    if path.rstrip("/") in ("/api/chat", "/api/generate"):
        return "ollama"
    return None


# ---------------------------------------------------------------------------------------------


class FakeProviderServer:
    """A real HTTP server on ``host`` (127.0.0.1) and a free port, answering like a provider.

    Use as ``async with FakeProviderServer() as server:`` (or the ``fake_server`` pytest
    fixture, or ``python -m lionrx.testing.server``). ``server.queue(reply)`` answers the next
    request; ``server.default`` answers all others.
    """

    def __init__(
        self,
        default: Reply | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_bodies: bool = True,
    ) -> None:
        self.default: Reply = (
            default
            if default is not None
            else Script(text="Hello from the lionrx fake provider server.")
        )
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self.open_streams = 0
        self.completed = 0
        """Responses written to the end."""
        self.responses: list[ServedResponse] = []
        """What was answered to each request, in order (body bytes when ``keep_bodies``)."""
        self.keep_bodies = keep_bodies
        self._closing = False
        self._queue: deque[Reply] = deque()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed: asyncio.Event | None = None
        self._counter = 0

    # -- addresses -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321``."""
        if not self.port:
            raise RuntimeError("FakeProviderServer is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``base_url`` for the OpenAI client (root + ``/v1``)."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url`` for the Anthropic client (the root)."""
        return self.url

    @property
    def ollama_base_url(self) -> str:
        """``base_url`` for Ollama (the root)."""
        return self.url

    # -- scripting -------------------------------------------------------------------------

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order (then ``default`` again)."""
        self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Queued replies not yet used."""
        return len(self._queue)

    def _next_reply(self) -> Reply:
        return self._queue.popleft() if self._queue else self.default

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind and start serving."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that goes away cancels its handler even while the
        # handler sleeps between chunks, so disconnects are seen at once, not at the next write.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        # A deep accept queue: load tests open a thousand connections at once.
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._changed = asyncio.Event()
        return self

    async def close(self) -> None:
        """Stop serving; in-flight handlers are cancelled."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[FakeProviderServer]:
        """Run the server on its own event loop in a background thread (for sync code)."""
        started = threading.Event()
        loop = asyncio.new_event_loop()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name="lionrx-fake-server", daemon=True)
        thread.start()
        started.wait()
        if errors:
            thread.join()
            loop.close()
            raise errors[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    # -- observation -----------------------------------------------------------------------

    def _notify(self) -> None:
        # Wake every waiter; each re-checks its predicate on a fresh event. No task is created,
        # so tests that assert "no pending task" are not disturbed by the server's bookkeeping.
        if self._changed is not None:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever the server's counts change).

        Raises ``TimeoutError`` if it does not within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                assert self._changed is not None, "server not started"
                # Counts the server does not see change (sockets closing) are polled.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.02):
                        await self._changed.wait()

    async def wait_for_disconnect(self, timeout: float = 5.0, count: int = 1) -> None:
        """Wait until the server has seen ``count`` client disconnects in total.

        Raises ``TimeoutError`` if it has not within ``timeout`` seconds.
        """
        await self.wait_for(lambda: self.disconnects >= count, timeout)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no response is in flight."""
        await self.wait_for(lambda: self.open_streams == 0, timeout)

    @property
    def connections(self) -> int:
        """Client connections currently open to the server (idle keep-alive ones included)."""
        server = self._runner.server if self._runner is not None else None
        return len(server.connections) if server is not None else 0

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request."""
        return self.requests[-1]

    # -- handling --------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        headers = {
            k.lower(): (REDACTED if k.lower() in _SECRET_HEADERS else v)
            for k, v in request.headers.items()
        }
        rec = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=headers,
            json=parsed,
            query=dict(request.query),
            body=raw,
            received_at=time.monotonic(),
        )
        self.requests.append(rec)
        self._notify()
        return rec

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            rec = await self._record(request)
            self._counter += 1
            reply = self._next_reply()
            rendered = self._render(reply, rec, self._counter)
            if rendered is None:
                return web.json_response(
                    {"error": {"message": f"fake server: no such endpoint {rec.path}"}},
                    status=404,
                )
            served = ServedResponse(request=rec)
            self.responses.append(served)
            return await self._send(request, rendered, served)
        finally:
            if task is not None:
                self._tasks.discard(task)

    def _render(self, reply: Reply, rec: RecordedRequest, n: int) -> _Rendered | None:
        if isinstance(reply, ErrorReply):
            body, ctype = reply.render()
            headers = {k: v for k, v in reply.headers.items() if k.lower() != "content-type"}
            return _Rendered(
                reply.status, ctype, headers, [body], b"", streaming=False, fault=reply.fault
            )
        if isinstance(reply, Recording):
            body = reply.body()
            frames: list[Frame] = []
            for i, piece in enumerate(reply.split(body)):
                if i and reply.delay > 0:
                    frames.append(_Pause(reply.delay))
                frames.append(piece)
            keepalive = (
                b"\n"
                if reply.media_type().startswith("application/x-ndjson")
                else (b": keep-alive\n\n")
            )
            return _Rendered(
                reply.status,
                reply.media_type(),
                dict(reply.headers),
                frames,
                keepalive,
                fault=reply.fault,
            )
        wire = _wire_of(rec.path)
        if wire is None or rec.method != "POST":
            return None
        return _Renderer(reply, rec, n).render(wire)

    async def _send(
        self, request: web.Request, r: _Rendered, served: ServedResponse
    ) -> web.StreamResponse:
        from lionrx.testing._chaos import FaultPlan  # _chaos builds on this module

        plan = FaultPlan(r.fault)
        served.status = r.status
        if plan.close_before_headers:
            served.outcome = "closed_before_headers"
            if request.transport is not None:
                request.transport.abort()
            # The connection is gone; aiohttp drops whatever we return.
            raise asyncio.CancelledError
        frames = plan.rewrite_frames(r.frames, r.keepalive, r.content_type)
        resp = web.StreamResponse(status=r.status, headers=r.headers)
        resp.headers["Content-Type"] = plan.content_type(r.content_type)
        if not r.streaming:
            resp.content_length = sum(len(f) for f in frames if isinstance(f, bytes))
        served.content_type = resp.headers.get("Content-Type", resp.content_type)
        body = served.body

        async def write(data: bytes) -> None:
            await resp.write(data)
            if self.keep_bodies:
                body.extend(data)

        self.open_streams += 1
        try:
            self._notify()
            await resp.prepare(request)
            if plan.keepalive_only is not None:
                await self._keepalives(write, r.keepalive, plan.keepalive_only, plan.interval)
            sent = 0
            for frame in frames:
                if isinstance(frame, _Pause):
                    await self._pause(write, frame.seconds, r.keepalive, r.keepalive_interval)
                    continue
                for piece in plan.network_pieces(frame):
                    action = plan.at(sent, len(piece))
                    if action is not None:
                        cut, what, seconds = action
                        if cut:
                            await write(piece[:cut])
                        sent += cut
                        piece = piece[cut:]
                        if what == "drop":
                            return self._drop(request, resp, served)
                        await asyncio.sleep(seconds)
                    if piece:
                        await write(piece)
                        sent += len(piece)
                    if plan.trickle_delay:
                        await asyncio.sleep(plan.trickle_delay)
            action = plan.at_end(sent)
            if action is not None:
                if action[1] == "drop":
                    return self._drop(request, resp, served)
                await asyncio.sleep(action[2])
            await resp.write_eof()
            served.outcome = "completed"
            self.completed += 1
            return resp
        except (asyncio.CancelledError, ConnectionError):
            if served.outcome == "pending":
                if self._closing:
                    served.outcome = "server_closed"
                else:
                    served.outcome = "client_disconnected"
                    self.disconnects += 1
            raise
        finally:
            self.open_streams -= 1
            self._notify()

    def _drop(
        self, request: web.Request, resp: web.StreamResponse, served: ServedResponse
    ) -> web.StreamResponse:
        # Abort (not close): the client must see a broken body, not a clean end.
        served.outcome = "dropped"
        if request.transport is not None:
            request.transport.abort()
        return resp

    async def _pause(
        self,
        write: Callable[[bytes], Awaitable[None]],
        seconds: float,
        keepalive: bytes,
        interval: float | None,
    ) -> None:
        if not interval or not keepalive:
            await asyncio.sleep(seconds)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(interval, left))
            if loop.time() < deadline:
                await write(keepalive)

    async def _keepalives(
        self,
        write: Callable[[bytes], Awaitable[None]],
        keepalive: bytes,
        seconds: float,
        interval: float,
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await write(keepalive or b": keep-alive\n\n")
            await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
