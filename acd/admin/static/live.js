// Shared by every page: the page's data and translated words, formatting in the reader's
// locale and the centre's time zone, the live status, token sign-in, an SSE reader over fetch,
// and the queue figures the wallboard and the supervisor page both show. Later features use
// these through window.acd.
"use strict";
(() => {
  const page = JSON.parse(document.getElementById("acd-page").textContent);
  const W = page.words;
  const $ = (id) => document.getElementById(id);
  const percent = new Intl.NumberFormat(page.locale, {style: "percent", maximumFractionDigits: 0});
  const number = new Intl.NumberFormat(page.locale);
  const timeOfDay = new Intl.DateTimeFormat(page.locale, {
    timeZone: page.zone, hour: "2-digit", minute: "2-digit", second: "2-digit"});
  const dayAndTime = new Intl.DateTimeFormat(page.locale, {
    timeZone: page.zone, weekday: "short", day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit"});
  let offsetMs = 0;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? values[key] : whole));
  }
  function clock(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
    const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
    return h ? h + ":" + mm + ":" + ss : m + ":" + ss;
  }
  function pct(x) { return x === null || x === undefined ? "–" : percent.format(x); }
  function label(words, code) { return code ? (words[code] || code.replace(/_/g, " ")) : ""; }
  function reason(code) {
    const cap = /^occupancy (\d+)%$/.exec(code || "");
    if (cap) return fill(W.phrases.occupancy_reason, {n: pct(Number(cap[1]) / 100)});
    return label(W.pause_reasons, code);
  }
  function activity(agent) {
    const what = label(W.activities, agent.activity);
    return agent.reason ? what + " · " + reason(agent.reason) : what;
  }
  function serverNow() { return (Date.now() + offsetMs) / 1000; }
  function synced(at) { offsetMs = at * 1000 - Date.now(); window.acdLastUpdate = Date.now(); }
  function status(kind) {
    const s = $("status");
    if (!s) return;
    s.textContent = W.phrases[kind];
    s.className = "status " + (kind === "live" ? "live" : "down");
    s.dataset.state = kind;
  }
  function tick() {
    const c = $("clock");
    if (c) c.textContent = timeOfDay.format(new Date(Date.now() + offsetMs));
  }
  setInterval(tick, 1000);

  // The token comes in the link's fragment once, then lives in sessionStorage (a reload keeps
  // it, closing the tab forgets it); the fragment leaves the address bar at once.
  function token(key) {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("token")) {
      sessionStorage.setItem(key, fragment.get("token"));
      sessionStorage.setItem(key + "-fresh", "1");
      history.replaceState(null, "", location.pathname + location.search);
    }
    const save = $("token-save");
    if (save) {
      save.onclick = () => {
        sessionStorage.setItem(key, $("token-input").value.trim());
        sessionStorage.setItem(key + "-fresh", "1");
        location.reload();
      };
    }
    return sessionStorage.getItem(key);
  }
  // Why the page cannot open: missing, invalid (a new token refused), expired (a token that
  // worked before is refused now) or forbidden (someone else's token).
  function signin(key, why) {
    if (why !== "missing" && why !== "forbidden") {
      why = sessionStorage.getItem(key + "-fresh") ? "invalid" : "expired";
    }
    sessionStorage.removeItem(key);
    sessionStorage.removeItem(key + "-fresh");
    for (const p of document.querySelectorAll("#signin .reason")) p.hidden = p.dataset.reason !== why;
    $("signin").hidden = false;
    $("signin").dataset.reason = why;
    $("page").hidden = true;
    status("signed_out");
  }
  function accepted(key) { sessionStorage.removeItem(key + "-fresh"); }

  // Reads a text/event-stream with fetch (EventSource cannot send a token); reconnects after
  // an error or a restart of acd. Returns only when the token is refused: 401 or 403.
  async function stream(url, bearer, onEvent) {
    for (;;) {
      try {
        const response = await fetch(url, {headers: {
          authorization: "Bearer " + bearer, accept: "text/event-stream"}});
        if (response.status === 401 || response.status === 403) return response.status;
        if (!response.ok) throw new Error(response.statusText);
        status("live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trimStart();
            }
            if (data) onEvent(name, JSON.parse(data));
          }
        }
      } catch (problem) { /* acd went away or restarts: try again below */ }
      status("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  async function call(method, url, bearer, body) {
    const response = await fetch(url, {method, headers: {
      authorization: "Bearer " + bearer, "content-type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)});
    const data = await response.json().catch(() => ({error: {message: response.statusText}}));
    return {ok: response.ok, status: response.status, data};
  }

  // A queue's trouble, from the snapshot: red when callers wait with nobody to take them only
  // because of breathers or absence, amber when they wait for a skill no free advisor has.
  function queueState(q, agents) {
    const serving = agents.filter((a) => a.queues.includes(q.name));
    const inside = serving.filter((a) => a.presence === "logged_in");
    const longest = q.oldest_offered_at === null ? 0 : serverNow() - q.oldest_offered_at;
    let level = q.waiting === 0 ? "ok" : "warn", hint = "";
    if (q.waiting > 0) {
      const notBusy = inside.filter((a) => !["reserved", "on_call", "wrap_up"].includes(a.activity));
      const free = inside.filter((a) => a.activity === "available" && a.routable);
      if (inside.length === 0) {
        level = "bad"; hint = W.phrases.hint_nobody;
      } else if (q.breather_hold > 0 || (q.routable_agents === 0 && notBusy.length > 0
                 && notBusy.every((a) => a.activity === "breather"))) {
        // breather_hold: the engine's count of callers held only by breathers (skills counted).
        level = "bad"; hint = W.phrases.hint_breather;
      } else if (free.length > 0 && longest >= 5) {
        hint = W.phrases.hint_skill;
      }
      if (longest >= 60) level = "bad";
    }
    return {level, hint, longest, hintLevel: level === "bad" ? "bad" : "warn"};
  }
  function queueCard(template, q, agents) {
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.queue = q.name;
    card.querySelector(".q-name").textContent = q.name;
    updateQueueCard(card, q, agents);
    return card;
  }
  function updateQueueCard(card, q, agents) {
    const state = queueState(q, agents);
    const set = (name, text, cls) => {
      const n = card.querySelector('[data-fig="' + name + '"]');
      if (!n) return;
      n.textContent = text;
      n.className = "n " + (cls || "");
    };
    const sl = q.service_level;
    set("waiting", number.format(q.waiting), state.level);
    set("longest", clock(state.longest),
        state.longest >= 60 ? "bad" : state.longest >= 20 ? "warn" : "ok");
    set("sl", pct(sl), sl === null ? "" : sl >= 0.8 ? "ok" : sl >= 0.6 ? "warn" : "bad");
    set("answered", number.format(q.answered));
    set("abandoned", number.format(q.abandoned), q.abandoned ? "warn" : "");
    set("ready", number.format(q.routable_agents) + " / " + number.format(q.logged_in_agents));
    card.classList.toggle("trouble", state.level === "bad");
    // Opening hours: closed (why, until when), or open until the next closing.
    const hours = q.hours, line = card.querySelector(".q-hours");
    if (line && hours) {
      const when = hours.next_change === null ? "" : dayAndTime.format(new Date(hours.next_change * 1000));
      const why = label(W.hours_reasons, hours.reason) + (hours.detail ? ", " + hours.detail : "");
      line.textContent = hours.open
        ? (when ? fill(W.phrases.hours_closing, {when}) : "")
        : fill(hours.next_change === null ? W.phrases.hours_closed_open_end : W.phrases.hours_closed,
               {reason: why, when});
      line.hidden = !line.textContent;
      card.classList.toggle("closed", !hours.open);
    }
    // The callback book: how many wait to be called back, and when the next scheduled one is due.
    const book = card.querySelector(".q-callbacks");
    if (book) {
      const count = number.format(q.callbacks_pending || 0);
      book.textContent = !q.callbacks_pending ? ""
        : q.callbacks_next_due_at === null || q.callbacks_next_due_at === undefined
          ? fill(W.phrases.callbacks_pending, {count})
          : fill(W.phrases.callbacks_next,
                 {count, when: dayAndTime.format(new Date(q.callbacks_next_due_at * 1000))});
      book.hidden = !book.textContent;
    }
    // Callers refused at join (join_when_empty): out of the service level, so shown here.
    const rejected = card.querySelector(".q-rejected");
    if (rejected) {
      rejected.textContent = !q.rejected ? ""
        : fill(W.phrases.rejected_today, {count: number.format(q.rejected)});
      rejected.hidden = !rejected.textContent;
    }
    const hint = card.querySelector(".hint");
    hint.textContent = state.hint;
    hint.hidden = !state.hint;
    hint.className = "hint " + state.hintLevel;
  }
  function agentTile(a) {
    const unreachable = a.phone === "unreachable";
    const tile = el("div", "agent a-" + a.activity + (unreachable ? " trouble" : ""));
    tile.dataset.agent = a.agent_id;
    tile.append(el("div", "name", a.name), el("div", "act", activity(a)));
    if (unreachable) tile.append(el("div", "phone", W.phones.unreachable));
    const row = el("div", "row");
    row.append(el("span", "", clock(serverNow() - a.since)), el("span", "", pct(a.occupancy)));
    tile.append(row);
    return tile;
  }

  window.acd = {page, words: W, $, el, fill, clock, pct, number, label, reason, activity,
    serverNow, synced, status, token, signin, accepted, stream, call, queueState, queueCard,
    updateQueueCard, agentTile};
})();
