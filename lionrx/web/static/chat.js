// The lionrx chat page: conversations, streaming answers, Stop, compare mode, live stats.
import { StreamView, renderMarkdown, streamInto } from "/static/lionrx.js";

const $ = (id) => document.getElementById(id);
const ui = {
  conversations: $("conversations"),
  newButton: $("new"),
  model: $("model"),
  compare: $("compare"),
  model2: $("model2"),
  transcript: $("transcript"),
  form: $("composer"),
  prompt: $("prompt"),
  send: $("send"),
  stop: $("stop"),
  status: $("status"),
};

const state = { conversation: null, lanes: 0, live: new Map() };
// For tests and debugging: the views by stream key (raw text via view.text()).
window.lionrxChat = { views: {}, state };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function say(message) {
  ui.status.textContent = message;
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function fillModels(select, models, chosen) {
  select.replaceChildren(...models.map((name) => {
    const option = el("option", null, name);
    option.value = name;
    return option;
  }));
  if (chosen) select.value = chosen;
}

function fillConversations(conversations) {
  const options = [el("option", null, "New conversation")];
  options[0].value = "";
  for (const c of conversations) {
    const option = el("option", null, c.lanes > 1 ? `${c.title} (compare)` : c.title);
    option.value = c.id;
    options.push(option);
  }
  ui.conversations.replaceChildren(...options);
  ui.conversations.value = state.conversation || "";
}

function formatStats(s) {
  const parts = [];
  parts.push(s.ttftMs === null ? "TTFT …" : `TTFT ${Math.round(s.ttftMs)} ms`);
  parts.push(s.tokensPerSecond === null ? "… tok/s" : `${s.tokensPerSecond.toFixed(1)} tok/s`);
  parts.push(`${s.chunks} chunks`);
  if (s.reconnects) parts.push(`${s.reconnects} reconnect${s.reconnects > 1 ? "s" : ""}`);
  return parts.join(" · ");
}

function markerText(outcome) {
  const error = outcome.error || {};
  if (error.type === "StreamCancelled") return "Stopped: partial answer kept";
  return `Failed (${error.type || "error"}): ${error.message || ""}. Partial answer kept`;
}

function addTurn(text, lanes) {
  const turn = el("section", "turn");
  turn.append(el("div", "user", text));
  const answers = el("div", "answers");
  answers.style.setProperty("--lanes", String(lanes));
  turn.append(answers);
  ui.transcript.append(turn);
  return answers;
}

function addAnswer(answers, model) {
  const box = el("article", "answer");
  box.append(el("div", "model", model || ""));
  const body = el("div", "body");
  box.append(body);
  const stats = el("div", "stats");
  box.append(stats);
  answers.append(box);
  return { box, body, stats };
}

function renderStored(answers, message) {
  const { box, body } = addAnswer(answers, message.model);
  body.append(renderMarkdown(message.text));
  if (message.status !== "complete") {
    const reason = message.reason || message.status;
    box.append(el("div", "marker", `Incomplete (${reason}): partial answer kept`));
    box.dataset.status = "incomplete";
  } else {
    box.dataset.status = "complete";
  }
  if (message.stop_reason === "length" || message.stop_reason === "max_tokens") {
    box.append(el("div", "marker", "Cut off at the token limit"));
  }
}

// Follow the growing answer while the reader is at the bottom; stop following when they
// scroll up to read, resume when they come back down.
let following = true;
window.addEventListener("scroll", () => {
  const page = document.scrollingElement;
  following = page.scrollTop + page.clientHeight >= page.scrollHeight - 80;
}, { passive: true });

function follow() {
  if (following) {
    const page = document.scrollingElement;
    page.scrollTop = page.scrollHeight;
  }
}

function updateButtons() {
  const streaming = state.live.size > 0;
  ui.stop.disabled = !streaming;
  ui.send.disabled = streaming;
}

function attach(answers, stream) {
  const parts = addAnswer(answers, stream.model);
  parts.box.classList.add("streaming");
  parts.box.dataset.key = stream.key;
  parts.box.setAttribute("aria-busy", "true");
  const view = new StreamView(parts.body);
  window.lionrxChat.views[stream.key] = view;
  state.live.set(stream.key, stream);
  updateButtons();
  streamInto(stream.url, view, {
    onStats: (s) => {
      parts.stats.textContent = formatStats(s);
      follow();
    },
    onEnd: (outcome) => {
      state.live.delete(stream.key);
      parts.box.classList.remove("streaming");
      parts.box.removeAttribute("aria-busy");
      parts.box.dataset.status = outcome.kind === "completed" ? "complete" : "incomplete";
      if (outcome.kind !== "completed") parts.box.append(el("div", "marker", markerText(outcome)));
      const stop = outcome.response && outcome.response.stop_reasons && outcome.response.stop_reasons["0"];
      if (stop === "length" || stop === "max_tokens") {
        parts.box.append(el("div", "marker", "Cut off at the token limit"));
      }
      const hadFocus = document.activeElement === ui.stop;
      updateButtons();
      if (state.live.size === 0) {
        say(outcome.kind === "completed" ? "Answer complete." : "Stopped.");
        // Stop was pressed from the keyboard and is now disabled: give the focus back to the
        // message box rather than losing it to the page.
        if (hadFocus || document.activeElement === document.body) ui.prompt.focus();
      }
    },
  });
}

async function loadConversation(id) {
  ui.transcript.replaceChildren();
  state.conversation = id || null;
  state.lanes = 0;
  if (!id) {
    history.replaceState(null, "", location.pathname);
    return;
  }
  const conv = await api(`/api/conversations/${encodeURIComponent(id)}`);
  history.replaceState(null, "", `#${id}`);
  state.lanes = conv.lanes.length;
  ui.compare.checked = state.lanes > 1;
  ui.model2.disabled = state.lanes < 2;
  const lead = conv.lanes[0].messages;
  let turn = -1;
  const answersByTurn = [];
  for (const message of lead) {
    if (message.role === "user") {
      turn += 1;
      answersByTurn.push({ text: message.text, answers: addTurn(message.text, state.lanes) });
    }
  }
  conv.lanes.forEach((lane, index) => {
    if (lane.model) (index === 0 ? ui.model : ui.model2).value = lane.model;
    let t = -1;
    for (const message of lane.messages) {
      if (message.role === "user") t += 1;
      else if (message.role === "assistant" && answersByTurn[t]) {
        if (lane.live && message.status === "in_progress") continue;
        renderStored(answersByTurn[t].answers, message);
      }
    }
    if (lane.live && answersByTurn[t]) {
      attach(answersByTurn[t].answers, { key: lane.live, model: lane.model, url: `/api/streams/${lane.live}` });
    }
  });
}

async function refreshState() {
  const s = await api("/api/state");
  const models = s.models;
  fillModels(ui.model, models, ui.model.value || s.default_model);
  fillModels(ui.model2, models, ui.model2.value || models[1] || models[0]);
  fillConversations(s.conversations);
}

async function send(event) {
  event.preventDefault();
  const text = ui.prompt.value;
  if (!text.trim() || state.live.size) return;
  const models = ui.compare.checked ? [ui.model.value, ui.model2.value] : [ui.model.value];
  let conv = state.conversation;
  if (conv && state.lanes !== models.length) {
    // Switching between single and compare mode starts a new conversation.
    ui.transcript.replaceChildren();
    conv = null;
  }
  ui.send.disabled = true;
  say("Sending…");
  let reply;
  try {
    reply = await api(`/api/conversations/${encodeURIComponent(conv || "new")}/turns`, {
      method: "POST",
      body: JSON.stringify({ text, models }),
    });
  } catch (error) {
    say(`Could not send: ${error.message}`);
    updateButtons();
    return;
  }
  ui.prompt.value = "";
  state.conversation = reply.conversation;
  state.lanes = models.length;
  history.replaceState(null, "", `#${reply.conversation}`);
  const answers = addTurn(text, models.length);
  following = true;
  for (const stream of reply.streams) attach(answers, stream);
  say("Streaming…");
  refreshState().catch(() => {});
}

async function stop() {
  const keys = [...state.live.keys()];
  say("Stopping…");
  await Promise.all(keys.map((key) => api(`/api/streams/${key}/cancel`, { method: "POST" }).catch(() => {})));
}

ui.form.addEventListener("submit", send);
ui.stop.addEventListener("click", stop);
ui.prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.live.size) {
    event.preventDefault();
    stop();
  }
});
ui.compare.addEventListener("change", () => {
  ui.model2.disabled = !ui.compare.checked;
});
ui.newButton.addEventListener("click", () => {
  loadConversation(null);
  ui.conversations.value = "";
  ui.prompt.focus();
});
ui.conversations.addEventListener("change", () => {
  loadConversation(ui.conversations.value).catch((error) => say(error.message));
});

(async () => {
  try {
    await refreshState();
    const id = location.hash.slice(1);
    if (id) {
      await loadConversation(id);
      ui.conversations.value = id;
    }
    document.body.dataset.ready = "true";
  } catch (error) {
    say(`Could not load: ${error.message}`);
  }
  ui.prompt.focus();
})();
