"""Server-Sent Events decoding: `SSEDecoder` (incremental, I/O-free) and `ServerSentEvent`."""

from lionrx._sse import ServerSentEvent, SSEDecoder

__all__ = ["SSEDecoder", "ServerSentEvent"]
