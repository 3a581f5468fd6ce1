"""`communicate`: one conversational turn — instruction in, answer text out, both recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lionrx.sinks._handle import Sink, SinkHandle

if TYPE_CHECKING:
    from lionrx.session._session import BranchRef, Session

__all__ = ["communicate"]

_TURN_KEYS = frozenset(
    {"instruction", "imodel", "context", "images", "persist_interval", "pipe", "timeout"}
)


async def communicate(
    session: Session,
    branch: BranchRef | None = None,
    parameters: dict[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    """Ask ``parameters["instruction"]`` of ``parameters["imodel"]`` (a registered name or a
    model) in the context of ``branch``, record the instruction and the answer, and return the
    answer text.

    Other parameters (``context``, ``images``, ``timeout`` — seconds for the whole answer,
    ``pipe`` — event operators applied before recording, and model parameters such as
    ``temperature``) may be given in ``parameters`` or as keywords. On failure the partial
    answer is recorded as incomplete and the error (a `lionrx.errors.LionrxError` with
    ``.partial``) is raised.
    """
    params = {**(parameters or {}), **kwargs}
    if "instruction" not in params:
        raise TypeError("communicate() needs parameters={'instruction': ...}")
    turn = {k: params.pop(k) for k in list(params) if k in _TURN_KEYS}
    pipe = list(turn.get("pipe", ()))
    if turn.get("timeout") is not None:
        from lionrx.operators import timeout

        pipe.append(timeout(total=float(turn["timeout"])))
    stream = session.stream(
        branch,
        turn["instruction"],
        imodel=turn.get("imodel"),
        context=turn.get("context"),
        images=turn.get("images", ()),
        persist_interval=turn.get("persist_interval", 1.0),
        pipe=pipe,
        **params,
    )
    response = await SinkHandle(stream, Sink(), name="communicate")
    return response.text
