// The ails page: chat on the gateway's history. No inline script, no eval, no other origin.
//
// The model's text is untrusted: Markdown becomes HTML through marked, then
// DOMPurify keeps only harmless tags and http(s)/mailto links; nothing else
// reaches innerHTML. A streaming answer touches only its own article, at most
// once per animation frame.

import { Marked } from "./vendor/marked.esm.js";
import hljs from "./vendor/highlight.core.min.js";
import bash from "./vendor/languages/bash.min.js";
import c from "./vendor/languages/c.min.js";
import cpp from "./vendor/languages/cpp.min.js";
import css from "./vendor/languages/css.min.js";
import diff from "./vendor/languages/diff.min.js";
import go from "./vendor/languages/go.min.js";
import java from "./vendor/languages/java.min.js";
import javascript from "./vendor/languages/javascript.min.js";
import json from "./vendor/languages/json.min.js";
import python from "./vendor/languages/python.min.js";
import rust from "./vendor/languages/rust.min.js";
import shell from "./vendor/languages/shell.min.js";
import sql from "./vendor/languages/sql.min.js";
import typescript from "./vendor/languages/typescript.min.js";
import xml from "./vendor/languages/xml.min.js";
import yaml from "./vendor/languages/yaml.min.js";

const LANGUAGES = { bash, c, cpp, css, diff, go, java, javascript, json, python, rust, shell, sql, typescript, xml, yaml };
for (const [name, grammar] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, grammar);
hljs.configure({ ignoreUnescapedHTML: true });

const API = "/page/api";
const KEY_STORAGE = "ails.key";
const MODEL_STORAGE = "ails.model";

const $ = (id) => document.getElementById(id);
const el = {
  app: $("app"), sidebar: $("sidebar"), menu: $("menu"), newChat: $("new-chat"), search: $("search"),
  results: $("results"), resultsNote: $("results-note"), resultList: $("result-list"),
  list: $("conversations"), title: $("title"), model: $("model"), rename: $("rename"),
  exportMd: $("export-md"), exportJson: $("export-json"), del: $("delete"),
  systemBox: $("system-box"), system: $("system"), messages: $("messages"), status: $("status"),
  composer: $("composer"), input: $("input"), send: $("send"), stop: $("stop"),
  keyDialog: $("key-dialog"), keyForm: $("key-form"), key: $("key"), keyError: $("key-error"),
};

// -- Markdown, sanitized ---------------------------------------------------------------

const marked = new Marked({ gfm: true, breaks: false, async: false });
const SAFE_URL = /^(?:https?:|mailto:|#)/i;
let purifyReady = false;

function purifier() {
  const purify = window.DOMPurify;
  if (!purifyReady) {
    // Only marked's own "language-x" class: the model cannot borrow the page's styles.
    purify.addHook("uponSanitizeAttribute", (node, data) => {
      if (data.attrName === "class" && !/^language-[\w+#.-]+$/.test(data.attrValue)) data.keepAttr = false;
    });
    purify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        const href = node.getAttribute("href");
        if (href !== null && !SAFE_URL.test(href.trim())) node.removeAttribute("href");
        if (node.hasAttribute("href")) {
          node.setAttribute("target", "_blank");
          node.setAttribute("rel", "noopener noreferrer nofollow");
        }
      }
      if (node.tagName === "IMG") {
        const src = node.getAttribute("src") || "";
        if (!/^data:image\//i.test(src)) node.removeAttribute("src");
      }
    });
    purifyReady = true;
  }
  return purify;
}

const PURIFY = {
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "frame", "object", "embed", "dialog", "svg", "math"],
  FORBID_ATTR: ["style", "id", "name", "srcset", "action", "formaction"],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
};

function renderMarkdown(text) {
  let html;
  try {
    html = marked.parse(text);
  } catch {
    return null;
  }
  return purifier().sanitize(html, PURIFY);
}

function fillBody(body, text) {
  const html = renderMarkdown(text);
  if (html === null) {
    body.classList.add("plain");
    body.textContent = text;
    return;
  }
  body.classList.remove("plain");
  body.innerHTML = html;
}

// Code blocks: a Copy button each, highlighted when they come near the screen.
const highlighter = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    highlighter.unobserve(entry.target);
    highlightNow(entry.target);
  }
}, { rootMargin: "600px 0px" });

function highlightNow(code) {
  const language = [...code.classList].find((name) => name.startsWith("language-"));
  if (language && hljs.getLanguage(language.slice(9))) hljs.highlightElement(code);
}

function decorateCode(body) {
  for (const pre of body.querySelectorAll("pre")) {
    const wrap = document.createElement("div");
    wrap.className = "code";
    pre.replaceWith(wrap);
    wrap.append(pre);
    const code = pre.querySelector("code");
    const copy = button("Copy", "copy-code");
    copy.setAttribute("aria-label", "Copy");
    copy.title = "Copy this code";
    copy.addEventListener("click", () => copyText((code || pre).textContent, copy));
    wrap.append(copy);
    if (code) highlighter.observe(code);
  }
}

// -- small helpers ---------------------------------------------------------------------

function button(label, className) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (className) b.className = className;
  return b;
}

function say(text, isError = false) {
  el.status.textContent = text;
  el.status.classList.toggle("error", isError);
}

async function copyText(text, from) {
  try {
    await navigator.clipboard.writeText(text);
    if (from) {
      const label = from.textContent;
      from.textContent = "Copied";
      setTimeout(() => { from.textContent = label; }, 1200);
    }
    say("Copied to the clipboard.");
  } catch {
    say("The browser refused the clipboard; select the text and copy it by hand.", true);
  }
}

// -- the API ---------------------------------------------------------------------------

class KeyNeeded extends Error {}

let key = localStorage.getItem(KEY_STORAGE);

function headers(extra = {}) {
  const h = { ...extra };
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function api(method, path, body, options = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { "content-type": "application/json" }), ...options };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401) throw new KeyNeeded();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error.message || message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

async function getJSON(path) {
  return (await api("GET", path)).json();
}

// Read NDJSON lines as they arrive.
async function* lines(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
  }
}

// -- the key ---------------------------------------------------------------------------

function askForKey(wrong) {
  el.keyError.textContent = wrong ? "That key is wrong: the gateway refused it. Check --require-key and try again." : "";
  if (!el.keyDialog.open) el.keyDialog.showModal();
  el.key.focus();
  return new Promise((resolve) => { keyWaiters.push(resolve); });
}

const keyWaiters = [];

el.keyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const given = el.key.value.trim();
  if (!given) return;
  key = given;
  try {
    await api("GET", `${API}/conversations`);
  } catch (error) {
    if (error instanceof KeyNeeded) {
      el.keyError.textContent = "That key is wrong: the gateway refused it. Check --require-key and try again.";
      el.key.select();
      return;
    }
  }
  localStorage.setItem(KEY_STORAGE, key);
  el.keyDialog.close();
  el.key.value = "";
  for (const resolve of keyWaiters.splice(0)) resolve();
});

el.keyDialog.addEventListener("cancel", (event) => event.preventDefault());

// Any call: when the key is missing or wrong, ask, then try again.
async function withKey(call) {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof KeyNeeded)) throw error;
      const hadKey = Boolean(key);
      localStorage.removeItem(KEY_STORAGE);
      await askForKey(hadKey);
    }
  }
}

// -- state -----------------------------------------------------------------------------

const state = {
  conversations: [],
  current: null,   // { info, byseq: Map, children: Map, head }
  live: null,      // { id, article, body, text, frame, controller }
  models: [],
};

function tree(data) {
  const byseq = new Map();
  const children = new Map();
  for (const m of data.messages) addNode(byseq, children, m);
  return { info: data.conversation, byseq, children, head: data.head };
}

function addNode(byseq, children, m) {
  byseq.set(m.seq, m);
  const parent = m.parent ?? 0;
  if (!children.has(parent)) children.set(parent, []);
  children.get(parent).push(m.seq);
}

function newestLeaf(current, seq) {
  for (;;) {
    const kids = current.children.get(seq);
    if (!kids || !kids.length) return seq;
    seq = Math.max(...kids);
  }
}

function branch(current, head) {
  const path = [];
  let seq = head;
  while (seq !== null && seq !== undefined && current.byseq.has(seq)) {
    const m = current.byseq.get(seq);
    path.push(m);
    seq = m.parent;
  }
  return path.reverse();
}

// -- rendering -------------------------------------------------------------------------

// A long chat opens fast: only the answers near the screen are turned into
// Markdown at once (the last EAGER of them); the others when scrolled to.
const EAGER = 30;
const pending = new WeakMap();
const renderer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const body = entry.target;
    renderer.unobserve(body);
    if (!pending.has(body)) continue;
    fillBody(body, pending.get(body));
    pending.delete(body);
    decorateCode(body);
  }
}, { root: document.getElementById("messages"), rootMargin: "1200px 0px" });

function article(m, current, lazy = false) {
  const node = document.createElement("article");
  node.dataset.role = m.role;
  if (m.seq !== undefined) node.dataset.seq = String(m.seq);
  node.setAttribute("aria-label", m.role === "user" ? "Question" : "Answer");
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = m.role === "user" ? "You" : (m.model || "Assistant");
  const body = document.createElement("div");
  body.className = "body";
  node.append(who, body);
  if (m.role === "user") {
    body.classList.add("plain");
    body.textContent = m.content;
  } else if (lazy) {
    // Far from the screen: plain text now, Markdown when it comes near.
    body.classList.add("plain");
    body.textContent = m.content;
    pending.set(body, m.content);
    renderer.observe(body);
  } else {
    fillBody(body, m.content);
    decorateCode(body);
  }
  if (m.error && m.error !== "superseded") {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = m.error === "Stopped" ? "Stopped." : `This answer did not complete (${m.error}).`;
    node.append(note);
  }
  node.append(tools(m, current));
  return node;
}

function tools(m, current) {
  const bar = document.createElement("div");
  bar.className = "tools";
  if (current && m.seq !== undefined) {
    const siblings = current.children.get(m.parent ?? 0) || [m.seq];
    if (siblings.length > 1) {
      const at = siblings.indexOf(m.seq);
      const nav = document.createElement("span");
      nav.className = "branches";
      const prev = button("\u2039");
      prev.setAttribute("aria-label", "Previous branch");
      prev.disabled = at <= 0;
      prev.addEventListener("click", () => showBranch(siblings[at - 1]));
      const next = button("\u203A");
      next.setAttribute("aria-label", "Next branch");
      next.disabled = at >= siblings.length - 1;
      next.addEventListener("click", () => showBranch(siblings[at + 1]));
      const where = document.createElement("span");
      where.textContent = `${at + 1} / ${siblings.length}`;
      where.setAttribute("aria-label", `Branch ${at + 1} of ${siblings.length}`);
      nav.append(prev, where, next);
      bar.append(nav);
    }
  }
  if (m.role === "user") {
    const edit = button("Edit");
    edit.addEventListener("click", () => startEdit(m, edit.closest("article")));
    bar.append(edit);
  } else {
    const copy = button("Copy");
    copy.addEventListener("click", () => copyText(m.content, copy));
    const again = button("Regenerate");
    again.addEventListener("click", () => regenerate(m));
    bar.append(copy, again);
  }
  return bar;
}

function renderConversation(scroll = true) {
  const current = state.current;
  el.messages.replaceChildren();
  if (!current) return;
  const fragment = document.createDocumentFragment();
  const shown = branch(current, current.head);
  shown.forEach((m, at) => fragment.append(article(m, current, at < shown.length - EAGER)));
  el.messages.append(fragment);
  if (scroll) el.messages.scrollTop = el.messages.scrollHeight;
  performance.mark("ails:rendered");
}

function renderHeader() {
  const info = state.current && state.current.info;
  el.title.textContent = (info && info.title) || "New chat";
  document.title = info && info.title ? `${info.title} \u2013 ails` : "ails";
  for (const b of [el.rename, el.exportMd, el.exportJson, el.del]) b.disabled = !info;
  if (!state.live) el.system.value = (info && info.system) || el.system.dataset.draft || "";
  if (info && info.model && state.models.includes(info.model)) el.model.value = info.model;
}

function renderList() {
  const currentId = state.current && state.current.info.id;
  const items = state.conversations.map((info) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `#c=${encodeURIComponent(info.id)}`;
    a.textContent = info.title || "Untitled";
    if (info.id === currentId) a.setAttribute("aria-current", "page");
    li.append(a);
    return li;
  });
  el.list.replaceChildren(...items);
}

async function refreshList() {
  const data = await withKey(() => getJSON(`${API}/conversations`));
  state.conversations = data.data;
  renderList();
}

// -- opening a conversation ------------------------------------------------------------

async function open(id, focusSeq) {
  closeMenu();
  const data = await withKey(() => getJSON(`${API}/conversations/${encodeURIComponent(id)}`));
  let current = tree(data);
  if (focusSeq !== undefined && current.byseq.has(focusSeq)) {
    const patched = await withKey(() => api("PATCH", `${API}/conversations/${encodeURIComponent(id)}`, { show: focusSeq }));
    current = tree(await patched.json());
  }
  state.current = current;
  renderHeader();
  renderList();
  if (data.live && !state.live) {
    current.head = data.live.question;
    renderConversation();
    follow(id, data.live);
  } else if (data.live && state.live && state.live.id === id && state.live.article) {
    // Back to the conversation this tab is streaming into: show it again.
    current.head = data.live.question;
    renderConversation();
    el.messages.append(state.live.article);
  } else {
    renderConversation(focusSeq === undefined);
  }
  if (focusSeq !== undefined) {
    const found = el.messages.querySelector(`article[data-seq="${focusSeq}"]`);
    if (found) {
      found.classList.add("found");
      found.scrollIntoView({ block: "center" });
    }
  }
  say("");
}

function newChat() {
  closeMenu();
  if (location.hash) history.pushState(null, "", location.pathname);
  state.current = null;
  el.system.dataset.draft = "";
  renderHeader();
  renderList();
  renderConversation();
  el.input.focus();
}

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const id = params.get("c");
  const seq = params.has("m") ? Number(params.get("m")) : undefined;
  if (!id) return newChat();
  if (state.live && state.live.id === id && seq === undefined && state.live.article?.isConnected) return undefined;
  return open(id, seq).catch((error) => say(`Could not open it: ${error.message}`, true));
}

async function showBranch(seq) {
  const current = state.current;
  current.head = newestLeaf(current, seq);
  renderConversation(false);
  try {
    await withKey(() => api("PATCH", `${API}/conversations/${encodeURIComponent(current.info.id)}`, { show: seq }));
  } catch (error) {
    say(`Could not keep the branch shown: ${error.message}`, true);
  }
}

// -- asking and streaming --------------------------------------------------------------

function setStreaming(on) {
  el.stop.hidden = !on;
  el.send.disabled = on;
}

function liveArticle(model) {
  const node = document.createElement("article");
  node.dataset.role = "assistant";
  node.className = "streaming";
  node.setAttribute("aria-label", "Answer");
  node.setAttribute("aria-busy", "true");
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = model || "Assistant";
  const body = document.createElement("div");
  body.className = "body";
  node.append(who, body);
  el.messages.append(node);
  return { article: node, body };
}

function nearBottom() {
  const box = el.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function paint(live) {
  live.frame = 0;
  const stick = nearBottom();
  fillBody(live.body, live.text);
  if (stick) el.messages.scrollTop = el.messages.scrollHeight;
}

function addText(live, piece) {
  live.text += piece;
  if (!live.frame) live.frame = requestAnimationFrame(() => paint(live));
}

async function ask(body) {
  if (state.live) return;
  const current = state.current;
  body.model = el.model.value || undefined;
  if (!current) body.system = el.system.value || null;
  const controller = new AbortController();
  state.live = { id: current ? current.info.id : null, text: "", frame: 0, controller, body: null, article: null };
  setStreaming(true);
  say("");
  let response;
  try {
    response = await withKey(() => api("POST", `${API}/answers`, body, { signal: controller.signal }));
  } catch (error) {
    state.live = null;
    setStreaming(false);
    say(`Not sent: ${error.message}`, true);
    return false;
  }
  await stream(response, body, body.content);
  return true;
}

async function stream(response, body, question) {
  const live = state.live;
  let ended = null;
  try {
    for await (const line of lines(response)) {
      if (line.conversation !== undefined && !live.article) started(line, body, question);
      else if (line.text !== undefined) addText(live, line.text);
      else if (line.end) ended = line.end;
    }
  } catch (error) {
    if (error.name !== "AbortError") {
      // The connection dropped (a phone in the background): the gateway
      // goes on and saves the answer; show it when it is there.
      say("The connection dropped; the answer goes on at the gateway. Showing it again\u2026");
    }
  }
  finish(live, ended);
}

function started(head, body, question) {
  const live = state.live;
  live.id = head.conversation;
  let current = state.current;
  if (!current || current.info.id !== head.conversation) {
    current = { info: { id: head.conversation, title: null, system: body.system || null }, byseq: new Map(), children: new Map(), head: null };
    state.current = current;
    history.replaceState(null, "", `#c=${encodeURIComponent(head.conversation)}`);
  }
  if (body.regenerate === undefined) {
    addNode(current.byseq, current.children, { seq: head.question, parent: head.after ?? null, role: "user", content: question, complete: true, error: null });
  }
  current.head = head.question;
  renderConversation();
  Object.assign(live, liveArticle(head.model));
  paintSoon(live);
}

function paintSoon(live) {
  if (live.text && !live.frame) live.frame = requestAnimationFrame(() => paint(live));
}

async function finish(live, ended) {
  if (live.frame) cancelAnimationFrame(live.frame);
  state.live = null;
  setStreaming(false);
  const shown = state.current && state.current.info.id;
  if (live.id && (shown === live.id || !live.article || live.article.isConnected)) {
    // The saved answer, its branches and the title, as the gateway has them now.
    try {
      await open(live.id);
    } catch (error) {
      say(`Could not reload the conversation: ${error.message}`, true);
    }
  }
  refreshList().catch(() => {});
  if (ended && ended.error && ended.error !== "Stopped") say(`The answer did not complete: ${ended.message || ended.error}`, true);
  else if (ended && ended.error === "Stopped") say("Stopped.");
}

async function follow(id, liveInfo) {
  const controller = new AbortController();
  state.live = { id, text: "", frame: 0, controller, body: null, article: null };
  setStreaming(true);
  let response;
  try {
    response = await withKey(() => api("GET", `${API}/answers/${encodeURIComponent(id)}`, undefined, { signal: controller.signal }));
  } catch {
    state.live = null;
    setStreaming(false);
    return open(id);
  }
  Object.assign(state.live, liveArticle(liveInfo.model));
  const live = state.live;
  let ended = null;
  try {
    for await (const line of lines(response)) {
      if (line.text !== undefined) addText(live, line.text);
      else if (line.end) ended = line.end;
    }
  } catch { /* dropped again: finish shows what the gateway saved */ }
  return finish(live, ended);
}

async function stop() {
  const live = state.live;
  if (!live || !live.id) return;
  say("Stopping\u2026");
  try {
    await withKey(() => api("POST", `${API}/answers/${encodeURIComponent(live.id)}/stop`, {}));
  } catch (error) {
    say(`Could not stop it: ${error.message}`, true);
  }
}

function send() {
  const text = el.input.value;
  if (!text.trim() || state.live) return;
  const current = state.current;
  el.input.value = "";
  autosize();
  ask({ conversation: current ? current.info.id : null, content: text, after: current ? current.head ?? null : null })
    .then((sent) => { if (sent === false) el.input.value = text; });
}

function regenerate(answer) {
  if (state.live) return;
  ask({ conversation: state.current.info.id, regenerate: answer.parent });
}

function startEdit(question, node) {
  if (state.live || node.querySelector(".edit-box")) return;
  const box = document.createElement("div");
  box.className = "edit-box";
  const area = document.createElement("textarea");
  area.value = question.content;
  area.setAttribute("aria-label", "Edit question");
  const resend = button("Resend", "primary");
  const cancel = button("Cancel");
  const row = document.createElement("div");
  row.className = "tools";
  row.append(resend, cancel);
  box.append(area, row);
  const body = node.querySelector(".body");
  body.hidden = true;
  node.querySelector(".tools").hidden = true;
  node.insertBefore(box, body);
  area.focus();
  const close = () => { box.remove(); body.hidden = false; node.querySelector(".tools").hidden = false; };
  cancel.addEventListener("click", close);
  const go = () => {
    if (!area.value.trim()) return;
    ask({ conversation: state.current.info.id, content: area.value, after: question.parent ?? null });
  };
  resend.addEventListener("click", go);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); go(); }
    if (event.key === "Escape") { event.stopPropagation(); close(); }
  });
}

// -- search ----------------------------------------------------------------------------

let searchTimer = 0;
let searchSerial = 0;

function snippetNodes(snippet, marks) {
  const [start, end] = marks;
  const nodes = [];
  let rest = snippet;
  while (rest) {
    const at = rest.indexOf(start);
    if (at < 0) { nodes.push(document.createTextNode(rest)); break; }
    if (at) nodes.push(document.createTextNode(rest.slice(0, at)));
    const close = rest.indexOf(end, at + 1);
    const mark = document.createElement("mark");
    mark.textContent = rest.slice(at + 1, close < 0 ? undefined : close);
    nodes.push(mark);
    rest = close < 0 ? "" : rest.slice(close + 1);
  }
  return nodes;
}

async function runSearch() {
  const query = el.search.value.trim();
  const serial = ++searchSerial;
  if (!query) {
    el.results.hidden = true;
    el.resultList.replaceChildren();
    return;
  }
  let data;
  try {
    data = await withKey(() => getJSON(`${API}/search?q=${encodeURIComponent(query)}`));
  } catch (error) {
    say(`Search failed: ${error.message}`, true);
    return;
  }
  if (serial !== searchSerial) return;
  el.results.hidden = false;
  el.resultsNote.textContent = data.data.length ? `${data.data.length} found` : "Nothing found";
  el.resultList.replaceChildren(...data.data.map((hit) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `#c=${encodeURIComponent(hit.conversation)}&m=${hit.seq}`;
    const title = document.createElement("span");
    title.className = "hit-title";
    title.textContent = hit.title || "Untitled";
    a.append(title, ...snippetNodes(hit.snippet, hit.marks));
    li.append(a);
    return li;
  }));
}

el.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 200);
});
el.search.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { clearTimeout(searchTimer); runSearch(); }
});

// -- conversation actions --------------------------------------------------------------

async function download(format) {
  const id = state.current.info.id;
  try {
    const response = await withKey(() => api("GET", `${API}/conversations/${encodeURIComponent(id)}/export?format=${format}`));
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `ails-${id.slice(0, 12)}.${format === "markdown" ? "md" : "json"}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (error) {
    say(`Export failed: ${error.message}`, true);
  }
}

el.exportMd.addEventListener("click", () => download("markdown"));
el.exportJson.addEventListener("click", () => download("json"));

el.rename.addEventListener("click", async () => {
  const info = state.current.info;
  const title = prompt("A new title for this conversation", info.title || "");
  if (title === null || !title.trim()) return;
  try {
    const response = await withKey(() => api("PATCH", `${API}/conversations/${encodeURIComponent(info.id)}`, { title: title.trim() }));
    state.current.info = (await response.json()).conversation;
    renderHeader();
    await refreshList();
  } catch (error) {
    say(`Rename failed: ${error.message}`, true);
  }
});

el.del.addEventListener("click", async () => {
  const info = state.current.info;
  if (!confirm(`Delete \u201c${info.title || "this conversation"}\u201d for good?`)) return;
  try {
    await withKey(() => api("DELETE", `${API}/conversations/${encodeURIComponent(info.id)}`));
    newChat();
    await refreshList();
    say("Deleted.");
  } catch (error) {
    say(`Delete failed: ${error.message}`, true);
  }
});

el.system.addEventListener("change", async () => {
  const value = el.system.value.trim();
  if (!state.current) { el.system.dataset.draft = value; return; }
  try {
    const response = await withKey(() => api("PATCH", `${API}/conversations/${encodeURIComponent(state.current.info.id)}`, { system: value || null }));
    state.current.info = (await response.json()).conversation;
    say("System prompt saved.");
  } catch (error) {
    say(`Could not save the system prompt: ${error.message}`, true);
  }
});

el.model.addEventListener("change", () => localStorage.setItem(MODEL_STORAGE, el.model.value));

// -- the composer and keys -------------------------------------------------------------

function autosize() {
  el.input.style.height = "auto";
  el.input.style.height = `${el.input.scrollHeight + 2}px`;
}

el.input.addEventListener("input", autosize);
el.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
el.composer.addEventListener("submit", (event) => { event.preventDefault(); send(); });
el.stop.addEventListener("click", stop);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.live && !el.keyDialog.open) { event.preventDefault(); stop(); }
});
el.newChat.addEventListener("click", newChat);
// A link to the conversation already shown changes no hash: close the menu anyway.
el.list.addEventListener("click", (event) => { if (event.target.closest("a")) closeMenu(); });
el.resultList.addEventListener("click", (event) => { if (event.target.closest("a")) closeMenu(); });

function closeMenu() {
  el.app.classList.remove("menu-open");
  el.menu.setAttribute("aria-expanded", "false");
}

el.menu.addEventListener("click", () => {
  const open = !el.app.classList.contains("menu-open");
  el.app.classList.toggle("menu-open", open);
  el.menu.setAttribute("aria-expanded", String(open));
  if (open) el.newChat.focus();
});

window.addEventListener("hashchange", route);

// Back from the background (a phone, a sleeping laptop): show what the gateway has.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.current && !state.live) {
    open(state.current.info.id).catch(() => {});
  }
});

// -- start -----------------------------------------------------------------------------

async function loadModels() {
  const data = await withKey(async () => (await api("GET", "/v1/models")).json());
  state.models = data.data.map((m) => m.id);
  el.model.replaceChildren(...state.models.map((id) => {
    const option = document.createElement("option");
    option.value = id;
    option.textContent = id;
    return option;
  }));
  const saved = localStorage.getItem(MODEL_STORAGE);
  if (saved && state.models.includes(saved)) el.model.value = saved;
}

async function start() {
  try {
    await loadModels();
    await refreshList();
    await route();
    document.documentElement.dataset.ready = "true";
  } catch (error) {
    say(`The gateway did not answer: ${error.message}`, true);
  }
}

start();
