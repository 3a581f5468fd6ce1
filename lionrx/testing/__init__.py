"""lionrx's test kit: a fake provider server, faults, strategies, stream laws, virtual time."""

from lionrx.testing._chaos import ChaosServer, Fault
from lionrx.testing._server import (
    ErrorReply,
    FakeProviderServer,
    RecordedRequest,
    Recording,
    Reply,
    Script,
    ServedResponse,
    ToolCallScript,
)
from lionrx.testing._strategies import (
    SSEStream,
    chunkings,
    event_sequences,
    sse_streams,
    texts,
)

__all__ = [
    "ChaosServer",
    "ErrorReply",
    "FakeProviderServer",
    "Fault",
    "RecordedRequest",
    "Recording",
    "Reply",
    "Script",
    "SSEStream",
    "ServedResponse",
    "ToolCallScript",
    "chunkings",
    "event_sequences",
    "sse_streams",
    "texts",
]
