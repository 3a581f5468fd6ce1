"""A canary API key never shows up anywhere lionrx puts text: reprs and strs of every lionrx
object alive after real calls (found through the garbage collector), log records, exceptions and
their tracebacks, history rows on disk, recordings, the web pages; and servers bind 127.0.0.1
unless told otherwise."""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import ipaddress
import json
import logging
import os
import pkgutil
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from reliability_helpers import base_url, run_to_end

import lionrx
from lionrx.errors import error_to_dict
from lionrx.events import Failed, dump_event
from lionrx.operators import timeout
from lionrx.services import iModel
from lionrx.session import Session
from lionrx.sinks import file, history, tee
from lionrx.testing import ErrorReply, FakeProviderServer, Fault, Script

# Not key-shaped (no sk- prefix), so only registration can hide it: the hardest case.
CANARY = "canary-Zq8r4TfX2mWc9LpK7vB3"


def texts_of(obj: Any) -> list[str]:
    out = []
    for fn in (repr, str):
        try:
            out.append(fn(obj))
        except Exception as exc:  # a broken repr is a bug too, but not this test's
            out.append(f"<{fn.__name__} failed: {exc!r}>")
    return out


def exception_texts(exc: BaseException) -> list[str]:
    out = texts_of(exc) + ["".join(traceback.format_exception(exc))]
    out.append(json.dumps(error_to_dict(exc), default=str))
    for arg in exc.args:
        out.extend(texts_of(arg))
    if exc.__cause__ is not None:
        out.extend(exception_texts(exc.__cause__))
    return out


async def exercise(
    server: FakeProviderServer, tmp: Path, caplog: pytest.LogCaptureFixture
) -> list[str]:
    """Real calls that succeed, fail in every way, and are recorded; returns every text seen."""
    seen: list[str] = []
    # A hostile server that echoes the key back in its error bodies and stream.
    echo = {"error": {"message": f"Incorrect API key provided: {CANARY}", "type": "x"}}
    session = Session.open(tmp / "history.sqlite")
    models = [
        iModel(provider=w, model="m", base_url=base_url(server, w), api_key=CANARY, max_retries=0)
        for w in ("openai", "anthropic", "ollama")
    ]
    try:
        for model in models:
            seen += texts_of(model) + texts_of(model.backend) + texts_of(model.config)
            seen.append(model.config.model_dump_json())
            for reply in (
                Script(text="fine"),
                ErrorReply(401, echo),
                ErrorReply(500, f"upstream said {CANARY}"),
                Script(text="cut", fault=Fault.drop(200)),
                Script(text="bad", fault=Fault.invalid_json(1)),
                Script(text=f"model says {CANARY[:6]}", fault=Fault.stall(100, 30)),
            ):
                server.queue(reply)
                stream = model.stream("hello").pipe(timeout(idle=0.3))
                jsonl, sse = tmp / f"{model.name.replace('/', '_')}.jsonl", tmp / "rec.sse"
                handles = tee(
                    stream,
                    history(session, persist_interval=0),
                    file(str(jsonl), format="jsonl"),
                    file(str(sse), format="sse"),
                )
                outcomes = await asyncio.gather(*(h.wait() for h in handles))
                for outcome in outcomes:
                    seen += texts_of(outcome) + [dump_event(outcome)]
                    if isinstance(outcome, Failed):
                        seen += exception_texts(outcome.error)
            server.queue(ErrorReply(401, echo))
            calling = await model.invoke("hello")
            seen += texts_of(calling)
            if hasattr(calling, "model_dump_json"):
                seen.append(calling.model_dump_json())
            server.queue(ErrorReply(401, echo))
            with pytest.raises(lionrx.errors.LionrxError) as info:
                async for _ in model.invoke_stream("hello"):
                    pass
            seen += exception_texts(info.value)
            trace = await run_to_end(model.stream("again"))
            seen += [texts_of(e)[0] for e in trace.items]
        exported = session.export_branch()
        seen.append(exported)
        (tmp / "exported-branch.json").write_text(exported, encoding="utf-8")
    finally:
        for model in models:
            await model.aclose()
        session.close()
    # Every lionrx object still alive, whatever it is.
    gc.collect()
    for obj in gc.get_objects():
        module = type(obj).__dict__.get("__module__", "")
        if not isinstance(module, str):
            continue
        if module.startswith("lionrx") and not module.startswith("lionrx.testing"):
            seen += texts_of(obj)
    seen += [r.getMessage() for r in caplog.records]
    seen += [caplog.text]
    # Everything written to disk.
    for path in tmp.rglob("*"):
        if path.is_file():
            seen.append(path.read_bytes().decode("utf-8", "replace"))
    return seen


async def test_the_canary_key_never_appears(
    fake_server: FakeProviderServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen = await exercise(fake_server, tmp_path, caplog)
    assert len(seen) > 200
    leaks = [s for s in seen if CANARY in s]
    assert not leaks, leaks[:3]
    # The echoed key really reached lionrx's errors, and was redacted there.
    assert any("Incorrect API key provided: ***" in s for s in seen)
    # The key was really sent (so the scan is not vacuous) and the server recorded it redacted.
    assert all(
        "REDACTED" in (r.headers.get("authorization", ""), r.headers.get("x-api-key", ""))
        for r in fake_server.requests
        if not r.path.startswith("/api/")
    )
    assert CANARY not in repr(fake_server.requests)
    # Recordings, history files and exported branches carry no credential headers at all.
    on_disk = [
        p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()
    ]
    assert on_disk
    for text in on_disk:
        lowered = text.lower()
        for header in ("authorization", "x-api-key", "bearer "):
            assert header not in lowered, header


async def test_the_web_pages_never_show_the_key(
    fake_server: FakeProviderServer, tmp_path: Path
) -> None:
    from lionrx.web import create_app

    fake_server.default = Script(text="a web answer", chunk_size=3)
    model = iModel(
        provider="openai", model="m", base_url=fake_server.openai_base_url, api_key=CANARY
    )
    app = create_app([model], session=str(tmp_path / "web.sqlite"), close_models=True)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    pages: list[str] = []
    try:
        async with aiohttp.ClientSession() as client:
            for path in ("/", "/api/state"):
                async with client.get(url + path) as r:
                    pages.append(await r.text())
            for reply in (Script(text="ok"), ErrorReply(401, {"error": {"message": CANARY}})):
                fake_server.queue(reply)
                async with client.post(
                    url + "/api/conversations/new/turns",
                    json={"text": "hi", "models": [model.name]},
                ) as r:
                    turn = await r.json()
                    pages.append(json.dumps(turn))
                for stream in turn["streams"]:
                    async with client.get(url + stream["url"]) as r:
                        pages.append(await r.text())
                async with client.get(url + f"/api/conversations/{turn['conversation']}") as r:
                    pages.append(await r.text())
    finally:
        await runner.cleanup()
    assert any("a web answer" in p or "ok" in p for p in pages)
    assert not [p for p in pages if CANARY in p]


def test_servers_bind_loopback_by_default() -> None:
    """Every function or class in lionrx with a ``host`` parameter defaults to loopback."""
    found = []
    for info in pkgutil.walk_packages(lionrx.__path__, "lionrx."):
        if "_local" in info.name or info.name.endswith("__main__"):
            continue  # optional llama.cpp dependency; entry-point scripts
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for _, obj in inspect.getmembers(module):
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            try:
                params = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if "host" in params:
                default = params["host"].default
                found.append((info.name, obj.__name__, default))
                assert default in ("127.0.0.1", "localhost", None, inspect.Parameter.empty), (
                    info.name,
                    obj.__name__,
                    default,
                )
    assert any(name == "FakeProviderServer" for _, name, _ in found)
    # The command-line servers too.
    from lionrx.testing.server import _parser

    assert _parser().parse_args([]).host == "127.0.0.1"
    from lionrx.web import _main

    assert _main.build_parser().parse_args([]).host == "127.0.0.1"


LISTENERS = ("TCPSite(", "run_app(", "create_server(", "start_server(", "--host", ".bind(")


def test_every_listening_socket_is_one_we_checked() -> None:
    """lionrx opens listening sockets only in the two servers checked above, and no module that
    listens names an all-interfaces address. (Client code may: ``OLLAMA_HOST=0.0.0.0`` is how
    an Ollama server is told to listen, and its clients read it as the local host.)"""
    root = Path(lionrx.__file__).parent
    sites = []
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for needle in LISTENERS:
            if needle in source:
                sites.append(str(path.relative_to(root)))
                assert "0.0.0.0" not in source and "'::'" not in source, path
    assert sorted(set(sites)) == ["testing/_server.py", "testing/server.py", "web/_main.py"]


ROOT = Path(lionrx.__file__).resolve().parent.parent


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """The (address, port) of every TCP socket process ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            raw = bytes.fromhex(hex_addr)
            # /proc prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            addr = str(ipaddress.ip_address(words))
            found.append((addr, int(hex_port, 16)))
    return found


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["-m", "lionrx.testing.server"], "127.0.0.1"),
        (
            ["-m", "lionrx", "web", "--fake", "--port", "0", "--session", "{tmp}/web.sqlite"],
            "127.0.0.1",
        ),
        ([str(ROOT / "examples" / "14_web_app.py"), "--fake", "--port", "0"], "127.0.0.1"),
        # Told otherwise (another loopback address, so nothing is exposed): obeyed.
        (["-m", "lionrx.testing.server", "--host", "127.0.0.2"], "127.0.0.2"),
        (
            ["-m", "lionrx", "web", "--fake", "--port", "0", "--host", "127.0.0.2"]
            + ["--session", "{tmp}/web.sqlite"],
            "127.0.0.2",
        ),
    ],
    ids=["fake-server", "lionrx-web", "example-web-app", "fake-server-host", "lionrx-web-host"],
)
def test_started_servers_listen_on_loopback_only(
    command: list[str], expected: str, tmp_path: Path
) -> None:
    """Start each server lionrx ships the way a user does, and read from the kernel which
    addresses its process listens on: loopback only, unless told otherwise."""
    args = [sys.executable, *(a.replace("{tmp}", str(tmp_path)) for a in command)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path)}
    for key in [k for k in env if k.endswith("_API_KEY") or k == "LIONRX_PROVIDER"]:
        del env[key]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True
    )
    try:
        assert proc.stdout is not None
        url = None
        lines = []
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"http://[^\s/]+:(\d+)", line)
            if match:
                url = match.group(0)
        assert url is not None, "".join(lines)
        addresses = listening_addresses(proc.pid)
        assert addresses, "no listening socket found"
        port = int(url.rsplit(":", 1)[1])
        assert (expected, port) in addresses, addresses
        # Anything else it listens on (``lionrx web --fake`` runs the fake provider server in
        # the same process) is on loopback too.
        assert {addr for addr, _ in addresses} <= {expected, "127.0.0.1"}, addresses
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_test_and_example_servers_bind_loopback() -> None:
    """The servers the tests and examples start (the llama.cpp server fixture, the web test
    helper, the benchmark server, the example web app) name 127.0.0.1 where they bind, and no
    file names an all-interfaces address."""
    sites = {}
    for folder in ("examples", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == Path(__file__).name or ".hypothesis" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            if any(needle in source for needle in LISTENERS):
                assert "0.0.0.0" not in source, path
            for needle in ("TCPSite(", '"--host",'):
                for match in re.finditer(re.escape(needle), source):
                    following = source[match.end() : match.end() + 80]
                    sites[f"{path.relative_to(ROOT)}:{needle}"] = following
    assert 'tests/local/conftest.py:"--host",' in sites  # the llama.cpp server fixture
    assert "examples/14_web_app.py:TCPSite(" in sites
    for site, following in sites.items():
        assert '"127.0.0.1"' in following.split(")")[0] or following.lstrip().startswith(
            '"127.0.0.1"'
        ), (site, following)
