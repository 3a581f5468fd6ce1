"""Stream lionrx pipelines to browsers: `sse_response` for any aiohttp app, a resumable
in-flight store, a safe progressive JavaScript renderer, and the ``lionrx web`` chat page."""

from lionrx.web._app import STATIC_DIR, client_routes, create_app
from lionrx.web._hub import OutcomeCallback, StreamHub, default_hub, sse_response
from lionrx.web._main import main
from lionrx.web._store import MemoryResumeStore, ResumeStore, ResumeUnavailable, StoredEvent
from lionrx.web._wire import BlockSplitter, MarkdownSplitter, WireEncoder, default_splitter

__all__ = [
    "STATIC_DIR",
    "BlockSplitter",
    "MarkdownSplitter",
    "MemoryResumeStore",
    "OutcomeCallback",
    "ResumeStore",
    "ResumeUnavailable",
    "StoredEvent",
    "StreamHub",
    "WireEncoder",
    "client_routes",
    "create_app",
    "default_hub",
    "default_splitter",
    "main",
    "sse_response",
]
