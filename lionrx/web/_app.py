"""The ``lionrx web`` chat page: an aiohttp app that streams answers into a browser.

Conversations live in a `lionrx.session.Session` (SQLite when opened from a file): each
conversation is one branch per "lane" (two lanes in compare mode, one model each). A turn runs
``session.stream(...)`` per lane through a `StreamHub`, so the answer is recorded by the
history sink (complete, or partial and marked when stopped), streamed as resumable SSE, and
cancelled upstream by the Stop button.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from lionrx._errors import redact
from lionrx.web._hub import StreamHub, last_event_id, parse_event_id

__all__ = ["HUB", "MODELS", "SESSION", "STATIC_DIR", "client_routes", "create_app"]

STATIC_DIR = Path(__file__).parent / "static"
"""The browser client (``lionrx.js``) and the chat page's files, shipped as package data."""


def client_routes(prefix: str = "/lionrx") -> list[web.AbstractRouteDef]:
    """Routes serving ``lionrx.js`` (and the chat page's files) under ``prefix``, for any app:
    ``app.add_routes(client_routes())``, then in the page ``import {StreamView, streamInto}
    from "/lionrx/lionrx.js"``."""
    return [web.static(prefix, STATIC_DIR, append_version=False)]


HUB: web.AppKey[StreamHub] = web.AppKey("lionrx_hub", StreamHub)
SESSION = web.AppKey[Any]("lionrx_session")
MODELS = web.AppKey[dict[str, Any]]("lionrx_models")
_BLOCKS = web.AppKey("lionrx_blocks", bool)
_ACTIVE = web.AppKey[dict[str, str]]("lionrx_active")

_CONV_PREFIX = "c-"
_LANE_SEP = "~"
_MAX_INSTRUCTION = 100_000
_MAX_LANES = 4

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@web.middleware
async def _security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    # Defence in depth: the client never injects model text as HTML, and the page would not
    # run an inline script or load a foreign image even if it did.
    if not response.prepared:
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _lanes(session: Any, conv: str) -> list[Any]:
    branches = session.branches
    lanes = []
    if conv in branches:
        lanes.append(branches[conv])
        i = 1
        while f"{conv}{_LANE_SEP}{i}" in branches:
            lanes.append(branches[f"{conv}{_LANE_SEP}{i}"])
            i += 1
    return lanes


def _message_json(message: Any) -> dict[str, Any]:
    content = message.content
    role = message.role.value
    out: dict[str, Any] = {"id": str(message.id), "role": role}
    if role == "assistant":
        out["text"] = content.assistant_response
        out["status"] = content.status
        out["reason"] = content.incomplete_reason
        out["model"] = content.source or content.model_name
        out["stop_reason"] = content.stop_reason
        if content.error:
            out["error"] = content.error
    elif role == "user":
        out["text"] = content.instruction
    else:
        out["text"] = str(getattr(content, "rendered", ""))
    return out


def _title(session: Any, branch: Any) -> str:
    for mid in branch.order:
        message = session.messages[mid]
        if message.role.value == "user":
            text = str(message.content.instruction).strip().splitlines()
            return (text[0] if text else "")[:80] or "(empty)"
    return "New conversation"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": redact(message)}, status=status)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "chat.html", headers={"Cache-Control": "no-cache"})


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _state(request: web.Request) -> web.Response:
    session = request.app[SESSION]
    named: dict[str, Any] = request.app[MODELS]
    models = list(named)
    conversations = []
    for name, branch in session.branches.items():
        if not name.startswith(_CONV_PREFIX) or _LANE_SEP in name:
            continue
        conversations.append(
            {"id": name, "title": _title(session, branch), "lanes": len(_lanes(session, name))}
        )
    conversations.reverse()  # newest first
    return web.json_response(
        {
            "models": models,
            "default_model": models[0] if models else None,
            "conversations": conversations,
        }
    )


async def _conversation(request: web.Request) -> web.Response:
    session = request.app[SESSION]
    conv = request.match_info["conv"]
    lanes = _lanes(session, conv)
    if not conv.startswith(_CONV_PREFIX) or not lanes:
        return _error(404, f"no conversation {conv!r}")
    active = request.app[_ACTIVE]
    hub = request.app[HUB]
    out = []
    for branch in lanes:
        messages = [_message_json(session.messages[mid]) for mid in branch.order]
        key = active.get(branch.name)
        live = key if key is not None and hub.in_flight(key) else None
        model = next((m["model"] for m in reversed(messages) if m.get("model")), None)
        out.append({"branch": branch.name, "model": model, "messages": messages, "live": live})
    return web.json_response({"id": conv, "title": _title(session, lanes[0]), "lanes": out})


async def _turn(request: web.Request) -> web.Response:
    app = request.app
    session = app[SESSION]
    models = app[MODELS]
    hub = app[HUB]
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the request body must be JSON")
    if not isinstance(body, dict):
        return _error(400, "the request body must be a JSON object")
    text = body.get("text")
    chosen = body.get("models")
    if not isinstance(text, str) or not text.strip():
        return _error(400, "say something: 'text' must be a non-empty string")
    if len(text) > _MAX_INSTRUCTION:
        return _error(413, f"the message is too long (over {_MAX_INSTRUCTION} characters)")
    if not isinstance(chosen, list) or not 1 <= len(chosen) <= _MAX_LANES:
        return _error(400, f"'models' must be a list of 1 to {_MAX_LANES} model names")
    unknown = [m for m in chosen if not isinstance(m, str) or m not in models]
    if unknown:
        return _error(400, f"unknown model(s) {unknown!r}; known: {sorted(models)}")
    conv = request.match_info["conv"]
    if conv == "new":
        conv = _CONV_PREFIX + secrets.token_hex(6)
        for i in range(len(chosen)):
            session.create_branch(conv if i == 0 else f"{conv}{_LANE_SEP}{i}")
    lanes = _lanes(session, conv)
    if not conv.startswith(_CONV_PREFIX) or not lanes:
        return _error(404, f"no conversation {conv!r}")
    if len(lanes) != len(chosen):
        return _error(
            409, f"this conversation has {len(lanes)} lane(s); send {len(lanes)} model name(s)"
        )
    active = app[_ACTIVE]
    if any(active.get(b.name) and hub.in_flight(active[b.name]) for b in lanes):
        return _error(409, "an answer is still streaming in this conversation; stop it first")
    streams = []
    for lane, (branch, name) in enumerate(zip(lanes, chosen, strict=True)):
        observable = session.stream(branch, text, imodel=name)
        key = await hub.start(observable, blocks=app[_BLOCKS])
        active[branch.name] = key
        streams.append({"key": key, "lane": lane, "model": name, "url": f"/api/streams/{key}"})
    return web.json_response({"conversation": conv, "streams": streams})


async def _stream(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    key = request.match_info["key"]
    after = None
    resume = parse_event_id(last_event_id(request))
    if resume is not None and resume[0] == key:
        after = resume[1]
    return await hub.respond(request, key, after=after)


async def _cancel(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    key = request.match_info["key"]
    cancelled = await hub.cancel(key, "stopped by the user")
    return web.json_response({"cancelled": cancelled})


def create_app(
    models: Mapping[str, Any] | Sequence[Any],
    *,
    session: Any = None,
    hub: StreamHub | None = None,
    blocks: bool = True,
    close_models: bool = False,
) -> web.Application:
    """The chat app.

    ``models``: iModels (a sequence, named by ``model.name``, or a mapping name → model); the
    first is the default. ``session``: a `lionrx.session.Session`, or a path to open one
    (SQLite; closed on cleanup), or None for an in-memory session. ``hub``: the `StreamHub`
    (default: one with an in-memory store). ``blocks``: mark committed markdown blocks so the
    browser renders each once (False: the page redraws the whole answer on every update).
    ``close_models``: ``aclose()`` the models on cleanup.
    """
    from lionrx.session import Session

    if isinstance(models, Mapping):
        named = dict(models)
    else:
        named = {m.name: m for m in models}
    if not named:
        raise ValueError("create_app needs at least one model")
    if hub is None:
        hub = StreamHub()

    owned_session = not isinstance(session, Session)
    if isinstance(session, Session):
        store = session
    elif session is None:
        store = Session()
    else:
        store = Session.open(session)
    for name, model in named.items():
        if name not in store.services:
            store.services.register(model, name=name)

    app = web.Application(middlewares=[_security_headers])
    app[HUB] = hub
    app[SESSION] = store
    app[MODELS] = named
    app[_ACTIVE] = {}
    app[_BLOCKS] = blocks

    async def cleanup(app: web.Application) -> None:
        await hub.aclose()
        if close_models:
            for model in named.values():
                await model.aclose()
        if owned_session:
            store.close()

    app.on_cleanup.append(cleanup)
    app.router.add_get("/", _index)
    app.router.add_get("/favicon.ico", _no_icon)
    app.router.add_get("/api/state", _state)
    app.router.add_get("/api/conversations/{conv}", _conversation)
    app.router.add_post("/api/conversations/{conv}/turns", _turn)
    app.router.add_get("/api/streams/{key}", _stream)
    app.router.add_post("/api/streams/{key}/cancel", _cancel)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
    return app
