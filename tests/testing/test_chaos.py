"""Each fault of the chaos server, checked on the raw bytes a plain aiohttp client receives."""

from __future__ import annotations

import asyncio
import json
import math
import time

import aiohttp
import pytest

from lionrx.testing import ChaosServer, FakeProviderServer, Fault, Recording, Script

BODY = b"".join(b'data: {"n": %d, "text": "chunk %d"}\n\n' % (i, i) for i in range(20))


async def fetch(
    server: FakeProviderServer, path: str = "/v1/chat/completions"
) -> tuple[int, str, bytes, list[bytes]]:
    pieces: list[bytes] = []
    async with aiohttp.ClientSession() as s:
        async with s.post(server.url + path, json={"stream": True}) as r:
            async for piece in r.content.iter_any():
                pieces.append(piece)
            return r.status, r.headers.get("Content-Type", ""), b"".join(pieces), pieces


@pytest.mark.parametrize("k", [0, 1, 17, 100, len(BODY) - 1])
async def test_drop_delivers_exactly_k_bytes_then_breaks(
    fake_server: FakeProviderServer, k: int
) -> None:
    fake_server.queue(Recording(data=BODY, fault=Fault.drop(k)))
    received = bytearray()
    async with aiohttp.ClientSession() as s:
        async with s.post(fake_server.url + "/x", json={}) as r:
            with pytest.raises(aiohttp.ClientPayloadError):
                async for piece in r.content.iter_any():
                    received.extend(piece)
    assert fake_server.responses[-1].outcome == "dropped"
    assert bytes(fake_server.responses[-1].body) == BODY[:k]
    assert BODY.startswith(bytes(received)) and len(received) <= k


async def test_stall_pauses_at_byte_k(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Recording(data=BODY, fault=Fault.stall(50, 0.3)))
    t0 = time.monotonic()
    status, _, body, _ = await fetch(fake_server)
    assert body == BODY and time.monotonic() - t0 >= 0.3


async def test_keepalive_only_then_the_answer(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Recording(data=BODY, fault=Fault.keepalive_only(0.25, interval=0.05)))
    _, _, body, _ = await fetch(fake_server)
    head, _, rest = body.partition(b"data:")
    assert head.count(b": keep-alive\n\n") >= 3 and set(head.split(b": keep-alive\n\n")) == {b""}
    assert b"data:" + rest == BODY


async def test_keepalive_forever_until_the_client_leaves(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Recording(data=BODY, fault=Fault.keepalive_only(math.inf, 0.02)))
    async with aiohttp.ClientSession() as s:
        r = await s.post(fake_server.url + "/x", json={})
        got = b""
        while got.count(b"keep-alive") < 5:
            got += await r.content.readany()
        r.close()
    await fake_server.wait_for_disconnect()


@pytest.mark.parametrize("ctype", ["text/event-stream", "application/x-ndjson"])
async def test_garbage_line(fake_server: FakeProviderServer, ctype: str) -> None:
    fake_server.queue(Recording(data=BODY, content_type=ctype, fault=Fault.garbage(0)))
    _, _, body, _ = await fetch(fake_server)
    if "event-stream" in ctype:
        assert body.startswith(b"garbage without a colon\n") and body.endswith(BODY)
    else:
        assert body.startswith(b"this is not json\n")


async def test_invalid_json_keeps_the_framing(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Recording(data=BODY, fault=Fault.invalid_json(0)))
    _, _, body, _ = await fetch(fake_server)
    first, _, rest = body.partition(b"\n\n")
    assert first.startswith(b"data: {") and rest == BODY.partition(b"\n\n")[2]
    with pytest.raises(ValueError):
        json.loads(first[5:])


async def test_invalid_utf8_in_a_text_value(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="hello world", fault=Fault.invalid_utf8(1)))
    _, _, body, _ = await fetch(fake_server)
    assert b'"content":"\xff\xfe' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode()


async def test_huge_line(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="hello world", fault=Fault.huge_line(4 * 1024 * 1024, 1)))
    _, _, body, _ = await fetch(fake_server)
    longest = max(body.split(b"\n"), key=len)
    assert len(longest) > 4 * 1024 * 1024 and b"x" * 1000 in longest


async def test_trickle_writes_one_byte_at_a_time(fake_server: FakeProviderServer) -> None:
    data = BODY[:200]
    fake_server.queue(Recording(data=data, fault=Fault.trickle(0.001)))
    _, _, body, pieces = await fetch(fake_server)
    assert body == data and len(pieces) > 50


async def test_splitting_cuts_frames_into_network_pieces(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Recording(data=BODY, chunk_size=40, fault=Fault.splitting(3, 7)))
    _, _, body, _ = await fetch(fake_server)
    assert body == BODY


async def test_close_before_headers(fake_server: FakeProviderServer) -> None:
    fake_server.queue(Script(text="x", fault=Fault.close_before_headers()))
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await s.post(fake_server.url + "/v1/chat/completions", json={})
    assert fake_server.responses[-1].outcome == "closed_before_headers"
    assert fake_server.disconnects == 0  # the server's doing, not the client's


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "text/plain", "application/json"])
async def test_wrong_content_type(fake_server: FakeProviderServer, ctype: str) -> None:
    fake_server.queue(Script(text="x", fault=Fault.wrong_content_type(ctype)))
    status, got, body, _ = await fetch(fake_server)
    assert status == 200 and got == ctype and body.startswith(b"data: ")


async def test_chaos_server_draws_faults_reproducibly() -> None:
    faults = [None, Fault.drop(10), Fault.trickle()]
    runs = []
    for _ in range(2):
        async with ChaosServer(Script(text="a b c"), faults=faults, seed=7) as server:
            for _ in range(12):
                try:
                    await fetch(server)
                except aiohttp.ClientError:
                    pass
            runs.append([f.kind if f else None for f in server.applied])
            counts = server.fault_counts()
    assert runs[0] == runs[1] and len(runs[0]) == 12
    assert sum(counts.values()) == 12 and len(counts) >= 2


async def test_server_close_is_not_a_client_disconnect() -> None:
    server = FakeProviderServer(Script(text="x", first_delay=10))
    await server.start()
    async with aiohttp.ClientSession() as s:
        task = asyncio.ensure_future(
            s.post(server.url + "/v1/chat/completions", json={"stream": True})
        )
        await server.wait_for(lambda: server.open_streams == 1)
        await server.close()
        resp = await task
        with pytest.raises(aiohttp.ClientError):
            await resp.read()
        resp.close()
    assert server.disconnects == 0 and server.responses[-1].outcome == "server_closed"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("drop:300", Fault.drop(300)),
        ("stall:10:0.5", Fault.stall(10, 0.5)),
        ("keepalive_only", Fault.keepalive_only()),
        ("keepalive_only:2", Fault.keepalive_only(2.0)),
        ("garbage:3", Fault.garbage(3)),
        ("invalid_json", Fault.invalid_json(1)),
        ("invalid_utf8:0", Fault.invalid_utf8(0)),
        ("huge_line:1000", Fault.huge_line(1000)),
        ("trickle:0.01", Fault.trickle(0.01)),
        ("close_before_headers", Fault.close_before_headers()),
        (
            "wrong_content_type:text/plain; charset=x",
            Fault.wrong_content_type("text/plain; charset=x"),
        ),
    ],
)
def test_command_line_fault_specs(spec: str, expected: Fault) -> None:
    from lionrx.testing.server import parse_fault

    assert parse_fault(spec) == expected


@pytest.mark.parametrize("spec", ["nope", "drop", "stall:1", "drop:x"])
def test_bad_fault_specs_are_refused(spec: str) -> None:
    import argparse

    from lionrx.testing.server import parse_fault

    with pytest.raises(argparse.ArgumentTypeError):
        parse_fault(spec)


def test_command_line_serves_a_fault() -> None:
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "lionrx.testing.server", "--fault", "wrong_content_type:text/html"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        req = urllib.request.Request(url + "/v1/chat/completions", data=b'{"stream": true}')
        with urllib.request.urlopen(req) as r:
            assert r.headers["Content-Type"] == "text/html"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
