"""Sinks end a pipeline: each subscribes to an event or text Observable and returns a
`SinkHandle` you can await for the final `Response` (or the failure)."""

from lionrx.providers._replay import RecordedStream, load_recordings, replay
from lionrx.sinks._console import ConsoleSink, console
from lionrx.sinks._file import FileSink, file, record
from lionrx.sinks._handle import Outcome, Sink, SinkHandle
from lionrx.sinks._history import HistorySink, history
from lionrx.sinks._tee import tee

__all__ = [
    "ConsoleSink",
    "FileSink",
    "HistorySink",
    "Outcome",
    "RecordedStream",
    "Sink",
    "SinkHandle",
    "console",
    "file",
    "load_recordings",
    "history",
    "record",
    "replay",
    "tee",
]
