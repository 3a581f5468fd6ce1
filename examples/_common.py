"""Shared by the examples: choose the model(s) from the command line.

Every example runs offline. By default it uses the embedded local model (llama.cpp with
SmolLM2-135M); ``--fake`` uses lionrx's fake provider server instead (real HTTP on 127.0.0.1,
a scripted answer); ``--provider openai --model gpt-4o-mini`` (with ``OPENAI_API_KEY`` set)
runs against a real API.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from lionrx import iModel
from lionrx.testing import FakeProviderServer, Script

FAKE_ANSWER = (
    "Streams let a program act on data as it arrives. Dr. Ada's rule of thumb: show the "
    "first words within 0.5 s, then keep them coming. A reactive pipeline makes that "
    "composable: buffer, chunk by sentence, time out, and fall back.\n\n"
    "```python\nasync for chunk in model.invoke_stream(messages=msgs):\n    print(chunk)\n```\n\n"
    "That is the whole idea."
)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the model choice every example shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--fake", action="store_true", help="use the fake provider server")
    p.add_argument("--provider", default=None, help="openai, anthropic, ollama or local")
    p.add_argument("--model", default=None, help="model name for --provider")
    p.add_argument("--base-url", default=None, help="server root for --provider")
    p.add_argument("--max-tokens", type=int, default=120, help="answer length limit")
    return p


@contextlib.asynccontextmanager
async def models(
    args: argparse.Namespace,
    names: Sequence[str] = ("model",),
    *,
    fake_answers: Sequence[str | Script] | None = None,
    wire: str = "openai",
) -> AsyncIterator[list[iModel]]:
    """Yield one `iModel` per name, closed on exit.

    With ``--fake`` a `FakeProviderServer` per model serves ``fake_answers`` over ``wire``
    (``openai`` or ``anthropic``): one answer per model, or, for a single model, one answer
    per request in order (the last one repeats). Default: a scripted paragraph.
    """
    async with contextlib.AsyncExitStack() as stack:
        made: list[iModel] = []
        if args.fake:
            answers = list(fake_answers or [FAKE_ANSWER])
            for i, name in enumerate(names):
                # One server per model, so that parallel requests get their own answers.
                server = await stack.enter_async_context(FakeProviderServer())
                mine = answers if len(names) == 1 else [answers[min(i, len(answers) - 1)]]
                scripts = [
                    a if isinstance(a, Script) else Script(text=a, delay=0.002) for a in mine
                ]
                server.queue(*scripts[:-1])
                server.default = scripts[-1]
                if wire == "anthropic":
                    made.append(
                        iModel(
                            provider="anthropic",
                            endpoint="messages",
                            model=f"fake-claude-{i}",
                            name=name,
                            base_url=server.anthropic_base_url,
                            api_key="fake-key",
                        )
                    )
                else:
                    made.append(
                        iModel(
                            provider="openai",
                            model=f"fake-gpt-{i}",
                            name=name,
                            base_url=server.openai_base_url,
                            api_key="fake-key",
                        )
                    )
        else:
            provider = args.provider or "local"
            for name in names:
                kwargs: dict[str, Any] = {"name": name}
                if args.base_url:
                    kwargs["base_url"] = args.base_url
                if provider == "local":
                    kwargs["temperature"] = 0.0
                    kwargs["seed"] = 7
                kwargs["max_tokens"] = args.max_tokens
                made.append(iModel(provider=provider, model=args.model, **kwargs))
        for model in made:
            stack.push_async_callback(model.aclose)
        yield made
