// The coordinator's app. Every record goes through a queue kept in
// localStorage, each with its own client UUID, and is sent with the batch
// endpoint: a record the server already has is answered as before, so
// sending the queue again after a lost answer never credits twice.
"use strict";

const AUTH_KEY = "timebank.app.auth";
const QUEUE_KEY = "timebank.app.queue";
const $ = (id) => document.getElementById(id);

let auth = load(AUTH_KEY, null);
let queue = load(QUEUE_KEY, []);
let activities = [];
let selected = [];
let syncing = false;

function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (_) {
    return fallback;
  }
}

function save(key, value) {
  if (value === null) localStorage.removeItem(key);
  else localStorage.setItem(key, JSON.stringify(value));
}

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

/// A problem's words for people: its title and stable code.
function describeProblem(problem, status) {
  if (!problem || typeof problem !== "object") return "HTTP " + status;
  const code = problem.code ? " (" + problem.code + ")" : "";
  const detail = problem.detail ? ": " + problem.detail : "";
  return (problem.title || "HTTP " + status) + code + detail;
}

class Refusal extends Error {
  constructor(status, problem) {
    super(describeProblem(problem, status));
    this.status = status;
    this.problem = problem;
  }
}

async function refresh() {
  if (!auth || !auth.refresh_token) return false;
  let response;
  try {
    response = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: auth.refresh_token }),
    });
  } catch (_) {
    return false;
  }
  if (!response.ok) return false;
  auth = await response.json();
  save(AUTH_KEY, auth);
  return true;
}

/// Calls the API with the access token, refreshing it once when it expired.
/// A network failure rejects with a TypeError; a refusal with a Refusal.
async function api(method, path, body, headers) {
  const send = () => fetch(path, {
    method,
    headers: Object.assign(
      { authorization: "Bearer " + (auth ? auth.access_token : "") },
      body === undefined ? {} : { "content-type": "application/json" },
      headers || {},
    ),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let response = await send();
  if (response.status === 401 && await refresh()) response = await send();
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (response.status === 401) showLogin("Your session ended; log in again.");
  if (!response.ok) throw new Refusal(response.status, data);
  return data;
}

// --- logging in ---------------------------------------------------------

function showLogin(message) {
  auth = null;
  save(AUTH_KEY, null);
  $("work").hidden = true;
  $("login-panel").hidden = false;
  $("login-error").textContent = message || "";
}

function showWork() {
  $("login-panel").hidden = true;
  $("work").hidden = false;
  loadActivities();
  loadPending();
  flush();
}

async function logIn(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const response = await fetch("/v1/auth/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value }),
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new Refusal(response.status, data);
    auth = data;
    save(AUTH_KEY, auth);
    $("password").value = "";
    showWork();
  } catch (e) {
    $("login-error").textContent = e instanceof Refusal ? e.message : "No network: logging in needs the server.";
  }
}

async function logOut() {
  try { await api("POST", "/v1/auth/logout"); } catch (_) { /* the token is dropped anyway */ }
  showLogin("Logged out.");
}

// --- finding volunteers -------------------------------------------------

async function find(event) {
  event.preventDefault();
  const q = $("find-query").value.trim();
  const list = $("find-results");
  list.replaceChildren();
  $("find-message").textContent = "Searching…";
  try {
    const found = new Map();
    // A card number is letters and digits; it is tried first, then the name.
    if (/^[A-Za-z0-9]{4,32}$/.test(q)) {
      const byCard = await api("GET", "/v1/volunteers?card_number=" + encodeURIComponent(q));
      for (const v of byCard.items) found.set(v.id, v);
    }
    const byName = await api("GET", "/v1/volunteers?limit=50&name=" + encodeURIComponent(q));
    for (const v of byName.items) found.set(v.id, v);
    $("find-message").textContent = found.size ? found.size + " found" : "Nobody found";
    for (const v of found.values()) {
      const li = el("li");
      li.append(el("span", v.name + (v.card_number ? " · " + v.card_number : "") + (v.status !== "active" ? " (" + v.status + ")" : "")));
      const pick = el("button", "Choose", { type: "button", class: "pick", "data-id": v.id });
      pick.setAttribute("aria-label", "Choose " + v.name);
      pick.addEventListener("click", () => choose(v));
      li.append(pick);
      list.append(li);
    }
  } catch (e) {
    $("find-message").textContent = e instanceof Refusal ? e.message : "No network: finding volunteers needs the server.";
  }
}

function choose(v) {
  if (!selected.some((s) => s.id === v.id)) selected.push({ id: v.id, name: v.name });
  renderSelected();
}

function renderSelected() {
  const list = $("selected");
  list.replaceChildren();
  $("selected-empty").hidden = selected.length > 0;
  for (const v of selected) {
    const li = el("li", null, { "data-id": v.id });
    li.append(el("span", v.name));
    const drop = el("button", "Remove", { type: "button", class: "secondary" });
    drop.setAttribute("aria-label", "Remove " + v.name);
    drop.addEventListener("click", () => {
      selected = selected.filter((s) => s.id !== v.id);
      renderSelected();
    });
    li.append(drop);
    list.append(li);
  }
}

// --- activities ---------------------------------------------------------

async function loadActivities() {
  try {
    const page = await api("GET", "/v1/activities?active=true&limit=200");
    activities = page.items;
    localStorage.setItem("timebank.app.activities", JSON.stringify(activities));
  } catch (_) {
    // Offline: the list kept from the last time.
    activities = load("timebank.app.activities", []);
  }
  const select = $("activity");
  const current = select.value;
  select.replaceChildren();
  for (const a of activities) select.append(el("option", a.name, { value: a.id }));
  if (current) select.value = current;
}

function activityName(id) {
  const a = activities.find((x) => x.id === id);
  return a ? a.name : "activity";
}

// --- recording: always through the queue --------------------------------

function record(event) {
  event.preventDefault();
  $("record-error").textContent = "";
  if (selected.length === 0) {
    $("record-error").textContent = "Choose at least one volunteer first.";
    return;
  }
  const started = new Date($("started-at").value);
  const minutes = Number($("minutes").value);
  if (Number.isNaN(started.getTime()) || !Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    $("record-error").textContent = "Give a start time and 1 to 1440 minutes.";
    return;
  }
  const note = $("note").value.trim();
  for (const v of selected) {
    queue.push({
      client_id: crypto.randomUUID(),
      volunteer_id: v.id,
      volunteer_name: v.name,
      activity_id: $("activity").value,
      started_at: started.toISOString(),
      minutes,
      note: note || null,
      state: "queued",
      outcome: "waiting to be sent",
    });
  }
  save(QUEUE_KEY, queue);
  selected = [];
  renderSelected();
  renderQueue();
  flush();
}

/// Sends every record not yet answered; each result says what became of it.
async function flush() {
  if (syncing || !auth) return;
  const waiting = queue.filter((r) => r.state === "queued");
  if (waiting.length === 0) return renderQueue();
  syncing = true;
  renderQueue("Syncing…");
  try {
    for (let i = 0; i < waiting.length; i += 500) {
      const chunk = waiting.slice(i, i + 500);
      const records = chunk.map((r) => {
        const body = { volunteer_id: r.volunteer_id, activity_id: r.activity_id, started_at: r.started_at, minutes: r.minutes, client_id: r.client_id };
        if (r.note) body.note = r.note;
        return body;
      });
      const answer = await api("POST", "/v1/service-records/batch", { records });
      for (const result of answer.results) {
        const r = chunk[result.index];
        if (!r) continue;
        if (result.record) {
          r.state = result.record.status === "pending_approval" ? "pending_approval" : "credited";
          r.record_id = result.record.id;
          r.outcome = r.state === "pending_approval"
            ? "pending approval"
            : "credited " + result.record.points + " points (balance " + result.record.balance + ")";
        } else {
          r.state = "refused";
          r.outcome = "refused: " + describeProblem(result.problem, result.status);
        }
      }
      save(QUEUE_KEY, queue);
    }
    renderQueue();
  } catch (e) {
    // No answer: the records stay queued and go again with the next sync.
    renderQueue(e instanceof Refusal ? "Sync refused: " + e.message : "Offline: records are kept on this phone.");
  } finally {
    syncing = false;
    save(QUEUE_KEY, queue);
  }
  loadPending();
}

function renderQueue(message) {
  const list = $("records");
  list.replaceChildren();
  for (const r of queue.slice().reverse()) {
    const li = el("li", null, { "data-client-id": r.client_id, "data-state": r.state });
    const when = new Date(r.started_at).toLocaleString();
    li.append(el("span", r.volunteer_name + " · " + activityName(r.activity_id) + " · " + when + " · " + r.minutes + " min"));
    li.append(el("span", r.outcome, { class: "outcome" }));
    list.append(li);
  }
  const waiting = queue.filter((r) => r.state === "queued").length;
  const count = waiting ? waiting + " waiting to sync." : "Everything is synced.";
  $("queue-count").textContent = message ? message + " " + count : count;
}

function clearFinished() {
  queue = queue.filter((r) => r.state === "queued");
  save(QUEUE_KEY, queue);
  renderQueue();
}

// --- awaiting approval --------------------------------------------------

async function loadPending() {
  if (!auth) return;
  const list = $("pending");
  try {
    const page = await api("GET", "/v1/service-records?status=pending_approval&limit=100");
    list.replaceChildren();
    $("pending-message").textContent = page.items.length ? "" : "Nothing is waiting for approval.";
    for (const r of page.items) list.append(pendingItem(r));
  } catch (e) {
    if (e instanceof Refusal && (e.status === 400 || e.status === 404)) {
      $("pending-message").textContent = "Approvals are not offered by this server.";
    } else {
      $("pending-message").textContent = e instanceof Refusal ? e.message : "Offline: approvals need the server.";
    }
  }
}

function pendingItem(r) {
  const li = el("li", null, { "data-id": r.id });
  li.append(el("span", activityName(r.activity_id) + " · " + new Date(r.started_at).toLocaleString() + " · " + r.hours + " h · " + r.points + " points"));
  const reasonId = "reason-" + r.id;
  const label = el("label", "Reason to reject", { for: reasonId });
  const reason = el("input", null, { id: reasonId, maxlength: "1000" });
  const approve = el("button", "Approve", { type: "button" });
  const reject = el("button", "Reject", { type: "button", class: "secondary" });
  const result = el("span", null, { class: "outcome", role: "status" });
  approve.addEventListener("click", () => decide(r.id, "approve", {}, result));
  reject.addEventListener("click", () => {
    if (!reason.value.trim()) {
      result.textContent = "Give a reason to reject.";
      reason.focus();
      return;
    }
    decide(r.id, "reject", { reason: reason.value.trim() }, result);
  });
  li.append(approve, label, reason, reject, result);
  return li;
}

async function decide(id, action, body, result) {
  result.textContent = "Sending…";
  try {
    await api("POST", "/v1/service-records/" + encodeURIComponent(id) + "/" + action, body, { "Idempotency-Key": crypto.randomUUID() });
    result.textContent = action === "approve" ? "Approved" : "Rejected";
    setTimeout(loadPending, 1000);
  } catch (e) {
    result.textContent = e instanceof Refusal ? e.message : "No network: try again when online.";
  }
}

// --- start --------------------------------------------------------------

function showNetwork() {
  const net = $("net");
  net.textContent = navigator.onLine ? "" : "Offline";
  net.className = navigator.onLine ? "" : "offline";
}

function defaultStart() {
  // An hour that ended a few minutes ago, in local time for datetime-local.
  const d = new Date(Date.now() - 65 * 60 * 1000);
  d.setSeconds(0, 0);
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60 * 1000);
  return local.toISOString().slice(0, 16);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", logIn);
  $("find").addEventListener("submit", find);
  $("record").addEventListener("submit", record);
  $("sync").addEventListener("click", flush);
  $("clear-done").addEventListener("click", clearFinished);
  $("pending-refresh").addEventListener("click", loadPending);
  $("logout").addEventListener("click", logOut);
  $("started-at").value = defaultStart();
  window.addEventListener("online", () => { showNetwork(); flush(); });
  window.addEventListener("offline", showNetwork);
  setInterval(() => { if (navigator.onLine) flush(); }, 30000);
  showNetwork();
  renderSelected();
  renderQueue();
  if (auth) showWork();
  else showLogin();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => { /* works online without it */ });
  }
});
