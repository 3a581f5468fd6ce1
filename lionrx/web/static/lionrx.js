// lionrx.js: render a lionrx SSE stream in the browser, progressively and safely.
// No build step: an ES module served by lionrx (GET <prefix>/lionrx.js).
//
// Safety: model output is never parsed as HTML. Every node is built with createElement and
// createTextNode; links keep only http(s)/mailto targets; images are shown as text (never
// fetched). So <script>, <img onerror=...> and javascript: links in an answer stay inert text.
//
// Cost: the server marks where markdown blocks are committed ("block" events, offsets in
// UTF-16 units). A committed block is rendered once and appended; only the pending tail
// (the text after the last commit) is redrawn, at most once per animation frame. The work
// per update depends on the size of the tail, never on the length of the answer.

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
  let last = 0;
  let match;
  const re = new RegExp(INLINE.source, "g");
  while ((match = re.exec(text)) !== null) {
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    last = re.lastIndex;
    if (match[1] !== undefined) {
      const code = el("code");
      code.textContent = match[2];
      parent.append(code);
    } else if (match[3] !== undefined) {
      // Images are never loaded: a model-chosen URL must not be fetched by the page.
      const span = el("span", "lx-image");
      span.textContent = `[image: ${match[3] || "untitled"}]`;
      parent.append(span);
    } else if (match[5] !== undefined) {
      const href = safeHref(match[6]);
      if (href === null) {
        const span = el("span", "lx-unsafe-link");
        renderInline(match[5], span);
        parent.append(span);
      } else {
        const a = el("a");
        a.href = href;
        a.rel = "noopener noreferrer nofollow";
        a.target = "_blank";
        renderInline(match[5], a);
        parent.append(a);
      }
    } else if (match[7] !== undefined || match[8] !== undefined) {
      const strong = el("strong");
      renderInline(match[7] ?? match[8], strong);
      parent.append(strong);
    } else if (match[9] !== undefined || match[10] !== undefined) {
      const em = el("em");
      renderInline(match[9] ?? match[10], em);
      parent.append(em);
    } else if (match[11] !== undefined) {
      const href = safeHref(match[11]);
      if (href === null) {
        parent.append(document.createTextNode(match[0]));
      } else {
        const a = el("a");
        a.href = href;
        a.rel = "noopener noreferrer nofollow";
        a.target = "_blank";
        a.textContent = match[11];
        parent.append(a);
      }
    }
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
  return parent;
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
  const fence = FENCE.exec(body);
  if (fence) return renderCode(text.replace(/^\n+/, ""), fence);
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

/**
 * A progressively rendered answer. `push(text)` appends streamed text, `commit(end)` marks
 * the text up to UTF-16 offset `end` as final blocks; `finish()` renders what is left.
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
  }

  /** The raw text received so far. */
  text() {
    return this.chunks.join("");
  }

  push(text) {
    if (!text) return;
    this.chunks.push(text);
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
    this.dirty = true;
    this.schedule();
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    raf(() => this.render());
  }

  /** Apply pending work now: append newly committed blocks, redraw the tail. */
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
    this.tailEl.replaceChildren(renderMarkdown(this.tail));
    if (this.onRender) this.onRender({ started, ms: performance.now() - started, tail: this.tail.length });
  }

  /** Render everything received; the tail stays as the last, never-committed block(s). */
  finish() {
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
