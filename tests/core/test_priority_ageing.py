"""Priority ageing: a waiting caller's effective priority rises one level per `priority_ageing_s`
since first arrival, so strict priority never starves a queue while its advisors keep working."""

from __future__ import annotations

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import PRIORITY_MAX
from acd.core.customers import CustomerRouting

from .helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue, rings

TALK_S = 20.0


def _shared_advisor(ageing_s: float) -> Harness:
    """One advisor serving a priority-5 queue and a priority-0 queue (the review's scenario)."""
    hi = queue("hi", priority=5, wrap_up_s=5, announce_interval_s=None, priority_ageing_s=ageing_s)
    lo = queue("lo", priority=0, wrap_up_s=5, announce_interval_s=None, priority_ageing_s=ageing_s)
    h = Harness.of(config([hi, lo], [agent("a1", ("hi", "lo"))], workload=NO_WORKLOAD))
    h.login("a1")
    return h


def _play(h: Harness, arrivals: list[tuple[float, str, str]], until: float) -> list[str]:
    """Advisors answer every ring at once and talk TALK_S; timers fire when due. Returns the
    calls in the order they were rung."""
    rung: list[str] = []
    pending = sorted(arrivals)
    ends: dict[str, float] = {}
    while True:
        timers = [(h.due(t), t) for t in h.engine.pending_timers()]
        options: list[tuple[float, int, str]] = []
        if pending:
            options.append((pending[0][0], 0, "arrive"))
        if ends:
            options.append((min(ends.values()), 1, "end"))
        if timers:
            options.append((min(timers)[0], 2, "timer"))
        if not options:
            break
        at, _, what = min(options)
        if at > until:
            break
        h.at(at)
        if what == "arrive":
            _, call_id, queue_name = pending.pop(0)
            out = h.arrive(call_id, queue_name)
        elif what == "end":
            call_id = min(ends, key=lambda c: ends[c])
            del ends[call_id]
            out = h.send(ev.CallEnded, call_id=call_id)
        else:
            out = h.send(ev.TimerFired, timer_id=min(timers)[1])
        for call_id, agent_id in rings(out):
            rung.append(call_id)
            h.send(ev.AgentAnswered, call_id=call_id, agent_id=agent_id)
            ends[call_id] = h.t + TALK_S
    return rung


def _steady_high_priority_traffic() -> list[tuple[float, str, str]]:
    # A priority-5 caller every 24 s for an hour keeps the advisor busy (20 s talk + 5 s wrap-up),
    # so a priority-5 caller is always waiting when the advisor frees up (never for a minute in
    # the first ten: the priority-5 callers age too); one priority-0 caller arrives at 1 s.
    return [(24.0 * k, f"hi{k}", "hi") for k in range(150)] + [(1.0, "lo", "lo")]


def test_a_starved_low_priority_caller_is_served_once_aged_past_the_gap() -> None:
    """With 60 s ageing the priority-0 caller, 5 levels behind, is served after ~5 minutes."""
    h = _shared_advisor(60.0)
    rung = _play(h, _steady_high_priority_traffic(), until=3600.0)
    assert "lo" in rung
    answered_at = next(
        c.at
        for c in of_type(h.log, cmd.RecordCallEvent)
        if c.call_id == "lo" and c.kind == "answered"
    )
    # Level 5 at 301 s; then it is the longest waiting caller of priority 5 and next served.
    assert 301.0 <= answered_at <= 301.0 + TALK_S + 5.0


def test_ageing_off_keeps_strict_priority() -> None:
    """`priority_ageing_s = 0`: the priority-0 caller is never served while priority 5 waits."""
    h = _shared_advisor(0.0)
    rung = _play(h, _steady_high_priority_traffic(), until=3600.0)
    assert "lo" not in rung
    assert h.engine.call_view("lo").priority == 0


def test_effective_priority_is_base_plus_vip_plus_levels_waited() -> None:
    """Effective = own (call's, else queue's) + VIP bonus + one level per 60 s since arrival."""
    sales = queue("sales", priority=2, announce_interval_s=None, priority_ageing_s=60.0)
    h = Harness.of(
        config(
            [sales],
            [agent("a1")],
            workload=NO_WORKLOAD,
            customers=CustomerRouting(vip_priority={1: 10}),
        )
    )
    h.at(0).arrive("plain")
    h.at(0).arrive("own", priority=7)
    h.at(0).arrive("vip", data={"vip": "1"})
    assert [h.engine.call_view(c).priority for c in ("plain", "own", "vip")] == [2, 7, 12]
    h.fire("age:plain:")
    h.fire("age:plain:")  # every caller's second level falls due in the same drain
    assert h.t == 120.0
    assert [h.engine.call_view(c).priority for c in ("plain", "own", "vip")] == [4, 9, 14]


def test_ageing_stops_at_the_priority_bound() -> None:
    """A caller at PRIORITY_MAX never ages further and asks for no ageing timer."""
    h = Harness.of(
        config([queue("sales", announce_interval_s=None)], [agent("a1")], workload=NO_WORKLOAD)
    )
    out = h.at(0).arrive("top", priority=PRIORITY_MAX)
    assert not [t for t in of_type(out, cmd.StartTimer) if t.timer_id.startswith("age:")]
    assert h.engine.call_view("top").priority == PRIORITY_MAX


def test_the_summary_keeps_the_calls_own_priority() -> None:
    """The CallCompleted priority is the call's own (base + VIP), not what ageing made of it."""
    h = Harness.of(
        config([queue("sales", announce_interval_s=None)], [agent("a1")], workload=NO_WORKLOAD)
    )
    h.at(0).arrive("c1", priority=3)
    h.fire("age:c1:")
    h.fire("age:c1:")
    assert h.engine.call_view("c1").priority == 5
    h.at(130.0).send(ev.CallerHungUp, call_id="c1")
    (summary,) = of_type(h.log, cmd.CallCompleted)
    assert summary.priority == 3
