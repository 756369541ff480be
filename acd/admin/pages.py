"""The two pages: the wallboard (a big screen) and an advisor's own page. One file each, inline
CSS and JS, nothing fetched from anywhere but this server (the CSP header says so to the browser).

The wallboard listens to ``/api/v1/stream`` with ``EventSource``. The advisor page needs its token
on every request, which ``EventSource`` cannot send, so it reads the same SSE format from ``fetch``.
The token arrives in the URL fragment (``/agent/ID#token=...``): browsers never send a fragment to
the server, so it stays out of access logs; the page keeps it in ``sessionStorage`` and drops it
from the address bar.
"""

from __future__ import annotations

from typing import Final

PAGE_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    ),
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
}

_COMMON_CSS: Final = """
:root { color-scheme: dark; --bg:#05080c; --panel:#111821; --line:#243242; --text:#f4f7fb;
  --dim:#9fb0c3; --ok:#2ee07a; --warn:#ffc400; --bad:#ff4d4d; --info:#4db8ff; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--text);
  font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.dim { color:var(--dim); }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
.status { font-size:1.4vw; padding:.2em .6em; border-radius:.3em; background:var(--panel); }
.status.live { color:var(--ok); } .status.down { color:var(--bad); }
.a-available { background:#0f5132; } .a-reserved { background:#0b4f8a; }
.a-on_call { background:#7a1f1f; } .a-wrap_up { background:#5b2c83; }
.a-paused { background:#7a5a00; } .a-breather { background:#0d5f5f; }
.a-recovery { background:#1d5c8c; } .a-offline { background:#1b222b; color:var(--dim); }
"""

WALLBOARD_HTML: Final = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>acd wallboard</title>
<style>"""
    + _COMMON_CSS
    + """
body { padding:1.2vw 1.6vw; }
header { display:flex; align-items:center; justify-content:space-between; margin-bottom:1vw; }
h1 { font-size:2.2vw; margin:0; letter-spacing:.05em; }
#clock { font-size:2.2vw; font-variant-numeric:tabular-nums; }
#queues { display:grid; grid-template-columns:repeat(auto-fit, minmax(30vw, 1fr)); gap:1vw; }
.queue { background:var(--panel); border:2px solid var(--line); border-radius:.6vw; padding:1vw; }
.queue h2 { margin:0 0 .6vw 0; font-size:2vw; text-transform:uppercase; letter-spacing:.06em; }
.figures { display:grid; grid-template-columns:repeat(3, 1fr); gap:.6vw; }
.fig { text-align:center; }
.fig .n { font-size:4.6vw; font-weight:700; line-height:1.05; font-variant-numeric:tabular-nums; }
.fig .l { font-size:1.1vw; color:var(--dim); text-transform:uppercase; letter-spacing:.08em; }
.fig.small .n { font-size:2.6vw; }
#agents { margin-top:1.2vw; display:grid; gap:.6vw;
  grid-template-columns:repeat(auto-fill, minmax(14vw, 1fr)); }
.agent { border-radius:.5vw; padding:.6vw .8vw; }
.agent .name { font-size:1.5vw; font-weight:700; white-space:nowrap; overflow:hidden;
  text-overflow:ellipsis; }
.agent .act { font-size:1.3vw; }
.agent .row { display:flex; justify-content:space-between; font-size:1.3vw;
  font-variant-numeric:tabular-nums; }
#empty { font-size:2vw; color:var(--dim); }
#fairness { margin-top:1.2vw; font-size:1.5vw; color:var(--dim); }
#fairness b { color:var(--text); font-variant-numeric:tabular-nums; }
</style></head>
<body>
<header><h1>acd &middot; wallboard</h1>
<span id="status" class="status down">connecting&hellip;</span>
<span id="clock">--:--:--</span></header>
<section id="queues"></section>
<section id="agents"></section>
<div id="empty"></div>
<div id="fairness"></div>
<script>
"use strict";
let board = null, offsetMs = 0;
const ACT = {available:"available", reserved:"ringing", on_call:"on call", wrap_up:"wrap-up",
  paused:"paused", breather:"breather", recovery:"recovery", offline:"logged out"};
function serverNow() { return (Date.now() + offsetMs) / 1000; }
function clock(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? h + ":" + mm + ":" + ss : m + ":" + ss;
}
function pct(x) { return x === null || x === undefined ? "–" : Math.round(x * 100) + "%"; }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function fig(value, label, cls, small) {
  const f = el("div", "fig" + (small ? " small" : ""));
  f.append(el("div", "n " + (cls || ""), value), el("div", "l", label));
  return f;
}
function render() {
  if (!board) return;
  const now = serverNow();
  const queues = document.getElementById("queues");
  queues.replaceChildren();
  for (const q of board.queues) {
    const card = el("div", "queue");
    card.append(el("h2", "", q.name));
    const longest = q.oldest_offered_at === null ? 0 : now - q.oldest_offered_at;
    const sl = q.service_level;
    const grid = el("div", "figures");
    grid.append(
      fig(String(q.waiting), "waiting",
          q.waiting === 0 ? "ok" : (q.routable_agents ? "warn" : "bad")),
      fig(clock(longest), "longest wait", longest >= 60 ? "bad" : longest >= 20 ? "warn" : "ok"),
      fig(pct(sl), "service level",
          sl === null ? "" : sl >= 0.8 ? "ok" : sl >= 0.6 ? "warn" : "bad"),
      fig(String(q.abandoned), "abandoned", q.abandoned ? "warn" : "", true),
      fig(String(q.answered), "answered", "", true),
      fig(q.routable_agents + "/" + q.logged_in_agents, "ready / logged in", "", true));
    card.append(grid);
    queues.append(card);
  }
  const agents = document.getElementById("agents");
  agents.replaceChildren();
  for (const a of board.agents) {
    const tile = el("div", "agent a-" + a.activity);
    tile.append(el("div", "name", a.name));
    const what = (ACT[a.activity] || a.activity) + (a.reason ? " · " + a.reason : "");
    tile.append(el("div", "act", what));
    const row = el("div", "row");
    row.append(el("span", "", clock(now - a.since)), el("span", "", "occ " + pct(a.occupancy)));
    tile.append(row);
    agents.append(tile);
  }
  // Workload spread across logged-in advisors (rolling window): a wide one means some carry more.
  const f = board.fairness, fair = document.getElementById("fairness");
  fair.replaceChildren();
  if (f.advisors) {
    fair.append("Spread over " + f.advisors + " advisors — occupancy ",
      el("b", "", pct(f.occupancy.minimum) + "–" + pct(f.occupancy.maximum)),
      ", calls ", el("b", "", f.calls.minimum + "–" + f.calls.maximum),
      ", talk time ", el("b", "", clock(f.talk_s.minimum) + "–" + clock(f.talk_s.maximum)));
  }
  document.getElementById("empty").textContent =
    board.queues.length || board.agents.length ? "" : "No queue or advisor configured.";
}
function tick() {
  document.getElementById("clock").textContent = new Date().toLocaleTimeString();
  render();
}
function connect() {
  const status = document.getElementById("status");
  const source = new EventSource("/api/v1/stream");
  source.addEventListener("snapshot", (msg) => {
    board = JSON.parse(msg.data);
    offsetMs = board.at * 1000 - Date.now();
    window.acdLastUpdate = Date.now();
    status.textContent = "live"; status.className = "status live";
    render();
  });
  source.onerror = () => {
    status.textContent = "reconnecting…"; status.className = "status down";
  };
}
connect();
tick();
setInterval(tick, 1000);
</script></body></html>
"""
)

ADVISOR_HTML: Final = (
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>acd advisor</title>
<style>"""
    + _COMMON_CSS
    + """
body { padding:24px; font-size:20px; max-width:1100px; margin:auto; }
header { display:flex; justify-content:space-between; align-items:center; }
h1 { font-size:28px; margin:0; }
.status { font-size:16px; }
#state { margin:20px 0; border-radius:12px; padding:24px; }
#state .act { font-size:44px; font-weight:700; }
#state .time { font-size:64px; font-weight:700; font-variant-numeric:tabular-nums; }
#state .sub { font-size:20px; }
.panel { background:var(--panel); border:1px solid var(--line); border-radius:12px; padding:18px;
  margin:16px 0; }
.panel h2 { margin:0 0 12px 0; font-size:18px; color:var(--dim); text-transform:uppercase;
  letter-spacing:.08em; }
button, select, input { font-size:20px; padding:12px 18px; border-radius:8px;
  border:1px solid var(--line); background:#1c2835; color:var(--text); }
button { cursor:pointer; font-weight:700; }
button:disabled { opacity:.35; cursor:default; }
button.go { background:#137a43; } button.stop { background:#8a6a00; }
button.care { background:#1d5c8c; }
.actions { display:flex; flex-wrap:wrap; gap:12px; align-items:center; }
#caller .number { font-size:40px; font-weight:700; font-variant-numeric:tabular-nums; }
#caller .name { font-size:28px; }
#today { display:grid; grid-template-columns:repeat(4, 1fr); gap:12px; text-align:center; }
#today .n { font-size:40px; font-weight:700; font-variant-numeric:tabular-nums; }
#today .l { font-size:15px; color:var(--dim); text-transform:uppercase; }
#message { min-height:28px; margin-top:8px; }
#login { display:none; }
</style></head>
<body>
<header><h1 id="title">Advisor</h1>
<span id="status" class="status down">connecting&hellip;</span></header>
<div id="login" class="panel"><h2>Sign in</h2>
  <div class="actions">
  <input id="token-input" type="password" placeholder="your token" autocomplete="off">
  <button id="token-save" class="go">Open my page</button></div></div>
<div id="main">
<div id="state" class="a-offline"><div class="act" id="activity">&ndash;</div>
  <div class="time" id="since">0:00</div><div class="sub" id="detail"></div></div>
<div class="panel"><h2>My state</h2><div class="actions">
  <button disabled id="b-ready" class="go">Ready</button>
  <select id="reason"></select><button disabled id="b-pause" class="stop">Pause</button>
  <button disabled id="b-recovery" class="care">Recovery pause</button>
  <button disabled id="b-wrap" class="go">End wrap-up</button>
  <button disabled id="b-login">Log in</button><button disabled id="b-logout">Log out</button></div>
  <div id="message" class="dim"></div></div>
<div class="panel" id="caller"><h2>Caller</h2><div class="number" id="c-number">&ndash;</div>
  <div class="name" id="c-name"></div>
  <div class="actions" id="disposition-row" style="margin-top:12px">
  <select id="disposition"></select>
  <button disabled id="b-disposition">Set disposition</button></div></div>
<div class="panel"><h2>My day</h2><div id="today">
  <div><div class="n" id="t-calls">0</div><div class="l">calls</div></div>
  <div><div class="n" id="t-talk">0:00</div><div class="l">talk time</div></div>
  <div><div class="n" id="t-occ">0%</div><div class="l">occupancy (last hour)</div></div>
  <div><div class="n" id="t-breathers">0</div><div class="l">breathers / recoveries</div></div>
</div></div></div>
<script>
"use strict";
const AGENT_ID = __AGENT_ID__;
const ACT = {available:"Available", reserved:"Ringing", on_call:"On call", wrap_up:"Wrap-up",
  paused:"Paused", breather:"Breather", recovery:"Recovery pause", offline:"Logged out"};
const $ = (id) => document.getElementById(id);
let page = null, offsetMs = 0, token = null;
const key = "acd-token-" + AGENT_ID;
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  sessionStorage.setItem(key, fragment.get("token"));
  history.replaceState(null, "", location.pathname);
}
token = sessionStorage.getItem(key);
function clock(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? h + ":" + mm + ":" + ss : m + ":" + ss;
}
function options(select, values) {
  if (select.dataset.filled === values.join("|")) return;
  select.replaceChildren(...values.map((v) => { const o = document.createElement("option");
    o.value = v; o.textContent = v.replace(/_/g, " "); return o; }));
  select.dataset.filled = values.join("|");
}
function render() {
  if (!page) return;
  const a = page.agent, now = (Date.now() + offsetMs) / 1000;
  $("title").textContent = a.name + " (" + a.agent_id + ")";
  $("state").className = "a-" + a.activity;
  $("activity").textContent = (ACT[a.activity] || a.activity) + (a.reason ? " · " + a.reason : "");
  $("since").textContent = clock(now - a.since);
  const pending = a.pending_pause ? "pause after this call: " + a.pending_pause + " · " : "";
  $("detail").textContent = pending + "phone " + a.phone.replace(/_/g, " ");
  const act = a.activity, inside = a.presence === "logged_in";
  const busy = act === "reserved" || act === "on_call";
  // During a call, "ready" only cancels a pause asked for after it; recovery comes after the call.
  $("b-ready").disabled = !inside || act === "available" || (busy && !a.pending_pause);
  $("b-pause").disabled = !inside;
  $("b-recovery").disabled = !inside || busy || act === "recovery";
  $("b-wrap").disabled = act !== "wrap_up";
  $("b-login").disabled = inside;
  $("b-logout").disabled = !inside || busy;
  options($("reason"), page.pause_reasons);
  options($("disposition"), page.dispositions);
  const c = page.call;
  $("c-number").textContent = c ? (c.caller_number || "unknown number") : "–";
  $("c-name").textContent = c ? c.caller_name : "";
  $("disposition-row").style.display = c && c.answered ? "flex" : "none";
  $("b-disposition").disabled = !(c && c.answered);
  $("t-calls").textContent = page.today.calls;
  $("t-talk").textContent = clock(page.today.talk_s);
  $("t-occ").textContent = Math.round(page.today.occupancy * 100) + "%";
  $("t-breathers").textContent = page.today.breathers + " / " + page.today.recoveries;
}
async function post(path, body) {
  $("message").textContent = "";
  const response = await fetch("/api/v1/agents/" + encodeURIComponent(AGENT_ID) + path, {
    method: "POST",
    headers: {"authorization": "Bearer " + token, "content-type": "application/json"},
    body: JSON.stringify(body || {})});
  if (!response.ok) {
    const problem = await response.json().catch(() => ({error: {message: response.statusText}}));
    $("message").textContent = problem.error.message;
    $("message").className = "bad";
  } else { $("message").className = "dim"; $("message").textContent = "done"; }
}
$("b-ready").onclick = () => post("/ready");
$("b-pause").onclick = () => post("/pause", {reason: $("reason").value});
$("b-recovery").onclick = () => post("/recovery");
$("b-wrap").onclick = () => post("/wrap-up/end");
$("b-login").onclick = () => post("/login");
$("b-logout").onclick = () => post("/logout");
$("b-disposition").onclick = () => post("/disposition", {disposition: $("disposition").value});
$("token-save").onclick = () => {
  sessionStorage.setItem(key, $("token-input").value.trim()); location.reload(); };
async function listen() {
  const status = $("status");
  for (;;) {
    try {
      const url = "/api/v1/agents/" + encodeURIComponent(AGENT_ID) + "/session/stream";
      const response = await fetch(url,
        {headers: {"authorization": "Bearer " + token, "accept": "text/event-stream"}});
      if (response.status === 401 || response.status === 403) {
        sessionStorage.removeItem(key); $("login").style.display = "block";
        $("main").style.display = "none"; status.textContent = "not signed in"; return;
      }
      if (!response.ok) throw new Error(response.statusText);
      status.textContent = "live"; status.className = "status live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += value.replace(/\\r\\n/g, "\\n");
        let cut;
        while ((cut = buffer.indexOf("\\n\\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          let name = "message", data = "";
          for (const line of block.split("\\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trimStart();
          }
          if (name === "session" && data) {
            page = JSON.parse(data); offsetMs = page.at * 1000 - Date.now();
            window.acdLastUpdate = Date.now(); render();
          }
        }
      }
    } catch (problem) { /* the server went away: retry below */ }
    status.textContent = "reconnecting…"; status.className = "status down";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
if (!token) { $("login").style.display = "block"; $("main").style.display = "none";
  $("status").textContent = "not signed in"; }
else { listen(); }
setInterval(render, 1000);
</script></body></html>
"""
)
