"""Newline-delimited JSON decoding: `NDJSONDecoder` (incremental, I/O-free)."""

from lionrx._ndjson import NDJSONDecoder

__all__ = ["NDJSONDecoder"]
