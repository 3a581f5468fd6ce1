"""lionrx's test kit: a fake provider server, faults, strategies, stream laws, virtual time."""

from lionrx.testing._chaos import ChaosServer, Fault
from lionrx.testing._laws import (
    assert_stream_laws,
    check_deterministic,
    check_dispose_propagates,
    check_dispose_reaches_every_source,
    check_flush_on_error,
    check_lossless,
    check_no_empty_chunks,
    check_one_terminal,
    check_order,
    event_input,
)
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
from lionrx.testing._virtual import (
    OperatorFactory,
    VirtualRun,
    messages,
    output_text,
    run_virtual,
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
    "OperatorFactory",
    "VirtualRun",
    "assert_stream_laws",
    "check_deterministic",
    "check_dispose_propagates",
    "check_dispose_reaches_every_source",
    "check_flush_on_error",
    "check_lossless",
    "check_no_empty_chunks",
    "check_one_terminal",
    "check_order",
    "event_input",
    "messages",
    "output_text",
    "run_virtual",
]
