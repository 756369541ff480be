// The supervisor page: queues (figures, hints, tuning), advisors (pause, log out) and waiting
// callers, limited to the supervisor's queues. Live from /api/v1/stream; who the token belongs
// to from /api/v1/me.
"use strict";
(() => {
  const A = window.acd;
  const {$, el, words: W, clock, label, fill} = A;
  const key = "acd-token-supervisor";
  const template = $("queue-card");
  let me = null, board = null, calls = [], listenings = [], recordings = [], tuning = {};
  let lockedPins = new Set();
  let recordingsShown = "";
  const MODES = ["listen", "whisper", "barge"];

  function mine(queue) { return me.queues === null || me.queues.includes(queue); }
  function say(text, bad) { $("message").textContent = text; $("message").className = bad ? "bad" : "dim"; }
  async function request(method, url, body) {
    const result = await A.call(method, url, token, body);
    if (result.status === 401) A.signin(key, "invalid");
    return result;
  }
  function renderQueues() {
    const queues = board.queues.filter((q) => mine(q.name));
    const holder = $("queues");
    const cards = new Map([...holder.children].map((c) => [c.dataset.queue, c]));
    // Cards are kept (not rebuilt) so an open tuning form keeps what is being typed.
    for (const q of queues) {
      let card = cards.get(q.name);
      if (!card) {
        card = A.queueCard(template, q, board.agents);
        setUpTuning(card, q.name);
        setUpHours(card, q.name);
        holder.append(card);
      } else {
        A.updateQueueCard(card, q, board.agents);
      }
      cards.delete(q.name);
    }
    for (const stale of cards.values()) stale.remove();
  }
  function setUpHours(card, queue) {
    const path = "/api/v1/queues/" + encodeURIComponent(queue);
    card.querySelector('[data-action="close-queue"]').onclick = async () => {
      const reason = window.prompt(W.phrases.closure_reason);
      if (!reason) return;
      const result = await request("POST", path + "/close", {reason});
      if (!result.ok) return say(result.data.error.message, true);
      say(queue + " — " + W.phrases.done);
    };
    card.querySelector('[data-action="reopen-queue"]').onclick = async () => {
      const result = await request("POST", path + "/reopen");
      if (!result.ok) return say(result.data.error.message, true);
      say(queue + " — " + W.phrases.done);
    };
  }
  function setUpTuning(card, queue) {
    card.querySelector("details.tuning").addEventListener("toggle", async (e) => {
      if (!e.target.open) return;
      const result = await request("GET", "/api/v1/queues/" + encodeURIComponent(queue) + "/tuning");
      if (!result.ok) return say(result.data.error.message, true);
      tuning[queue] = result.data;
      for (const input of card.querySelectorAll(".form [name]")) {
        const value = result.data[input.name];
        input.value = value === null || value === undefined ? "" : value;
      }
    });
    card.querySelector('[data-action="tune"]').onclick = async () => {
      const changes = {};
      for (const input of card.querySelectorAll(".form [name]")) {
        const before = tuning[queue] ? tuning[queue][input.name] : undefined;
        let value = input.value;
        if (input.type === "number") value = value === "" ? null : Number(value);
        if (value !== before && !(value === null && input.name !== "max_wait_s")) changes[input.name] = value;
      }
      if (!Object.keys(changes).length) return say(W.phrases.nothing_changed);
      const result = await request("PATCH", "/api/v1/queues/" + encodeURIComponent(queue), changes);
      if (!result.ok) return say(result.data.error.message, true);
      tuning[queue] = {...tuning[queue], ...changes};
      say(queue + " — " + W.phrases.saved);
    };
  }
  function reasonSelect() {
    const select = el("select");
    for (const code of A.page.pause_reasons) {
      const o = el("option", "", label(W.pause_reasons, code));
      o.value = code;
      select.append(o);
    }
    return select;
  }
  function renderAdvisors() {
    const body = $("advisors").tBodies[0];
    const rows = new Map([...body.rows].map((r) => [r.dataset.agent, r]));
    for (const a of board.agents.filter((x) => x.queues.some(mine))) {
      let row = rows.get(a.agent_id);
      if (!row) {
        row = el("tr");
        row.dataset.agent = a.agent_id;
        const name = el("td", "name"), state = el("td", "state"), since = el("td", "since");
        const queues = el("td", "dim queues-cell"), cell = el("td");
        const actions = el("div", "row-actions");
        cell.append(actions);
        const select = reasonSelect();
        const pause = el("button", "stop", W.phrases.pause_action);
        const logout = el("button", "", W.phrases.logout_action);
        const ready = el("button", "go", W.phrases.ready_action);
        ready.dataset.ready = a.agent_id;
        pause.onclick = () => act(a.agent_id, "pause", {reason: select.value});
        logout.onclick = () => {
          if (!confirm(fill(W.phrases.confirm_logout, {name: row.dataset.name}))) return;
          const reason = window.prompt(W.phrases.ask_reason) || "";
          act(a.agent_id, "logout", reason ? {reason} : {});
        };
        ready.onclick = () => {
          const reason = window.prompt(W.phrases.ask_reason) || "";
          act(a.agent_id, "ready", reason ? {reason} : {});
        };
        // Shown only while the advisor's PIN is locked by wrong tries (docs/operations.md).
        const unlock = el("button", "go", W.phrases.unlock_pin_action);
        unlock.dataset.unlockPin = a.agent_id;
        unlock.onclick = () => unlockPin(a.agent_id, row.dataset.name);
        actions.append(select, pause, logout, ready, unlock);
        row.append(name, state, since, queues, cell);
        body.append(row);
      }
      rows.delete(a.agent_id);
      row.dataset.name = a.name;
      const [name, state, since, queues, cell] = row.cells;
      const actions = cell.firstElementChild;
      name.textContent = a.name;
      state.replaceChildren(el("span", "pill a-" + a.activity, A.activity(a)));
      if (a.phone === "unreachable") state.append(" ", el("span", "bad", W.phones.unreachable));
      const locked = lockedPins.has(a.agent_id);
      if (locked) state.append(" ", el("span", "bad", W.phrases.pin_locked));
      actions.children[4].hidden = !locked;
      if (a.pending_pause) {
        state.append(" ", el("span", "dim", fill(W.phrases.pause_after_call, {reason: A.reason(a.pending_pause)})));
      }
      since.textContent = clock(A.serverNow() - a.since);
      queues.textContent = a.queues.join(", ");
      const inside = a.presence === "logged_in", busy = a.on_call;
      actions.children[1].disabled = !inside;
      actions.children[2].disabled = !inside || busy;
      actions.children[3].disabled = !inside || a.activity === "available";
    }
    for (const stale of rows.values()) stale.remove();
  }
  // Calls are kept by id like the advisors' rows: rebuilt every second, a button pressed during
  // a render would lose its click and an open "move to" list its choice. A row is made again
  // only when its actions change (waiting -> connected).
  const latestCalls = new Map();
  function otherQueues(c) { return board.queues.map((q) => q.name).filter((n) => n !== c.queue && mine(n)); }
  function callShape(c) { return c.state + "|" + (c.state === "waiting" ? otherQueues(c).join(",") : ""); }
  function callRow(c) {
    const row = el("tr");
    row.dataset.call = c.call_id;
    row.dataset.shape = callShape(c);
    row.append(el("td"), el("td"), el("td", "num"), el("td", "caller-name"), el("td", "num"));
    const cell = el("td"), actions = el("div", "row-actions");
    cell.append(actions);
    // Listening is offered on calls an advisor is talking on.
    if (c.state === "connected") {
      for (const mode of MODES) {
        const button = el("button", "", W.phrases[mode + "_action"]);
        button.dataset.listen = mode;
        button.onclick = () => listen(c.call_id, mode);
        actions.append(button);
      }
    }
    row.append(cell);
    const control = el("td"), tools = el("div", "row-actions");
    control.append(tools);
    // Live control (docs/supervision.md): a waiting caller moves or goes first; any stuck
    // call (waiting, or connected) can be ended.
    if (c.state === "waiting") {
      const others = otherQueues(c);
      if (others.length) {
        const select = el("select");
        for (const name of others) { const o = el("option", "", name); o.value = name; select.append(o); }
        const move = el("button", "", W.phrases.move_action);
        move.dataset.move = c.call_id;
        move.onclick = () => control(c.call_id, "/move", {queue: select.value});
        tools.append(move, select);
      }
      const first = el("button", "go", W.phrases.raise_action);
      first.dataset.raise = c.call_id;
      first.onclick = () => {
        const now = latestCalls.get(c.call_id) || c;
        control(c.call_id, "/priority", {priority: Math.min(now.priority + 10, 100)});
      };
      tools.append(first);
    }
    if (c.state === "waiting" || c.state === "connected") {
      const end = el("button", "stop", W.phrases.end_action);
      end.dataset.end = c.call_id;
      end.onclick = () => { if (confirm(W.phrases.confirm_end)) control(c.call_id, "/end", {}); };
      tools.append(end);
    }
    row.append(control);
    return row;
  }
  function renderCalls() {
    const list = calls.filter((c) => mine(c.queue));
    const holder = $("calls");
    latestCalls.clear();
    if (!list.length) {
      if (!holder.querySelector("p.none")) holder.replaceChildren(el("p", "dim none", W.phrases.no_waiting));
      return;
    }
    let table = holder.querySelector("table.calls-table");
    if (!table) {
      table = el("table", "calls-table");
      const head = el("tr");
      for (const column of ["queue", "state", "number", "name", "for", "listen", "control"]) {
        head.append(el("th", "", W.phrases["column_" + column]));
      }
      const thead = el("thead");
      thead.append(head);
      table.append(thead, el("tbody"));
      const wrap = el("div", "table-wrap");
      wrap.append(table);
      holder.replaceChildren(wrap);
    }
    const body = table.tBodies[0];
    const rows = new Map([...body.rows].map((r) => [r.dataset.call, r]));
    list.forEach((c, i) => {
      latestCalls.set(c.call_id, c);
      let row = rows.get(c.call_id);
      rows.delete(c.call_id);
      if (row && row.dataset.shape !== callShape(c)) { row.remove(); row = undefined; }
      if (!row) row = callRow(c);
      if (body.rows[i] !== row) body.insertBefore(row, body.rows[i] || null);
      const [queue, state, number, name, waited] = row.cells;
      row.dataset.agent = c.agent_id || "";
      queue.textContent = c.queue;
      state.replaceChildren(label(W.call_states, c.state));
      // The supervisor's desk: the call's recording, and whether someone listens to it.
      if (c.recording) state.append(" ", el("span", "pill dim", label(W.listening, c.recording)));
      if (c.listened) state.append(" ", el("span", "pill warn", label(W.listening, "listening")));
      number.textContent = c.caller_number || W.phrases.unknown_number;
      name.textContent = c.caller_name;
      waited.textContent = clock(c.waited_s);
    });
    for (const stale of rows.values()) stale.remove();
  }
  function renderListenings() {
    const holder = $("listenings");
    if (!listenings.length) {
      if (!holder.querySelector("p.none")) holder.replaceChildren(el("p", "dim none", W.phrases.no_listening));
      return;
    }
    holder.querySelector("p.none")?.remove();
    // Rows are kept (not rebuilt) on every update: a button replaced between the press and the
    // release of a click would lose the click (the page renders every second and on each event).
    const rows = new Map([...holder.querySelectorAll(".listening")].map((r) => [r.dataset.listening, r]));
    for (const x of listenings) {
      let row = rows.get(x.listening_id);
      if (!row) {
        row = el("div", "listening");
        row.dataset.listening = x.listening_id;
        row.dataset.agent = x.agent_id;
        row.append(el("span"));
        for (const mode of MODES) {
          const button = el("button", "", W.phrases[mode + "_action"]);
          button.dataset.mode = mode;
          button.onclick = () => listeningAction(x.listening_id, "/mode", {mode});
          row.append(button);
        }
        const leave = el("button", "stop", W.phrases.leave_action);
        leave.dataset.leave = x.listening_id;
        leave.onclick = () => listeningAction(x.listening_id, "/leave");
        row.append(leave);
        holder.append(row);
      }
      rows.delete(x.listening_id);
      const agent = board.agents.find((a) => a.agent_id === x.agent_id);
      row.firstElementChild.textContent = fill(W.phrases.listening_to, {
        name: agent ? agent.name : x.agent_id, mode: label(W.listening, x.mode), state: label(W.listening, x.state),
      });
      for (const button of row.querySelectorAll("[data-mode]")) {
        button.className = button.dataset.mode === x.mode ? "mode-on" : "";
        button.disabled = x.state !== "listening" || button.dataset.mode === x.mode;
      }
    }
    for (const stale of rows.values()) stale.remove();
  }
  function recordingRow(r) {
    const row = el("div", "recording");
    row.dataset.call = r.call_id;
    row.dataset.shape = r.status + "|" + r.in_progress;
    const agent = board.agents.find((a) => a.agent_id === r.agent_id);
    row.append(el("span", "", fill(W.phrases.recording_line, {
      when: new Date(r.started_at * 1000).toLocaleString(document.documentElement.lang),
      queue: r.queue, name: agent ? agent.name : (r.agent_id || "–"), status: label(W.listening, r.status),
    })));
    if (r.status === "recorded" && !r.in_progress) {
      const play = el("button", "", W.phrases.play_action);
      play.dataset.play = r.call_id;
      play.onclick = async () => {
        const result = await request("POST", "/api/v1/recordings/" + encodeURIComponent(r.call_id) + "/listen");
        if (!result.ok) return say(result.data.error.message, true);
        const player = el("audio");
        player.controls = true;
        player.src = result.data.url;
        play.replaceWith(player);
        player.play().catch(() => {});
      };
      row.append(" ", play);
    }
    return row;
  }
  function renderRecordings() {
    // Rows are kept by call: a new recording every few seconds must not replace a player in use.
    const key = JSON.stringify(recordings.map((r) => [r.call_id, r.status, r.in_progress]));
    if (key === recordingsShown) return;
    recordingsShown = key;
    const holder = $("recordings");
    if (!recordings.length) return holder.replaceChildren(el("p", "dim", W.phrases.no_recording));
    holder.querySelector("p.dim")?.remove();
    const rows = new Map([...holder.querySelectorAll(".recording")].map((x) => [x.dataset.call, x]));
    recordings.forEach((r, i) => {
      let row = rows.get(r.call_id);
      rows.delete(r.call_id);
      const playing = row && row.querySelector("audio");
      if (row && !playing && row.dataset.shape !== r.status + "|" + r.in_progress) {
        row.remove();
        row = undefined;
      }
      if (!row) row = recordingRow(r);
      if (holder.children[i] !== row) holder.insertBefore(row, holder.children[i] || null);
    });
    // A row whose player was opened stays, even when it left the list: it may be playing.
    for (const stale of rows.values()) if (!stale.querySelector("audio")) stale.remove();
  }
  async function refreshRecordings() {
    const result = await request("GET", "/api/v1/recordings?limit=20");
    if (result.ok) recordings = result.data;
  }
  function render() {
    if (!board || !me) return;
    renderQueues();
    renderAdvisors();
    renderCalls();
    renderListenings();
    renderRecordings();
  }
  async function control(callId, path, body) {
    const result = await request("POST", "/api/v1/supervisor/calls/" + encodeURIComponent(callId) + path, body);
    say(result.ok ? W.phrases.done : result.data.error.message, !result.ok);
    await refreshCalls();
    render();
  }
  async function listen(callId, mode) {
    const result = await request("POST", "/api/v1/supervisor/calls/" + encodeURIComponent(callId) + "/listen", {mode});
    say(result.ok ? W.phrases.done : result.data.error.message, !result.ok);
    await refreshListenings();
    render();
  }
  async function listeningAction(id, path, body) {
    const result = await request("POST", "/api/v1/supervisor/listenings/" + encodeURIComponent(id) + path, body || {});
    say(result.ok ? W.phrases.done : result.data.error.message, !result.ok);
    await refreshListenings();
    render();
  }
  async function refreshListenings() {
    const result = await request("GET", "/api/v1/supervisor/listenings");
    if (result.ok) listenings = result.data;
  }
  async function act(agentId, action, body) {
    const result = await request("POST",
      "/api/v1/supervisor/agents/" + encodeURIComponent(agentId) + "/" + action, body || {});
    say(result.ok ? W.phrases.done : result.data.error.message, !result.ok);
  }
  // PINs locked by wrong tries on the feature codes: read every 5 s (they are not in the stream).
  async function refreshPins() {
    const result = await request("GET", "/api/v1/supervisor/pins");
    lockedPins = new Set(result.ok ? result.data.map((p) => p.agent_id) : []);
  }
  async function unlockPin(agentId, name) {
    const result = await request("POST",
      "/api/v1/supervisor/agents/" + encodeURIComponent(agentId) + "/pin/unlock", {});
    say(result.ok ? fill(W.phrases.pin_unlocked, {name}) : result.data.error.message, !result.ok);
    await refreshPins();
    render();
  }
  // Outbound campaigns of the supervisor's queues: progress, abandon rate against its cap,
  // start/pause/stop (docs/campaigns.md). Read every 5 s: attempts are in the database.
  function campaignWord(name) {
    const found = $("campaign-words").content.querySelector('[data-word="' + name + '"]');
    return found ? found.textContent : name;
  }
  async function refreshCampaigns() {
    const result = await request("GET", "/api/v1/campaigns");
    const list = result.ok ? result.data.filter((c) => mine(c.queue)) : [];
    $("campaigns-block").hidden = !list.length;
    $("campaigns").tBodies[0].replaceChildren(...list.map((c) => {
      const tr = document.createElement("tr");
      const rates = [c.abandon_rate_15min, c.abandon_rate_24h, c.abandon_cap].map(A.pct).join(" / ");
      const over = c.abandon_rate_15min >= c.abandon_cap || c.abandon_rate_24h >= c.abandon_cap;
      tr.append(
        el("td", "", c.campaign + " (" + c.mode + ")"),
        el("td", "", campaignWord(c.state)),
        el("td", "", A.number.format(c.contacts_left)),
        el("td", "", A.number.format(c.attempted_contacts)),
        el("td", "", A.number.format(c.reached)),
        el("td", over ? "bad" : "", rates),
        el("td", "", c.today ? A.number.format(c.today.contacts_per_hour) : "–"),
        el("td", "", c.today && c.today.outbound_occupancy !== null ? A.pct(c.today.outbound_occupancy) : "–"),
      );
      const actions = el("td", "", "");
      for (const action of ["start", "pause", "stop"]) {
        const b = el("button", action === "start" ? "go" : action === "stop" ? "stop" : "", campaignWord(action));
        b.onclick = async () => {
          const done = await request("POST",
            "/api/v1/campaigns/" + encodeURIComponent(c.campaign) + "/" + action, {});
          say(done.ok ? W.phrases.done : done.data.error.message, !done.ok);
          refreshCampaigns();
        };
        actions.append(b);
      }
      tr.append(actions);
      return tr;
    }));
  }
  async function refreshCalls() {
    const result = await request("GET", "/api/v1/calls");
    if (result.ok) calls = result.data;
  }

  const token = A.token(key);
  async function start() {
    const who = await request("GET", "/api/v1/me").catch(() => null);
    if (!who) return setTimeout(start, 2000);  // acd is restarting
    if (who.status === 401) return;
    if (!who.ok || !["supervisor", "admin"].includes(who.data.role)) return A.signin(key, "forbidden");
    me = who.data;
    A.accepted(key);
    // The supervisor's own language, unless the page was switched or asked in a language.
    if (me.language && me.language !== A.page.language && !A.page.language_chosen) {
      location.replace("?lang=" + me.language);
      return;
    }
    $("who").textContent = me.name + " · " + (me.queues === null ? W.phrases.all_queues : me.queues.join(", "));
    $("page").hidden = false;
    const source = new EventSource("/api/v1/stream");
    source.addEventListener("snapshot", async (message) => {
      board = JSON.parse(message.data);
      A.synced(board.at);
      A.status("live");
      await refreshCalls();
      await refreshListenings();
      render();
    });
    // Recordings change when calls end: read them every 10 s, not on every snapshot.
    const recordingsEvery = async () => { await refreshRecordings(); render(); };
    recordingsEvery();
    setInterval(recordingsEvery, 10000);
    refreshCampaigns();
    setInterval(refreshCampaigns, 5000);
    const pinsEvery = async () => { await refreshPins(); render(); };
    pinsEvery();
    setInterval(pinsEvery, 5000);
    source.onerror = () => A.status("reconnecting");
    setInterval(render, 1000);
  }
  if (!token) A.signin(key, "missing"); else start();
})();
