"""``lionrx chat``: the notebook's StreamingChat, kept in a SQLite session you can resume.

Each turn is ``Session.stream`` (the history sink records the answer however it ends) shown by
the console sink with the stats line. Ctrl-C during an answer disposes the stream: the
connection closes, the partial answer stays in the branch marked ``incomplete (cancelled)``,
and the chat goes on. Ctrl-C at the prompt only clears the line; Ctrl-D or ``/exit`` leaves.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from reactivex import Observable

from lionrx._cli._errors import describe_error
from lionrx._cli._models import ModelFactory
from lionrx._cli._output import LineReader, interrupts, show
from lionrx._cli._run import announce, deadlines, model_factory, preload, reshape
from lionrx._errors import LionrxError
from lionrx._events import Completed, Event, Failed, Response
from lionrx.services import iModel
from lionrx.session import Session
from lionrx.session._branch import Branch
from lionrx.session.messages import AssistantResponseContent, InstructionContent
from lionrx.sinks import SinkHandle
from lionrx.sinks._stats import format_stats

__all__ = ["Chat", "chat_command", "default_session_path"]

HELP = """\
commands:
  /history          this branch's messages (stopped answers are marked)
  /branch [NAME]    list branches, or switch to NAME (created empty if new)
  /fork [NAME]      copy this branch's history into a new branch and switch to it
  /model [SPEC]     show the model, or switch (e.g. /model gpt-4o, /model local)
  /system [TEXT]    show or set this branch's system prompt
  /stats            stats of the last answer and of this branch
  /help             this help
  /exit             leave (Ctrl-D too); Ctrl-C stops the current answer"""


def default_session_path() -> Path:
    """``$XDG_DATA_HOME/lionrx/chat.sqlite`` (``~/.local/share/lionrx/chat.sqlite``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lionrx" / "chat.sqlite"


def _preview(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class _WithDeadlines:
    """A model whose streams carry the ``--timeout-*`` deadlines (what `Session.stream` sees)."""

    def __init__(self, model: iModel, args: argparse.Namespace) -> None:
        self.model = model
        self.args = args
        self.name = model.name
        self.config = model.config

    def stream(self, messages: Any = None, **kwargs: Any) -> Observable[Event]:
        return deadlines(self.model.stream(messages, **kwargs), self.args)


class Chat:
    """One chat: a session, the current branch and model, and the last answer's stats."""

    def __init__(
        self,
        session: Session,
        branch: Branch,
        model: iModel,
        factory: ModelFactory,
        args: argparse.Namespace,
        out: Any = None,
    ) -> None:
        self.session = session
        self.branch = branch
        self.model = model
        self.factory = factory
        self.args = args
        self.out = out or sys.stdout
        self.current: SinkHandle | None = None
        self.last: Response | None = None
        self.reader = LineReader()

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # -- Ctrl-C ------------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the answer being streamed; at the prompt, just clear the line."""
        if self.current is not None and not self.current.done:
            self.current.dispose()
        else:
            self.reader.interrupt()

    # -- one turn ----------------------------------------------------------------------------

    async def ask(self, text: str) -> Completed | Failed:
        """Send ``text`` on the current branch and stream the answer with its stats."""
        self.out.write("assistant> ")
        self.out.flush()
        # Deadlines go on the model's stream, inside the turn, so that the history records a
        # timeout as a timeout; re-chunking is for display only.
        model = _WithDeadlines(self.model, self.args)
        stream = self.session.stream(self.branch, text, imodel=model)
        handle = show(
            reshape(stream, self.args),
            mode="markdown" if self.args.markdown else "raw",
            stats=not self.args.no_stats,
            progress=self.args.progress,
        )
        self.current = handle
        try:
            outcome = await handle.wait()
        finally:
            self.current = None
        self.last = outcome.response if isinstance(outcome, Completed) else outcome.partial
        return outcome

    # -- commands ----------------------------------------------------------------------------

    def history(self) -> None:
        messages = [self.session.messages[i] for i in self.branch.order]
        system = self.branch.system
        self.say(f"── {self.branch.name}: {len(messages)} messages ──")
        if system is not None:
            self.say(f"system: {_preview(getattr(system.content, 'system_message', ''))}")
        for message in messages:
            content = message.content
            if isinstance(content, InstructionContent):
                self.say(f"you: {_preview(str(content.instruction or ''))}")
            elif isinstance(content, AssistantResponseContent):
                mark = ""
                if content.status != "complete":
                    reason = content.incomplete_reason or content.status
                    mark = f" [incomplete: {reason}]"
                self.say(f"assistant: {_preview(content.assistant_response)}{mark}")
            else:
                self.say(f"{message.role.value}: {_preview(str(content))}")

    def branches(self) -> None:
        for name, branch in self.session.branches.items():
            marker = "*" if branch is self.branch else " "
            self.say(f"{marker} {name} ({len(branch.order)} messages)")

    def switch_branch(self, name: str) -> None:
        if name in self.session.branches:
            self.branch = self.session.get_branch(name)
            self.say(f"on branch {name} ({len(self.branch.order)} messages)")
        else:
            self.branch = self.session.create_branch(name)
            self.say(f"new branch {name}")

    def fork(self, name: str | None) -> None:
        forked = self.session.fork_branch(self.branch, name=name)
        self.say(f"forked {self.branch.name} → {forked.name} ({len(forked.order)} messages)")
        self.branch = forked

    async def switch_model(self, spec: str) -> None:
        model = self.factory.build(spec)
        announce(self.factory)
        await preload(model)
        self.model = model
        self.say(f"model: {model.name}")

    def stats(self) -> None:
        if self.last is None:
            self.say("no answer yet in this chat")
        else:
            self.say(format_stats(self.last))
        answers = [
            self.session.messages[i].content
            for i in self.branch.order
            if isinstance(self.session.messages[i].content, AssistantResponseContent)
        ]
        tokens = 0
        for content in answers:
            assert isinstance(content, AssistantResponseContent)
            if content.usage is not None and content.usage.output_tokens:
                tokens += content.usage.output_tokens
        stopped = sum(
            1 for c in answers if isinstance(c, AssistantResponseContent) and c.status != "complete"
        )
        self.say(
            f"branch {self.branch.name}: {len(answers)} answers ({stopped} incomplete), "
            f"{tokens} output tokens reported"
        )

    async def command(self, line: str) -> bool:
        """Run a ``/command``; False means leave the chat."""
        name, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if name in ("exit", "quit", "q"):
            return False
        if name == "help":
            self.say(HELP)
        elif name == "history":
            self.history()
        elif name == "branch":
            if rest:
                self.switch_branch(rest)
            else:
                self.branches()
        elif name == "fork":
            self.fork(rest or None)
        elif name == "model":
            if rest:
                await self.switch_model(rest)
            else:
                self.say(f"model: {self.model.name} ({self.model.config.provider})")
        elif name == "system":
            if rest:
                self.session.set_system(self.branch, rest)
                self.say("system prompt set for this branch")
            else:
                system = self.branch.system
                text = getattr(system.content, "system_message", "") if system else ""
                self.say(f"system: {text or '(none)'}")
        elif name == "stats":
            self.stats()
        else:
            self.say(f"unknown command /{name} (/help lists them)")
        return True

    # -- the loop ----------------------------------------------------------------------------

    async def loop(self) -> int:
        while True:
            self.out.write("you> ")
            self.out.flush()
            line = await self.reader.readline()
            if line is None:
                self.say("")
                return 0
            if self.reader.interrupted:
                self.say("\n(Ctrl-C stops an answer; Ctrl-D or /exit leaves)")
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                try:
                    if not await self.command(line):
                        return 0
                except (LionrxError, ValueError, KeyError) as exc:
                    self.say(f"✗ {describe_error(exc)}")
                continue
            await self.ask(line)


async def chat_command(args: argparse.Namespace) -> int:
    """``lionrx chat``."""
    path = Path(args.session) if args.session else default_session_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    async with model_factory(args) as factory:
        model = factory.build(args.model)
        announce(factory)
        await preload(model)
        session = Session.open(path)
        try:
            if args.branch:
                names = session.branches
                branch = (
                    session.get_branch(args.branch)
                    if args.branch in names
                    else session.create_branch(args.branch)
                )
            else:
                branch = session.default_branch
            if args.system:
                session.set_system(branch, args.system)
            chat = Chat(session, branch, model, factory, args)
            resumed = len(branch.order)
            where = f"resumed {resumed} messages" if resumed else "new conversation"
            chat.say(
                f"lionrx chat · model {model.name} · {path} · branch {branch.name} ({where})"
                " · /help for commands, Ctrl-D to leave"
            )
            with interrupts(chat.interrupt):
                return await chat.loop()
        finally:
            session.close()
