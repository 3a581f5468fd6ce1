"""Sinks end a pipeline: each subscribes to an event or text Observable and returns a
`SinkHandle` — ``await handle`` gives the final `Response` (or raises the failure, which
carries ``.partial``); ``await handle.wait()`` gives the outcome without raising.

- `console`: text on a terminal or pipe as it arrives (raw, sentence, live markdown), stats,
  progress, merged streams as labelled lines or columns.
- `file` / `record`: text, JSON lines or SSE appended to a file, crash-safe; recordings replay
  with ``iModel(provider="replay", path=...)`` or `replay` (any scheduler, virtual time too).
- `history`: the answer appended to a session branch (complete, or partial and marked).
- `tee`: several sinks on one subscription (one HTTP request)::

    shown, saved = tee(
        model.stream(messages), console(mode="markdown"), file("a.jsonl", format="jsonl")
    )
    response = await shown
"""

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
