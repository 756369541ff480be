// The wallboard: public, live from /api/v1/stream (EventSource reconnects by itself, after a
// reload of the page or a restart of acd).
"use strict";
(() => {
  const {$, el, fill, clock, pct, words: W, synced, status, queueCard, agentTile} = window.acd;
  const template = $("queue-card");
  let board = null;

  function render() {
    if (!board) return;
    $("queues").replaceChildren(...board.queues.map((q) => queueCard(template, q, board.agents)));
    $("agents").replaceChildren(...board.agents.map(agentTile));
    const f = board.fairness, fair = $("fairness");
    fair.textContent = f.advisors ? fill(W.phrases.spread, {
      n: f.advisors,
      occupancy: pct(f.occupancy.minimum) + "–" + pct(f.occupancy.maximum),
      calls: f.calls.minimum + "–" + f.calls.maximum,
      talk: clock(f.talk_s.minimum) + "–" + clock(f.talk_s.maximum),
    }) : "";
    $("empty").textContent = board.queues.length || board.agents.length ? "" : W.phrases.no_queue;
  }
  const source = new EventSource("/api/v1/stream");
  source.addEventListener("snapshot", (message) => {
    board = JSON.parse(message.data);
    synced(board.at);
    status("live");
    render();
  });
  source.onerror = () => status("reconnecting");
  setInterval(render, 1000);
  // Outbound campaigns: the live abandon rate against its cap (docs/campaigns.md).
  async function campaigns() {
    const response = await fetch("/api/v1/campaigns").catch(() => null);
    const list = response && response.ok ? await response.json() : [];
    const running = list.filter((c) => c.state === "running" || c.state === "paused");
    $("campaigns").hidden = !running.length;
    const words = $("campaign-line").content.textContent.trim();
    $("campaign-lines").replaceChildren(...running.map((c) => {
      const over = c.abandon_rate_15min >= c.abandon_cap || c.abandon_rate_24h >= c.abandon_cap;
      return el("li", over ? "bad" : "", fill(words, {
        campaign: c.campaign, window: pct(c.abandon_rate_15min), day: pct(c.abandon_rate_24h),
        cap: pct(c.abandon_cap), reached: c.reached, left: c.contacts_left,
      }));
    }));
  }
  campaigns();
  setInterval(campaigns, 5000);
})();
