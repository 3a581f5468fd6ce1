// lionrx.js: render a lionrx SSE stream in the browser, progressively and safely.
// No build step: an ES module served by lionrx (GET <prefix>/lionrx.js).
//
// Safety: model output is never parsed as HTML. Every node is built with createElement and
// createTextNode; links keep only http(s)/mailto targets; images are shown as text (never
// fetched). So <script>, <img onerror=...> and javascript: links in an answer stay inert text.
//
// Cost: the server marks where markdown blocks are committed ("block" events, offsets in
// UTF-16 units). A committed block is rendered once and appended; the pending tail (the text
// after the last commit) is updated at most once per animation frame, in place while it is
// one paragraph or one open code block: an update costs about the text it appends, even
// when the answer is one endless block. Known limits: an inline marker left open on the
// paragraph's last line (a lone backtick, say) is re-rendered from there on every update; and
// the browser lays out a growing paragraph in full after each update (an open code block is
// kept in block-level segments of whole lines, so its layout stays small).

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

/** The URL if it is safe to link to (http, https, mailto), else null. */
export function safeHref(url) {
  if (typeof url !== "string" || url === "") return null;
  let parsed;
  try {
    // The URL parser drops tabs and newlines and lower-cases the scheme exactly as a browser
    // does when following the link, so "java\nscript:" cannot slip through.
    parsed = new URL(url, "https://invalid.invalid/");
  } catch {
    return null;
  }
  if (!SAFE_PROTOCOLS.has(parsed.protocol)) return null;
  if (parsed.host === "invalid.invalid") return null; // relative: not ours to resolve
  return parsed.href;
}

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// Inline markdown: code spans, images (as text), links, strong, emphasis, autolinks.
// Each construct stays within one line: a match never scans past a line break, so an
// unclosed marker costs at most one line's length, whatever the size of the block.
const INLINE =
  /(`+)([^`\n]|[^`\n][^\n]*?[^`\n])\1(?!`)|!\[([^\]\n]*)\]\(([^)\s]*)(?:\s+"[^"\n]*")?\)|\[([^\]\n]+)\]\(([^)\s]*)(?:\s+"[^"\n]*")?\)|\*\*(?=\S)([^\n]*?\S)\*\*|__(?=\S)([^\n]*?\S)__|\*(?=[^\s*])([^\n]*?[^\s*])\*(?!\*)|\b_(?=\S)([^_\n]*?\S)_\b|<((?:https?|mailto):[^>\s]+)>/g;

/** Append the inline markdown of `text` to `parent` as safe nodes. */
export function renderInline(text, parent) {
  renderInlineFrom(text, 0, parent, null);
  return parent;
}

// Characters that may open an inline construct whose end has not arrived yet.
const OPENER = /[`*_[<!]/g;

// True if the opener at `i` can never start a match, whatever text follows: a run of `*` or
// `_` followed by whitespace, an intraword `_`, `<` not starting a URL, `!` not before `[`.
function deadOpener(text, i) {
  const c = text[i];
  if (i + 1 >= text.length) return false;
  if (c === "*" || c === "_") {
    let j = i;
    while (j < text.length && text[j] === c) j++;
    if (j < text.length && /\s/.test(text[j])) return true;
    return c === "_" && j === i + 1 && i > 0 && /[A-Za-z0-9]/.test(text[i - 1]);
  }
  if (c === "<") return text[i + 1] !== "h" && text[i + 1] !== "m";
  if (c === "!") return text[i + 1] !== "[";
  return false;
}

// The first opener in text[a, b) that may still start a match, or -1.
function liveOpener(text, a, b) {
  const re = new RegExp(OPENER.source, "g");
  re.lastIndex = a;
  let m;
  while ((m = re.exec(text)) !== null && m.index < b) {
    if (!deadOpener(text, m.index)) return m.index;
  }
  return -1;
}

/**
 * Append the inline markdown of text[from:] to `parent`. With a `track` object
 * ({lineStart}), also find where the rendering stops being final: the first opener on the
 * last line that may still be closed, or a match that ends at the very end (its lookahead
 * has not seen the next character). track.stable/track.node get that offset and the first
 * node from there (null if everything is final); text before it renders the same whatever
 * is appended, because inline matches never cross a line break.
 */
function renderInlineFrom(text, from, parent, track) {
  let last = from;
  let match;
  if (track) {
    track.stable = text.length;
    track.node = null;
  }
  const mark = (offset, node) => {
    if (track && track.node === null) {
      track.stable = offset;
      track.node = node;
    }
  };
  const literal = (a, b) => {
    if (track && track.node === null && b > track.lineStart) {
      const i = liveOpener(text, Math.max(a, track.lineStart), b);
      if (i >= 0) {
        if (i > a) parent.append(document.createTextNode(text.slice(a, i)));
        const node = document.createTextNode(text.slice(i, b));
        parent.append(node);
        mark(i, node);
        return;
      }
    }
    parent.append(document.createTextNode(text.slice(a, b)));
  };
  const re = new RegExp(INLINE.source, "g");
  re.lastIndex = from;
  while ((match = re.exec(text)) !== null) {
    if (match.index > last) literal(last, match.index);
    last = re.lastIndex;
    let node;
    if (match[1] !== undefined) {
      node = el("code");
      node.textContent = match[2];
    } else if (match[3] !== undefined) {
      // Images are never loaded: a model-chosen URL must not be fetched by the page.
      node = el("span", "lx-image");
      node.textContent = `[image: ${match[3] || "untitled"}]`;
    } else if (match[5] !== undefined) {
      const href = safeHref(match[6]);
      if (href === null) {
        node = renderInline(match[5], el("span", "lx-unsafe-link"));
      } else {
        node = el("a");
        node.href = href;
        node.rel = "noopener noreferrer nofollow";
        node.target = "_blank";
        renderInline(match[5], node);
      }
    } else if (match[7] !== undefined || match[8] !== undefined) {
      node = renderInline(match[7] ?? match[8], el("strong"));
    } else if (match[9] !== undefined || match[10] !== undefined) {
      node = renderInline(match[9] ?? match[10], el("em"));
    } else {
      const href = safeHref(match[11]);
      if (href === null) {
        node = document.createTextNode(match[0]);
      } else {
        node = el("a");
        node.href = href;
        node.rel = "noopener noreferrer nofollow";
        node.target = "_blank";
        node.textContent = match[11];
      }
    }
    parent.append(node);
    if (last === text.length) mark(match.index, node);
  }
  if (last < text.length) literal(last, text.length);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})([^\n]*)(?:\n|$)/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+|$)(.*)$/;
const RULE = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const ITEM = /^ {0,3}(?:([-*+])|(\d{1,9})([.)]))[ \t]+/;

function renderCode(text, match) {
  const fence = match[1];
  const info = match[2].trim().split(/\s+/)[0] || "";
  let body = text.slice(match[0].length);
  const closing = new RegExp(`(?:^|\\n) {0,3}${fence[0]}{${fence.length},}[ \\t]*\\n*$`);
  const closed = closing.exec(body);
  if (closed) body = body.slice(0, closed.index);
  const pre = el("pre", closed ? "lx-code" : "lx-code lx-open");
  const code = el("code");
  if (/^[\w+#.-]{1,32}$/.test(info)) {
    code.className = `language-${info}`;
    pre.dataset.lang = info;
  }
  code.textContent = body;
  pre.append(code);
  return pre;
}

function renderList(lines) {
  const first = ITEM.exec(lines[0]);
  const ordered = first[2] !== undefined;
  const list = el(ordered ? "ol" : "ul");
  if (ordered && first[2] !== "1") list.start = Number(first[2]);
  let item = null;
  let buffer = [];
  const flush = () => {
    if (item) {
      renderInline(buffer.join("\n"), item);
      list.append(item);
    }
  };
  for (const line of lines) {
    const m = ITEM.exec(line);
    if (m) {
      flush();
      item = el("li");
      buffer = [line.slice(m[0].length)];
    } else {
      buffer.push(line.replace(/^\s+/, ""));
    }
  }
  flush();
  return list;
}

/** Render one markdown block (a paragraph, heading, list, quote, rule or fenced code). */
export function renderBlock(text) {
  const body = text.replace(/^\n+/, "").replace(/\s+$/, "");
  if (body.trim() === "") return el("span", "lx-blank");
  const lead = text.replace(/^\n+/, "");
  const fence = FENCE.exec(lead); // on the untrimmed text: the fence line keeps its newline
  if (fence) return renderCode(lead, fence);
  const lines = body.split("\n");
  if (lines.length === 1) {
    const heading = HEADING.exec(body);
    if (heading) return renderInline(heading[2].replace(/[ \t]+#+[ \t]*$/, ""), el(`h${heading[1].length}`));
    if (RULE.test(body)) return el("hr");
  }
  if (ITEM.test(lines[0])) return renderList(lines);
  if (lines.every((line) => /^ {0,3}>/.test(line))) {
    const quote = el("blockquote");
    const inner = lines.map((line) => line.replace(/^ {0,3}> ?/, "")).join("\n");
    quote.append(renderInline(inner, el("p")));
    return quote;
  }
  return renderInline(body, el("p"));
}

/** Render markdown text that may hold several blocks (the pending tail, or a history entry). */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  // Paragraph breaks outside fenced code; a fence runs to its closing line or the end.
  const lines = text.split("\n");
  let block = [];
  let fence = null;
  const flush = () => {
    if (block.some((line) => line.trim() !== "")) fragment.append(renderBlock(block.join("\n")));
    block = [];
  };
  for (const line of lines) {
    if (fence) {
      block.push(line);
      if (new RegExp(`^ {0,3}${fence[0]}{${fence.length},}[ \\t]*$`).test(line)) {
        fence = null;
        flush();
      }
      continue;
    }
    const open = FENCE.exec(line);
    if (open) {
      flush();
      fence = open[1];
      block.push(line);
      continue;
    }
    if (line.trim() === "") flush();
    else block.push(line);
  }
  flush();
  return fragment;
}

const raf =
  typeof requestAnimationFrame === "function"
    ? (fn) => (document.visibilityState === "hidden" ? setTimeout(fn, 50) : requestAnimationFrame(fn))
    : (fn) => setTimeout(fn, 16);

// A first line that could still turn into something other than a paragraph as text arrives
// (a heading, rule, list item, quote or fence, or a prefix of one).
const UNSETTLED =
  /^ {0,3}(?:[`~]{0,2}$|`{3}|~{3}|#{1,6}(?:[ \t]|$)|[-*+](?:[ \t]|$)|\d{1,9}(?:[.)](?:[ \t]|$)|$)|>|(?:\*[ \t]*)+$|(?:-[ \t]*)+$|(?:_[ \t]*)+$)/;
const FENCE_LINE = /^ {0,3}(?:`{3,}|~{3,})/;

// Characters after which an open code block's segment ends (at the next line end).
const SEGMENT = 2048;

function codeSegment(text) {
  const seg = el("span", "lx-seg");
  seg.style.display = "block";
  seg.textContent = text;
  return seg;
}

/**
 * A progressively rendered answer. `push(text)` appends streamed text, `commit(end)` marks
 * the text up to UTF-16 offset `end` as final blocks; `finish()` renders what is left.
 *
 * The pending tail keeps its DOM between updates. While it is one paragraph or one open
 * fenced code block, new text is appended in place: a text node for code; for a paragraph,
 * only the part of the last line that may still change (from the first unclosed inline
 * marker) is redrawn. So an update costs O(appended text) in the common case, even when the
 * answer is one endless paragraph or code block. Anything that changes the tail's structure
 * (a blank line, a fence, a closing fence, a commit) redraws the tail.
 */
export class StreamView {
  constructor(root) {
    this.root = root;
    this.blocksEl = el("div", "lx-blocks");
    this.tailEl = el("div", "lx-tail");
    root.append(this.blocksEl, this.tailEl);
    this.chunks = [];
    this.tail = "";
    this.committed = 0;
    this.queued = [];
    this.scheduled = false;
    this.dirty = false;
    this.blockCount = 0;
    this.onRender = null;
    this.shown = 0; // length of the tail the DOM shows
    this.reset = true; // the tail must be redrawn (it lost its start, or the stream ended)
    this.mode = null; // "code" | "p" | null: how the shown tail can grow in place
    this.node = null; // "code": the <code>; "p": the <p>
    this.lineStart = 0; // offset of the tail's last line
    this.fence = null; // "code": the closing fence pattern
    this.seg = null; // "code": the segment text is appended to (see appendCode)
    this.segLength = 0;
    this.track = null; // "p": {lineStart, stable, node} (see renderInlineFrom)
    this.blank = false; // "p": a blank line ended the paragraph's text so far
    this.lineText = false; // the last line holds more than whitespace
    this.lineHead = ""; // its first 64 characters
    this.fresh = []; // text pushed since the last render
    this.window = ""; // "p": the paragraph's text from windowStart (see keepWindow)
    this.windowStart = 0;
    this.ended = false;
  }

  /** The raw text received so far. */
  text() {
    return this.chunks.join("");
  }

  push(text) {
    if (!text) return;
    this.chunks.push(text);
    this.fresh.push(text);
    this.tail += text;
    this.dirty = true;
    this.schedule();
  }

  commit(end) {
    const n = end - this.committed;
    if (n <= 0) return;
    this.queued.push(this.tail.slice(0, n));
    this.tail = this.tail.slice(n);
    this.committed = end;
    this.reset = true;
    this.dirty = true;
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    raf(() => this.render());
  }

  /** Apply pending work now: append newly committed blocks, update the tail. */
  render() {
    this.scheduled = false;
    if (!this.dirty) return;
    this.dirty = false;
    const started = performance.now();
    if (this.queued.length) {
      const fragment = document.createDocumentFragment();
      for (const block of this.queued) {
        const node = renderBlock(block);
        node.dataset.block = String(this.blockCount++);
        fragment.append(node);
      }
      this.queued = [];
      this.blocksEl.append(fragment);
    }
    const add = this.fresh.join("");
    this.fresh = [];
    if (this.reset || !this.grow(add)) this.redraw();
    this.reset = false;
    this.shown = this.tail.length;
    if (this.onRender) this.onRender({ started, ms: performance.now() - started, tail: this.tail.length });
  }

  /**
   * Show the tail's new text in place; false if its structure changed (redraw instead).
   * Reads only the new text and small state, never the whole tail (whose string would be
   * flattened, a copy of the whole block, by any regex or search on it).
   */
  grow(add) {
    if (add === "") return true;
    if (this.mode === null) return false;
    const pieces = add.split("\n");
    let offset = this.shown;
    for (let k = 0; k < pieces.length; k++) {
      const piece = pieces[k];
      if (k > 0) {
        // The previous line is complete; a new one starts.
        if (this.mode === "p" && !this.lineText) this.blank = true;
        this.lineStart = offset;
        this.lineHead = "";
        this.lineText = false;
      }
      if (this.lineHead.length < 64) this.lineHead += piece.slice(0, 64 - this.lineHead.length);
      this.lineText = this.lineText || /\S/.test(piece);
      offset += piece.length + 1;
      if (this.mode === "code") {
        // A closing fence line is short; a long line starting like one is redrawn (rare).
        if (this.fence.test(this.lineHead)) return false;
      } else if (this.lineText && (this.blank || FENCE_LINE.test(this.lineHead))) {
        return false; // text after a blank line, or a fence: a new block begins
      }
    }
    if (this.mode === "code") {
      this.appendCode(add);
      return true;
    }
    // Paragraph: drop what may still change, render it again with the new text.
    const track = this.track;
    for (let node = track.node; node !== null; ) {
      const next = node.nextSibling;
      node.remove();
      node = next;
    }
    this.window += add;
    const at = track.stable - this.windowStart;
    track.lineStart = Math.max(0, this.lineStart - this.windowStart);
    renderInlineFrom(this.window, at, this.node, track);
    track.stable += this.windowStart;
    this.keepWindow();
    return true;
  }

  // An open code block is kept in block-level segments of whole lines, so that the browser's
  // layout after an append is about the last segment, not the whole block (one inline run of
  // text is laid out again in full: milliseconds per frame for a long block).
  appendCode(add) {
    const nl = this.segLength >= SEGMENT ? add.lastIndexOf("\n") : -1;
    if (nl === -1) {
      this.seg.append(document.createTextNode(add));
      this.segLength += add.length;
      return;
    }
    this.seg.append(document.createTextNode(add.slice(0, nl + 1)));
    this.seg = codeSegment(add.slice(nl + 1));
    this.segLength = add.length - nl - 1;
    this.node.append(this.seg);
  }

  // Keep, of the paragraph's text, only what the next render reads: from one character
  // before the first that may still change (that character decides word boundaries).
  keepWindow() {
    const track = this.track;
    const start = Math.max(0, track.stable - 1);
    if (start > this.windowStart) {
      this.window = this.window.slice(start - this.windowStart);
      this.windowStart = start;
    }
  }

  /** Render the whole tail again, and note whether it can grow in place. */
  redraw() {
    const tail = this.tail;
    this.mode = null;
    this.node = null;
    this.blank = false;
    this.lineStart = tail.lastIndexOf("\n") + 1;
    const lastLine = tail.slice(this.lineStart);
    this.lineText = /\S/.test(lastLine);
    this.lineHead = lastLine.slice(0, 64);
    const lineEnd = (at) => {
      const stop = tail.indexOf("\n", at);
      return stop === -1 ? tail.length : stop;
    };
    // The first non-blank line: where the tail's first block starts.
    let base = 0;
    while (base < tail.length && tail.slice(base, lineEnd(base)).trim() === "" && lineEnd(base) < tail.length) {
      base = lineEnd(base) + 1;
    }
    const first = tail.slice(base, lineEnd(base));
    const fence = FENCE.exec(first);
    if (this.ended || first.trim() === "") {
      // The final render, or nothing yet: the general renderer.
    } else if (fence) {
      if (lineEnd(base) < tail.length) {
        const closing = new RegExp(` {0,3}${fence[1][0]}{${fence[1].length},}[ \\t]*(?:\\n|$)`, "y");
        const closingLine = new RegExp(`^ {0,3}${fence[1][0]}{${fence[1].length},}[ \\t]*$`);
        let closed = false;
        for (let at = lineEnd(base) + 1; at <= tail.length; at = lineEnd(at) + 1) {
          closing.lastIndex = at;
          if (closing.test(tail)) {
            closed = true;
            break;
          }
        }
        if (!closed) {
          const body = tail.slice(base);
          const pre = renderCode(body, FENCE.exec(body));
          this.node = pre.firstChild;
          this.seg = codeSegment(this.node.textContent);
          this.segLength = this.seg.textContent.length;
          this.node.replaceChildren(this.seg);
          this.tailEl.replaceChildren(pre);
          this.mode = "code";
          this.fence = closingLine;
          return;
        }
      }
    } else if (!UNSETTLED.test(first)) {
      // One paragraph so far? (No blank line followed by text, no fence line.)
      let single = true;
      let blank = false;
      for (let at = base; at <= tail.length; at = lineEnd(at) + 1) {
        const line = tail.slice(at, lineEnd(at));
        if (line.trim() === "") {
          if (lineEnd(at) < tail.length) blank = true;
        } else if (blank || FENCE_LINE.test(line)) {
          single = false;
          break;
        }
      }
      if (single) {
        const p = el("p");
        this.track = { lineStart: this.lineStart, stable: 0, node: null };
        renderInlineFrom(tail, base, p, this.track);
        this.window = tail;
        this.windowStart = 0;
        this.keepWindow();
        this.tailEl.replaceChildren(p);
        this.mode = "p";
        this.node = p;
        this.blank = blank;
        return;
      }
    }
    this.tailEl.replaceChildren(renderMarkdown(tail));
  }

  /** Render everything received; the tail stays as the last, never-committed block(s). */
  finish() {
    this.ended = true;
    this.reset = true;
    this.dirty = true;
    this.render();
  }
}

function utf16Length(text) {
  return text.length;
}

/**
 * Stream the SSE at `url` into `view`. Handlers (all optional): onEvent(kind, data),
 * onStats(stats), onEnd(outcome). EventSource reconnects by itself after a dropped
 * connection, sending Last-Event-ID, and the server resumes exactly after it.
 * Returns {close(), eventSource, stats}.
 */
export function streamInto(url, view, handlers = {}) {
  const stats = {
    started: performance.now(),
    firstText: null,
    chunks: 0,
    chars: 0,
    outputTokens: null,
    ended: null,
    reconnects: 0,
  };
  const es = new EventSource(url);
  let opened = false;
  let done = false;
  const report = () => handlers.onStats && handlers.onStats(summarise(stats));
  let statsPending = false;
  const reportSoon = () => {
    if (statsPending) return;
    statsPending = true;
    raf(() => {
      statsPending = false;
      report();
    });
  };
  es.addEventListener("open", () => {
    if (opened) stats.reconnects += 1;
    opened = true;
  });
  es.addEventListener("text", (e) => {
    const data = JSON.parse(e.data);
    if (stats.firstText === null) stats.firstText = performance.now();
    stats.chunks += 1;
    stats.chars += utf16Length(data.text);
    view.push(data.text);
    reportSoon();
  });
  es.addEventListener("block", (e) => view.commit(JSON.parse(e.data).end));
  es.addEventListener("usage", (e) => {
    const data = JSON.parse(e.data);
    if (data.output_tokens != null) stats.outputTokens = data.output_tokens;
    if (handlers.onEvent) handlers.onEvent("usage", data);
  });
  for (const kind of ["start", "finish", "reasoning", "refusal", "tool_call"]) {
    es.addEventListener(kind, (e) => handlers.onEvent && handlers.onEvent(kind, JSON.parse(e.data)));
  }
  const end = (outcome) => {
    if (done) return;
    done = true;
    es.close(); // the stream is over: stop EventSource from reconnecting
    stats.ended = performance.now();
    view.finish();
    report();
    if (handlers.onEnd) handlers.onEnd(outcome);
  };
  es.addEventListener("completed", (e) => end(JSON.parse(e.data)));
  es.addEventListener("failed", (e) => end(JSON.parse(e.data)));
  es.addEventListener("error", () => {
    if (!done && es.readyState === EventSource.CLOSED) {
      end({ kind: "failed", error: { type: "ConnectionLost", message: "the connection to the server was lost" } });
    }
  });
  return { close: () => end({ kind: "failed", error: { type: "Closed", message: "closed" } }), eventSource: es, stats };
}

/** Live numbers for a stats bar: time to first text, tokens/s, chunks. */
export function summarise(stats) {
  const now = stats.ended ?? performance.now();
  const ttft = stats.firstText === null ? null : stats.firstText - stats.started;
  const streaming = stats.firstText === null ? 0 : (now - stats.firstText) / 1000;
  // Tokens: the provider's count once reported, else about one per chunk.
  const tokens = stats.outputTokens ?? stats.chunks;
  return {
    ttftMs: ttft,
    chunks: stats.chunks,
    chars: stats.chars,
    tokens,
    tokensPerSecond: streaming > 0 ? tokens / streaming : null,
    elapsedMs: now - stats.started,
    reconnects: stats.reconnects,
  };
}
