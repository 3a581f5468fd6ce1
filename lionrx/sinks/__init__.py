"""Sinks end a pipeline: each subscribes to an event or text Observable and returns a
`SinkHandle` you can await for the final `Response` (or the failure)."""

from lionrx.sinks._handle import Outcome, Sink, SinkHandle

__all__ = [
    "Outcome",
    "Sink",
    "SinkHandle",
]
