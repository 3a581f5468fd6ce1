"""lionrx: LLM streaming output as cold reactive streams of typed events."""

from lionrx._bridge import from_async_iterable, to_async_iterable
from lionrx._errors import LionrxError
from lionrx._events import (
    Completed,
    Event,
    Failed,
    Response,
    TextDelta,
)
from lionrx.services import Calling, EventStatus, iModel
from lionrx.session import Session

__version__ = "0.1.0"

__all__ = [
    "Completed",
    "Event",
    "Calling",
    "EventStatus",
    "Failed",
    "LionrxError",
    "Response",
    "Session",
    "TextDelta",
    "__version__",
    "from_async_iterable",
    "iModel",
    "to_async_iterable",
]
