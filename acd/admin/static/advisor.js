// The advisor's own page: state, caller (with the queue they came from), actions, the day.
"use strict";
(() => {
  const A = window.acd;
  const {$, el, words: W, clock, pct, label, fill} = A;
  const agentId = A.page.agent_id;
  const base = "/api/v1/agents/" + encodeURIComponent(agentId);
  const key = "acd-token-" + agentId;
  let session = null;
  let offerFor = null;
  let offerRevision = 0;
  let lastListenedKey = null;

  // The screen pop: who is calling and their last calls, fetched when the call comes and again
  // when its profile changes (a CRM that answered after the phone rang). A failed fetch (acd
  // restarting, overloaded) is tried again while the call is on the page: else the advisor
  // would talk to the whole call without seeing who it is.
  async function loadOffer(callId, tries = 0) {
    const result = await A.call("GET", base + "/offer", token).catch(() => ({ok: false, status: 0}));
    if (offerFor !== callId) return;
    if (!result.ok && (result.status === 0 || result.status >= 500) && tries < 10) {
      setTimeout(() => { if (offerFor === callId) loadOffer(callId, tries + 1); }, 1000);
      return;
    }
    const offer = result.ok ? result.data.offer : null;
    const customer = offer && offer.customer;
    $("customer").hidden = !offer || (!customer && !offer.recent_calls.length && !offer.reason);
    if (!offer) return;
    $("cu-name").textContent = customer ? customer.name : "";
    $("cu-segment").textContent = customer && customer.segment ? customer.segment : "";
    $("cu-vip").hidden = !(customer && customer.vip);
    $("cu-vip").textContent = customer && customer.vip ? "VIP " + customer.vip : "";
    $("cu-reason-line").hidden = !offer.reason;
    $("cu-reason").textContent = offer.reason || "";
    const crm = customer && customer.crm_url;
    $("cu-crm").hidden = !crm;
    if (crm) $("cu-crm").href = crm;
    $("note").maxLength = offer.notes.max_chars;
    $("cu-calls").replaceChildren(...offer.recent_calls.map((past) => {
      const li = document.createElement("li");
      const when = new Date(past.offered_at * 1000).toLocaleString(document.documentElement.lang);
      const parts = [when, label(W.outcomes, past.outcome)];
      if (past.disposition) parts.push(label(W.dispositions, past.disposition));
      li.textContent = parts.join(" · ") + (past.note ? " — " + past.note : "");
      return li;
    }));
  }

  // An outbound campaign's call: whom the advisor calls, the script the law requires at the
  // start of the call (company, purpose: L. 221-16), and the one-click outcomes.
  let campaignKey = null;
  function campaignWord(name) {
    return $("campaign-words").content.querySelector('[data-word="' + name + '"]').textContent;
  }
  async function loadCampaign() {
    const result = await A.call("GET", base + "/campaign-call", token);
    const call = result.ok ? result.data : null;
    const unreached = ["not_reached", "busy", "no_answer", "failed", "outbound_abandoned"];
    $("campaign").hidden = !call || unreached.includes(call.state);
    if (!call) return;
    $("cp-campaign").textContent = call.campaign;
    $("cp-number").textContent = call.number;
    $("cp-name").textContent = call.name;
    $("cp-script").textContent = fill(campaignWord("script"), call.script);
    const qualified = !["dialing", "answered"].includes(call.state);
    for (const b of $("cp-outcomes").querySelectorAll("button")) b.disabled = call.state === "dialing";
    const outcome = qualified ? $("cp-outcomes").querySelector('[data-outcome="' + call.state + '"]') : null;
    $("cp-state").textContent = outcome
      ? fill(campaignWord("qualified"), {outcome: outcome.textContent})
      : campaignWord(call.state === "dialing" ? "dialing" : "answered");
  }
  // A preview campaign: the advisor asks for their next contact, reads it, then clicks to call
  // (the rules are asked again then) or skips it.
  async function loadPreview() {
    const result = await A.call("GET", base + "/campaign-preview", token);
    const state = result.ok ? result.data : null;
    $("preview").hidden = !state || !state.campaigns.length;
    if (!state) return;
    const held = state.contact;
    $("pv-campaign").textContent = held ? held.campaign : state.campaigns.join(", ");
    $("pv-contact").hidden = !held;
    $("b-pv-next").hidden = Boolean(held);
    $("b-pv-call").hidden = $("b-pv-skip").hidden = !held;
    if (!held) return;
    $("pv-number").textContent = held.number;
    $("pv-name").textContent = held.name;
    $("pv-script").textContent = fill(campaignWord("script"), held.script);
  }
  $("b-pv-next").onclick = async () => { await post("/campaign-preview"); loadPreview(); };
  $("b-pv-call").onclick = async () => {
    await post("/campaign-preview/call");
    loadPreview();
    loadCampaign();
  };
  $("b-pv-skip").onclick = async () => { await post("/campaign-preview/skip"); loadPreview(); };
  for (const b of $("cp-outcomes").querySelectorAll("button")) {
    b.onclick = async () => {
      await post("/campaign-outcome", {outcome: b.dataset.outcome});
      loadCampaign();
    };
  }

  function options(select, codes, words) {
    if (select.dataset.filled === codes.join("|")) return;
    select.replaceChildren(...codes.map((code) => {
      const o = document.createElement("option");
      o.value = code;
      o.textContent = label(words, code);
      return o;
    }));
    select.dataset.filled = codes.join("|");
  }
  function render() {
    if (!session) return;
    const a = session.agent, now = A.serverNow();
    $("state").className = "state a-" + a.activity + (a.phone === "unreachable" ? " trouble" : "");
    $("activity").textContent = A.activity(a);
    $("since").textContent = clock(now - a.since);
    const parts = [];
    if (a.pending_pause) parts.push(fill(W.phrases.pause_after_call, {reason: A.reason(a.pending_pause)}));
    parts.push(label(W.phones, a.phone));
    $("detail").textContent = parts.join(" · ");
    const act = a.activity, inside = a.presence === "logged_in";
    const busy = act === "reserved" || act === "on_call";
    // During a call, "ready" only cancels a pause asked for after it; recovery comes after.
    $("b-ready").disabled = !inside || act === "available" || (busy && !a.pending_pause);
    $("b-pause").disabled = !inside;
    $("b-recovery").disabled = !inside || busy || act === "recovery";
    $("b-wrap").disabled = act !== "wrap_up";
    $("b-login").disabled = inside;
    $("b-logout").disabled = !inside || busy;
    options($("reason"), session.pause_reasons, W.pause_reasons);
    options($("disposition"), session.dispositions, W.dispositions);
    const c = session.call;
    $("c-number").textContent = c ? (c.caller_number || W.phrases.unknown_number) : W.phrases.no_call;
    $("c-number").classList.toggle("dim", !c);
    $("c-name").textContent = c ? c.caller_name : "";
    $("c-queue-line").hidden = !c;
    if (c) {
      $("c-queue").textContent = c.queue || "–";
      $("c-state").textContent = label(W.call_states, c.state);
    }
    $("disposition-row").hidden = !(c && c.answered);
    // The recording of this call: shown only when its queue records (docs/supervision.md).
    const rec = c ? session.recording : null;
    $("recording-row").hidden = !rec;
    if (rec) {
      const state = rec === "recorded" && session.recording_muted ? "muted" : rec;
      const words = $("recording-words").content;
      $("rec-state").textContent = words.querySelector('[data-state="' + state + '"]').textContent;
      $("b-rec-start").hidden = rec !== "allowed";
      $("b-rec-mute").hidden = rec !== "recorded" || session.recording_muted;
      $("b-rec-unmute").hidden = rec !== "recorded" || !session.recording_muted;
    }
    $("note-row").hidden = !c;
    const callId = c ? c.call_id : null;
    const revision = c ? c.profile_revision : 0;
    if (callId !== offerFor) {
      offerFor = callId;
      offerRevision = revision;
      $("note").value = "";
      $("customer").hidden = true;
      if (callId) loadOffer(callId);
    } else if (callId && revision !== offerRevision) {
      offerRevision = revision;
      loadOffer(callId);
    }
    const campaignNow = (callId || "") + "|" + session.agent.activity;
    if (campaignNow !== campaignKey) {
      campaignKey = campaignNow;
      loadCampaign();
      loadPreview();
    }
    // What a supervisor last did to this advisor, and why (docs/supervision.md).
    const notice = session.supervisor_notice;
    $("notice").hidden = !notice;
    if (notice) {
      $("notice").textContent = fill(W.phrases["notice_" + notice.action] || "{by}: {reason}", {
        by: notice.by, reason: notice.reason || "–",
      });
    }
    const listened = $("listened-now");
    listened.hidden = !session.listened_now;
    listened.textContent = W.phrases.being_listened;
    const t = session.today;
    $("t-calls").textContent = A.number.format(t.calls);
    $("t-talk").textContent = clock(t.talk_s);
    $("t-occ").textContent = pct(t.occupancy);
    $("t-breathers").textContent = t.breathers + " / " + t.recoveries;
  }
  // Who listened to this advisor's calls: the transparency owed to them (docs/supervision.md).
  async function loadListened() {
    const result = await A.call("GET", base + "/listenings", token);
    if (!result.ok) return;
    const items = result.data.listenings.filter((x) => x.state === "ended");
    if (!items.length) return $("listened").replaceChildren(el("li", "dim", W.phrases.never_listened));
    $("listened").replaceChildren(...items.map((x) => el("li", "", fill(W.phrases.listened_by, {
      when: new Date(x.requested_at * 1000).toLocaleString(document.documentElement.lang),
      name: x.supervisor,
      modes: x.modes.map((m) => label(W.listening, m)).join(", "),
      duration: clock(x.listened_s),
    }))));
  }
  async function post(path, body) {
    const message = $("message");
    message.textContent = "";
    const result = await A.call("POST", base + path, token, body || {});
    if (result.status === 401 || result.status === 403) {
      A.signin(key, result.status === 403 ? "forbidden" : "invalid");
      return;
    }
    message.className = result.ok ? "dim" : "bad";
    message.textContent = result.ok ? W.phrases.done : result.data.error.message;
  }
  $("b-ready").onclick = () => post("/ready");
  $("b-pause").onclick = () => post("/pause", {reason: $("reason").value});
  $("b-recovery").onclick = () => post("/recovery");
  $("b-wrap").onclick = () => post("/wrap-up/end");
  $("b-login").onclick = () => post("/login");
  $("b-logout").onclick = () => post("/logout");
  $("b-rec-start").onclick = () => post("/recording/start");
  $("b-rec-mute").onclick = () => post("/recording/mute");
  $("b-rec-unmute").onclick = () => post("/recording/unmute");
  $("b-disposition").onclick = () => post("/disposition", {disposition: $("disposition").value});
  $("b-note").onclick = () => post("/note", {text: $("note").value, call_id: offerFor});

  const token = A.token(key);
  if (!token) {
    A.signin(key, "missing");
  } else {
    A.stream(base + "/session/stream", token, (name, data) => {
      if (name !== "session") return;
      session = data;
      A.accepted(key);
      $("page").hidden = false;
      A.synced(data.at);
      render();
      // A listening ends with the call, or shows live: reload the list when either changes.
      const listenedKey = (data.call ? data.call.call_id : "") + "|" + data.listened_now + "|" + data.agent.activity;
      if (listenedKey !== lastListenedKey) {
        lastListenedKey = listenedKey;
        loadListened();
      }
    }).then((refused) => A.signin(key, refused === 403 ? "forbidden" : "invalid"));
    setInterval(render, 1000);
  }
})();
