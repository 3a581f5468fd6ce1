"""The console sink: answers on a terminal (or a pipe) the moment they arrive.

Modes: ``raw`` (each chunk), ``sentence`` (each whole sentence) and ``markdown`` (in a
terminal, finished blocks rendered once and only the pending tail redrawn; in a pipe, plain
text). Optional stats line, progress display (``dots`` or a live ``line``) and, for merged
streams, each label's text kept apart (labelled lines, or side-by-side columns).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, TextIO, overload

from reactivex import Observable
from reactivex.abc import DisposableBase, SchedulerBase

from lionrx._errors import ConfigurationError, StreamCancelled
from lionrx._events import (
    Completed,
    Event,
    Failed,
    Fallback,
    ReasoningDelta,
    Response,
    TextDelta,
)
from lionrx._segment import MarkdownBlock, MarkdownBlockSplitter, SentenceSegmenter
from lionrx.sinks._handle import Outcome, Sink, SinkHandle
from lionrx.sinks._stats import format_progress, format_stats
from lionrx.sinks._tee import SinkFactory
from lionrx.sinks._terminal import (
    LiveRegion,
    cell_width,
    fit,
    terminal_size,
    wrap_rows,
    wrap_window,
)

__all__ = ["ConsoleSink", "console"]

ConsoleMode = Literal["raw", "sentence", "markdown"]
ProgressStyle = Literal["dots", "line"]
LabelLayout = Literal["auto", "lines", "columns", "none"]

_DIM = "\x1b[2m"
_UNDIM = "\x1b[22m"
_RED = "\x1b[31m"
_RESET = "\x1b[0m"

# Control characters in model output become their visible Unicode pictures (ESC → ␛), except
# newline and tab; C1 controls (which some terminals obey) become "�".
_CONTROL_PICTURES = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_CONTROL_PICTURES[0x7F] = 0x2421
_CONTROL_PICTURES.update({c: 0xFFFD for c in range(0x80, 0xA0)})


def _rich_markdown(width: int) -> Callable[[str], str] | None:
    """A renderer of one markdown block to ANSI text, or None without ``rich``."""
    try:
        from rich.console import Console
        from rich.markdown import Markdown
    except ImportError:
        return None
    buffer = io.StringIO()
    target = Console(file=buffer, force_terminal=True, width=width, highlight=False)

    def render(block: str) -> str:
        target.print(Markdown(block))
        out = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        # rich drops the blank line that separates blocks; keep the source's spacing.
        if block.endswith("\n\n") and not out.endswith("\n\n"):
            out += "\n"
        return out

    return render


class _Lane:
    """Per-source state: segmenters and what has been shown."""

    __slots__ = ("label", "sentences", "blocks", "held", "rows", "row", "row_cells")

    def __init__(self, label: str | None) -> None:
        self.label = label
        self.sentences: SentenceSegmenter | None = None
        self.blocks: MarkdownBlockSplitter | None = None
        """Live markdown: the splitter, which also holds the pending tail (read only when a
        redraw is due, and only its visible end)."""
        self.held: list[str] = []
        """Text held back until the end (dots progress)."""
        self.rows: list[str] = []
        """Columns layout: finished rows of this column."""
        self.row = ""
        self.row_cells = 0


class ConsoleSink(Sink):
    """Renders a stream on a text stream; see `console` for the options."""

    def __init__(
        self,
        stream: TextIO,
        *,
        mode: ConsoleMode = "raw",
        stats: bool = False,
        progress: ProgressStyle | None = None,
        live: bool | None = None,
        labels: LabelLayout = "auto",
        rich: bool | None = None,
        reasoning: bool = False,
        refresh: float = 1 / 30,
        scheduler: SchedulerBase | None = None,
        size: Callable[[], tuple[int, int]] | None = None,
        sources: Sequence[str] | None = None,
        sanitize: bool | None = None,
    ) -> None:
        if mode not in ("raw", "sentence", "markdown"):
            raise ConfigurationError(f"unknown console mode {mode!r} (raw, sentence, markdown)")
        if progress not in (None, "dots", "line"):
            raise ConfigurationError(f"unknown progress display {progress!r} (dots or line)")
        if labels not in ("auto", "lines", "columns", "none"):
            raise ConfigurationError(f"unknown label layout {labels!r}")
        self.stream = stream
        self.mode = mode
        self.stats = stats
        self.progress = progress
        self.labels = labels
        self.reasoning = reasoning
        self.refresh = refresh
        self.scheduler = scheduler
        self._scheduler: SchedulerBase | None = scheduler
        self._refresh_delta = timedelta(seconds=refresh)
        if live is None:
            isatty = getattr(stream, "isatty", None)
            live = bool(isatty and isatty())
        self.live = live
        self._size = size or (lambda: terminal_size(stream))
        self.region: LiveRegion | None = LiveRegion(self._raw_write, self._size) if live else None
        self._render: Callable[[str], str] | None = None
        if live and mode == "markdown" and rich is not False:
            self._render = _rich_markdown(self._size()[0])
            if rich and self._render is None:
                raise ConfigurationError("rich=True but the rich package is not installed")
        self._lanes: dict[str | None, _Lane] = {}
        self._last_lane: _Lane | None = None
        self._at_line_start = True
        self._status: dict[str | None, str] = {}
        self._dirty = False
        self._last_draw: datetime | None = None
        self._timer: DisposableBase | None = None
        self._columns_done: set[str | None] = set()
        self._committed_rows = 0
        self._deferred: list[str] = []
        self._closed = False
        self.sanitize = live if sanitize is None else sanitize
        for label in sources or ():
            # Known labels up front: columns (and labels) from the very first chunk, in order.
            self._lane(label)

    # -- output ------------------------------------------------------------------------------

    def _raw_write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _emit(self, text: str, *, redraw: bool = True) -> None:
        """Write text for good (above the live region in a terminal)."""
        if not text:
            return
        self._at_line_start = text.endswith("\n")
        if self.region is not None:
            self.region.update(text, self._live_rows() if redraw else None)
            self._drawn()
        else:
            self._raw_write(text)

    def _newline_if_needed(self) -> str:
        return "" if self._at_line_start else "\n"

    # -- live rows ---------------------------------------------------------------------------

    def _live_rows(self) -> list[str]:
        region = self.region
        assert region is not None
        width, budget = region.row_width, region.max_rows
        rows: list[str] = []
        status = [fit(line, width) for line in self._status.values()]
        budget -= len(status)
        if self._columns_active():
            rows = self._column_live_rows(budget)
        else:
            for lane in self._lanes.values():
                blocks = lane.blocks
                if blocks is not None and blocks.pending_size:
                    # Only the end that can show is fetched: the cost of a redraw is bounded
                    # by the terminal's size, not by the length of the pending block.
                    size = blocks.pending_size
                    left = budget - len(rows)
                    tail = blocks.pending_tail(wrap_window(size, width, left))
                    rows.extend(wrap_rows(tail, width, left, size))
        return rows + status

    def _drawn(self) -> None:
        self._dirty = False
        if self.scheduler is not None or self.refresh:
            self._last_draw = self._now()

    def _clock(self) -> SchedulerBase:
        """The scheduler, resolved once (not per chunk)."""
        clock = self._scheduler
        if clock is None:
            from lionrx._rx import resolve_scheduler

            clock = self._scheduler = resolve_scheduler(self.scheduler)
        return clock

    def _now(self) -> datetime:
        return self._clock().now

    def _redraw(self) -> None:
        """Redraw the live rows now, or at most every ``refresh`` seconds."""
        region = self.region
        if region is None:
            return
        if not self.refresh:
            region.update("", self._live_rows())
            return
        now = self._now()
        if self._last_draw is None or now - self._last_draw >= self._refresh_delta:
            region.update("", self._live_rows())
            self._last_draw = now
            self._dirty = False
            return
        self._dirty = True
        if self._timer is None:
            due = self._last_draw + self._refresh_delta
            self._timer = self._clock().schedule_absolute(due, self._tick)

    def _tick(self, *_: Any) -> None:
        self._timer = None
        if self._dirty and not self._closed and self.region is not None:
            self.region.update("", self._live_rows())
            self._last_draw = self._now()
            self._dirty = False

    # -- lanes and labels --------------------------------------------------------------------

    def _lane(self, source: str | None) -> _Lane:
        lane = self._lanes.get(source)
        if lane is None:
            lane = self._lanes[source] = _Lane(source)
            if self.mode == "sentence":
                lane.sentences = SentenceSegmenter()
            elif self.mode == "markdown" and self.region is not None and not self._merged():
                lane.blocks = MarkdownBlockSplitter()
            if len(self._lanes) == 2:
                self._unmerge_markdown()
            if self._columns_active():
                self._relayout()
        return lane

    def _unmerge_markdown(self) -> None:
        """A second source appeared: live markdown is for one answer, so the first source's
        pending tail is shown as text and its text goes on plainly, labelled."""
        for lane in list(self._lanes.values()):
            if lane.blocks is not None:
                pending, lane.blocks = lane.blocks.pending, None
                if pending:
                    self._show(lane, pending)

    def _merged(self) -> bool:
        return len(self._lanes) > 1

    def _labelled(self) -> bool:
        if self.labels == "none":
            return False
        if self.labels in ("auto", "columns"):
            return self._merged()
        return True

    def _columns_active(self) -> bool:
        return self.labels == "columns" and self.region is not None and self._merged()

    def _show(self, lane: _Lane, text: str) -> None:
        """Text of one lane, ready to show: route it to columns, labelled lines or as is."""
        if self._columns_active():
            self._column_feed(lane, text)
            return
        if not self._labelled():
            self._emit(text)
            return
        # Labelled lines: a prefix whenever the lane changes or a new line starts.
        prefix = f"[{lane.label}] "
        out: list[str] = []
        if self._last_lane is not lane:
            out.append(self._newline_if_needed() + prefix)
        elif self._at_line_start:
            out.append(prefix)
        self._last_lane = lane
        lines = text.split("\n")
        out.append(lines[0])
        for line in lines[1:]:
            out.append("\n" + (prefix + line if line else ""))
        joined = "".join(out)
        self._emit(joined)
        if text.endswith("\n"):
            self._at_line_start = True

    # -- columns (merged streams side by side in a terminal) ---------------------------------

    def _column_width(self) -> int:
        assert self.region is not None
        n = max(len(self._lanes), 1)
        return max((self.region.row_width - 3 * (n - 1)) // n, 4)

    def _relayout(self) -> None:
        """A column appeared: rows already committed stay; the rest is re-wrapped at the new,
        narrower width (rare: once per source)."""
        width = self._column_width()
        if len(self._lanes) == 2 and self._committed_rows == 0:
            # Columns start now; the first source's text so far was shown as it came.
            self._emit(self._newline_if_needed())
        for lane in self._lanes.values():
            if not lane.rows and not lane.row:
                lane.rows = [f"[{lane.label}]"]
                continue
            old = lane.rows[self._committed_rows :]
            tail = lane.row
            lane.rows, lane.row, lane.row_cells = [], "", 0
            for row in old:
                self._column_text(lane, row, width)
                lane.rows.append(lane.row)
                lane.row, lane.row_cells = "", 0
            self._column_text(lane, tail, width)
        self._committed_rows = 0

    def _column_text(self, lane: _Lane, text: str, width: int) -> None:
        """Append text to a column, wrapping at ``width`` cells (cost: the new text only)."""
        for i, part in enumerate(text.split("\n")):
            if i:
                lane.rows.append(lane.row)
                lane.row, lane.row_cells = "", 0
            if part.isascii() and lane.row_cells + len(part) <= width:
                lane.row += part
                lane.row_cells += len(part)
                continue
            for ch in part:
                w = cell_width(ch)
                if lane.row_cells + w > width:
                    self._column_break(lane, ch == " ")
                    if ch == " " and not lane.row:
                        continue  # a space at a row break is swallowed, as word wrap does
                lane.row += ch
                lane.row_cells += w

    @staticmethod
    def _column_break(lane: _Lane, at_space: bool) -> None:
        """End the row, carrying a cut word over to the next one (word wrap; the carry is
        shorter than a row, so the cost stays per character)."""
        row = lane.row
        cut = -1 if at_space else row.rfind(" ")
        if cut > 0:
            lane.rows.append(row[:cut])
            lane.row = row[cut + 1 :]
            lane.row_cells = cell_width(lane.row)
        else:
            lane.rows.append(row)
            lane.row, lane.row_cells = "", 0

    def _column_feed(self, lane: _Lane, text: str) -> None:
        self._column_text(lane, text, self._column_width())
        self._commit_columns()

    def _column_line(self, index: int, width: int) -> str:
        cells = []
        for lane in self._lanes.values():
            if index < len(lane.rows):
                cell = lane.rows[index]
            elif index == len(lane.rows):
                cell = lane.row
            else:
                cell = ""
            cells.append(cell + " " * (width - cell_width(cell)))
        return " │ ".join(cells).rstrip()

    def _commit_columns(self) -> None:
        """Rows that no column will change again are committed; the rest stay live."""
        width = self._column_width()
        done = self._columns_done
        running = [len(lane.rows) for source, lane in self._lanes.items() if source not in done]
        if running:
            ready = min(running)
        else:
            ready = max(len(lane.rows) + (1 if lane.row else 0) for lane in self._lanes.values())
        commit = "".join(
            self._column_line(i, width) + "\n" for i in range(self._committed_rows, ready)
        )
        self._committed_rows = max(self._committed_rows, ready)
        if commit:
            self._emit(commit)
        else:
            self._redraw()

    def _column_live_rows(self, budget: int) -> list[str]:
        width = self._column_width()
        total = max(len(lane.rows) + 1 for lane in self._lanes.values())
        start = max(self._committed_rows, total - budget)
        return [self._column_line(i, width) for i in range(start, total)]

    # -- the sink ----------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        # Every labelled event registers its lane, so that a merged stream is known to be
        # merged (and labelled) from its `Start` events, before the first text arrives.
        lane = self._lanes.get(event.source) or self._lane(event.source)
        if isinstance(event, TextDelta):
            if event.choice:
                return
            if self.progress == "dots":
                lane.held.append(event.text)
                return
            self._text(lane, event.text)
        elif isinstance(event, ReasoningDelta) and self.reasoning and event.text:
            raw = event.text.translate(_CONTROL_PICTURES) if self.sanitize else event.text
            text = f"{_DIM}{raw}{_UNDIM}" if self.live else raw
            self._show(lane, text)
        elif isinstance(event, Fallback) and event.mode == "restart":
            # ("continue": the next model goes on with the same text; nothing to show.)
            self._restart(lane, event)

    def _restart(self, lane: _Lane, event: Fallback) -> None:
        """The `fallback` operator starts the answer over with its next stream: what is on
        screen stays, a note says the answer restarts, and the lane's unshown state is dropped
        so the failed answer's unfinished sentence is not glued to the new one."""
        lane.held = []  # never shown (dots): the answer that counts is the next one
        if lane.sentences is not None:
            lane.sentences = SentenceSegmenter()
        if lane.blocks is not None:
            # The pending tail is on screen (live rows): it stays, committed as it is.
            blocks = lane.blocks.close()
            if blocks:
                self._emit("".join(self._render_block(b) for b in blocks))
        note = f"↻ {type(event.error).__name__}: the answer restarts with the next model"
        if self.live:
            note = f"{_DIM}{note}{_UNDIM}"
        self._show(lane, ("" if self._lane_at_line_start(lane) else "\n") + note + "\n")

    def _lane_at_line_start(self, lane: _Lane) -> bool:
        """Whether the lane's shown text ends a line (so a note can start its own)."""
        if self._columns_active():
            return not lane.row
        if self._labelled() and self._last_lane is not lane:
            return True  # `_show` starts the lane's text on a new, labelled line
        return self._at_line_start

    def on_text(self, text: str) -> None:
        lane = self._lanes.get(None) or self._lane(None)
        if self.progress == "dots":
            lane.held.append(text)
        else:
            self._text(lane, text)

    def _text(self, lane: _Lane, text: str) -> None:
        if self.sanitize:
            text = text.translate(_CONTROL_PICTURES)
        if lane.sentences is not None:
            for sentence in lane.sentences.feed(text):
                self._show(lane, sentence)
        elif lane.blocks is not None:
            # The pending tail is not read here: `_live_rows` fetches its visible end when a
            # redraw is due (throttled by ``refresh``), so a block that never ends costs O(1)
            # per chunk.
            blocks = lane.blocks.feed(text)
            if blocks:
                self._emit("".join(self._render_block(b) for b in blocks))
            else:
                self._redraw()
        else:
            self._show(lane, text)

    def _render_block(self, block: MarkdownBlock) -> str:
        render = self._render
        return render(block.text) if render is not None else block.text

    def _flush_lane(self, lane: _Lane) -> None:
        """End of a lane's stream: everything still held back is shown."""
        if lane.held:
            held, lane.held = "".join(lane.held), []
            if self._at_line_start is False or self.progress == "dots":
                self._emit(self._newline_if_needed())
            self._text(lane, held)
        if lane.sentences is not None:
            for rest in lane.sentences.close():
                self._show(lane, rest)
        if lane.blocks is not None:
            blocks = list(lane.blocks.close())
            self._emit("".join(self._render_block(b) for b in blocks))

    def on_progress(self, progress: Any) -> None:
        """Feed a `Progress` from `progress_tap`: a dot, or the live progress line."""
        if self._closed:
            return
        if self.progress == "dots":
            if not getattr(progress, "done", False):
                self._emit(".")
        elif self.progress == "line" and self.region is not None:
            label = getattr(progress, "source", None) if self._merged() else None
            self._status[label] = format_progress(progress, label, self.region.row_width)
            self._redraw()

    def on_outcome(self, outcome: Outcome) -> None:
        lane = self._lanes.get(outcome.source)
        if lane is None and (outcome.source is None or self._lanes):
            lane = self._lane(outcome.source)
        if lane is not None:
            self._flush_lane(lane)
        self._status.pop(outcome.source, None)
        self._status.pop(None, None)
        if self._columns_active():
            self._columns_done.add(outcome.source)
            self._commit_columns()
        label = outcome.source if self._labelled() or self._merged() else None
        lines: list[str] = []
        if isinstance(outcome, Failed):
            lines.append(self._failure_line(outcome, label))
        if self.stats:
            response: Response = (
                outcome.response if isinstance(outcome, Completed) else outcome.partial
            )
            lines.append(format_stats(response, label))
        if self._columns_active() and any(s not in self._columns_done for s in self._lanes):
            # Side by side, a status line would cut through the other columns: hold it.
            self._deferred.extend(lines)
            return
        lines, self._deferred = self._deferred + lines, []
        if lines:
            self._emit(self._newline_if_needed() + "\n".join(lines) + "\n")
            self._last_lane = None

    def _failure_line(self, outcome: Failed, label: str | None) -> str:
        prefix = f"[{label}] " if label else ""
        error = outcome.error
        kept = len(outcome.partial.text)
        if isinstance(error, StreamCancelled):
            line = f"{prefix}■ stopped ({kept} characters kept)"
        else:
            line = f"{prefix}✗ {type(error).__name__}: {error} ({kept} characters kept)"
        return f"{_RED}{line}{_RESET}" if self.live else line

    def on_close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.dispose()
            self._timer = None
        for lane in self._lanes.values():
            if lane.held or (lane.blocks is not None and lane.blocks.pending_size):
                self._flush_lane(lane)
        if self._deferred:
            lines, self._deferred = self._deferred, []
            self._emit(self._newline_if_needed() + "\n".join(lines) + "\n")
        tail = self._newline_if_needed() if self._lanes else ""
        if self.region is not None:
            self.region.close(tail)
        elif tail:
            self._raw_write(tail)


@overload
def console(
    observable: Observable[Any],
    *,
    mode: ConsoleMode = ...,
    stats: bool = ...,
    progress: ProgressStyle | None = ...,
    progress_every: int | None = ...,
    progress_seconds: float | None = ...,
    stream: TextIO | None = ...,
    live: bool | None = ...,
    labels: LabelLayout = ...,
    rich: bool | None = ...,
    reasoning: bool = ...,
    refresh: float = ...,
    scheduler: SchedulerBase | None = ...,
    sources: Sequence[str] | None = ...,
    sanitize: bool | None = ...,
) -> SinkHandle: ...


@overload
def console(
    observable: None = ...,
    *,
    mode: ConsoleMode = ...,
    stats: bool = ...,
    progress: ProgressStyle | None = ...,
    progress_every: int | None = ...,
    progress_seconds: float | None = ...,
    stream: TextIO | None = ...,
    live: bool | None = ...,
    labels: LabelLayout = ...,
    rich: bool | None = ...,
    reasoning: bool = ...,
    refresh: float = ...,
    scheduler: SchedulerBase | None = ...,
    sources: Sequence[str] | None = ...,
    sanitize: bool | None = ...,
) -> SinkFactory: ...


def console(
    observable: Observable[Any] | None = None,
    *,
    mode: ConsoleMode = "raw",
    stats: bool = False,
    progress: ProgressStyle | None = None,
    progress_every: int | None = None,
    progress_seconds: float | None = None,
    stream: TextIO | None = None,
    live: bool | None = None,
    labels: LabelLayout = "auto",
    rich: bool | None = None,
    reasoning: bool = False,
    refresh: float = 1 / 30,
    scheduler: SchedulerBase | None = None,
    sources: Sequence[str] | None = None,
    sanitize: bool | None = None,
) -> SinkHandle | SinkFactory:
    """Show a stream (events or text) on ``stream`` (default ``sys.stdout``) as it arrives.

    Returns a `SinkHandle`: ``await`` it for the `Response`. ``console()`` without a stream
    returns a sink factory for `tee`.

    - ``mode="raw"``: every chunk written and flushed at once. ``"sentence"``: whole sentences
      (the ``sentence_chunk`` segmenter). ``"markdown"``: in a terminal, finished blocks are
      rendered once (with ``rich`` when installed; ``rich=False`` for the markdown source) and
      only the pending tail is redrawn, at most every ``refresh`` seconds; in a pipe, plain
      text as it arrives.
    - ``live``: None detects a terminal (``stream.isatty()``). Without one, output is plain
      text: no escape codes, ever.
    - ``stats=True``: the notebook's stats line after each answer (chunks, time to first
      chunk, total time, tokens/s — exact when the provider reported usage, else ``~``).
    - ``progress="dots"``: the notebook's dots (one per ``progress_every`` chunks, default 10),
      then the answer; ``"line"``: a live progress line (chunks, words, rate, elapsed time) under
      the answer in a terminal. Both are fed by ``lionrx.operators.progress_tap``.
    - Merged streams (events with several ``source`` labels): ``labels="auto"``/``"lines"``
      prefixes each label's text with ``[label]``; ``"columns"`` shows them side by side in a
      terminal (lines in a pipe); ``"none"`` interleaves the text. ``sources=["gpt", "claude"]``
      names the labels up front, so columns and labels start with the first chunk.
    - ``sanitize`` (default: on in a terminal) shows control characters in the model's text
      as visible symbols (``␛``), so an answer cannot move the cursor, clear the screen or
      retitle the terminal. In a pipe the text is written exactly as received.
    - A failure is shown as one line (``✗ Error: message``, with the characters kept) and the
      handle raises it; disposal shows ``■ stopped``.
    - Under ``lionrx.operators.fallback``: when the next model starts the answer over, a note
      on its own line says so (``↻ Error: the answer restarts with the next model``); the text
      already shown stays, an unfinished sentence not yet shown is dropped. When the next model
      continues the text, nothing is shown: the answer keeps growing.
    - Live markdown costs O(1) per chunk however long the open block: only the end of the
      pending tail that fits the terminal is fetched, and only when a redraw is due.
    """
    if observable is None:

        def factory(source: Observable[Any]) -> SinkHandle:
            return console(
                source,
                mode=mode,
                stats=stats,
                progress=progress,
                progress_every=progress_every,
                progress_seconds=progress_seconds,
                stream=stream,
                live=live,
                labels=labels,
                rich=rich,
                reasoning=reasoning,
                refresh=refresh,
                scheduler=scheduler,
                sources=sources,
                sanitize=sanitize,
            )

        return factory
    sink = ConsoleSink(
        stream if stream is not None else sys.stdout,
        mode=mode,
        stats=stats,
        progress=progress,
        live=live,
        labels=labels,
        rich=rich,
        reasoning=reasoning,
        refresh=refresh,
        scheduler=scheduler,
        sources=sources,
        sanitize=sanitize,
    )
    source = observable
    if progress is not None:
        from lionrx.operators import progress_tap

        every = progress_every if progress_every is not None else (10 if progress == "dots" else 1)
        source = observable.pipe(
            progress_tap(
                sink.on_progress, every=every, seconds=progress_seconds, scheduler=scheduler
            )
        )
    return SinkHandle(source, sink, scheduler=scheduler, name="console")
