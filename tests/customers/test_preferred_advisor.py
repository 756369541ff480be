"""Preferred-advisor routing in the engine: offered first, held at most S seconds, then anyone."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from acd.core import events as ev
from acd.core.customers import CustomerRouting
from tests.core.helpers import NO_WORKLOAD, Harness, agent, config, queue, rings

HOLD_S = 20.0


def centre(hold: dict[str, float] | None = None) -> Harness:
    routing = CustomerRouting(preferred_hold_s={"sales": HOLD_S} if hold is None else hold)
    h = Harness.of(
        config(
            [queue("sales", announce_interval_s=None, wrap_up_s=0)],
            [agent("a1"), agent("a2"), agent("a3")],
            workload=NO_WORKLOAD,
            customers=routing,
        )
    )
    h.login("a1", "a2", "a3")
    return h


def busy(h: Harness, agent_id: str, call_id: str) -> None:
    """Give ``agent_id`` a call of their own (the longest idle goes first: login order)."""
    h.arrive(call_id)
    h.send(ev.AgentAnswered, call_id=call_id, agent_id=agent_id)


def test_a_free_preferred_advisor_gets_the_call_even_if_another_waited_longer() -> None:
    """a3 is preferred: the call rings a3, not a1 whom longest-idle would pick."""
    h = centre()
    h.t = 5
    out = h.arrive("k", data={"preferred_agent": "a3"})
    assert rings(out) == [("k", "a3")]


def test_a_busy_preferred_advisor_is_waited_for_then_takes_the_call() -> None:
    """a1 busy: the call waits for a1 although a2 is free, and rings a1 when a1 is free."""
    h = centre()
    busy(h, "a1", "first")
    h.t = 1
    assert rings(h.arrive("k", data={"preferred_agent": "a1"})) == []
    h.t = 10
    assert rings(h.send(ev.CallEnded, call_id="first")) == [("k", "a1")]
    h.engine.check_indexes()


def test_after_the_hold_the_normal_steps_apply() -> None:
    """a1 still busy S seconds later: the call goes to a free advisor at once."""
    h = centre()
    busy(h, "a1", "first")
    h.t = 1
    h.arrive("k", data={"last_agent": "a1"})
    assert rings(h.fire("hold:k:")) in ([("k", "a2")], [("k", "a3")])
    assert h.t == 1 + HOLD_S
    h.engine.check_indexes()


def test_nobody_is_held_for_without_the_setting_or_for_an_absent_advisor() -> None:
    """Off for the queue, or a preferred advisor logged out or unknown: routed at once."""
    h = centre(hold={})
    busy(h, "a1", "first")
    assert rings(h.arrive("k", data={"preferred_agent": "a1"})) != []
    h = centre()
    h.send(ev.AgentLoggedOut, agent_id="a1")
    assert rings(h.arrive("k", data={"preferred_agent": "a1"})) != []
    assert rings(h.arrive("k2", data={"preferred_agent": "nobody"})) != []


def test_a_held_caller_who_hangs_up_leaves_no_trace() -> None:
    """Hang-up while held: the hold ends, the advisor freed later gets nothing stale."""
    h = centre()
    busy(h, "a1", "first")
    h.arrive("k", data={"preferred_agent": "a1"})
    h.send(ev.CallerHungUp, call_id="k")
    h.engine.check_indexes()
    assert rings(h.send(ev.CallEnded, call_id="first")) == []
    assert not [t for t in h.engine.pending_timers() if t.startswith("hold:")]


@settings(max_examples=80, deadline=None)
@given(
    busy_for=st.floats(min_value=0.5, max_value=60.0),
    hold_s=st.floats(min_value=1.0, max_value=40.0),
    arrive_at=st.floats(min_value=0.0, max_value=10.0),
)
def test_never_held_longer_than_s_while_another_eligible_advisor_is_free(
    busy_for: float, hold_s: float, arrive_at: float
) -> None:
    """With a2 free all along: the call rings a1 if a1 frees within S, else a2 at exactly S."""
    h = Harness.of(
        config(
            [queue("sales", announce_interval_s=None, wrap_up_s=0)],
            [agent("a1"), agent("a2")],
            workload=NO_WORKLOAD,
            customers=CustomerRouting(preferred_hold_s={"sales": hold_s}),
        )
    )
    h.login("a1", "a2")
    busy(h, "a1", "first")
    h.t = arrive_at
    first_rings = rings(h.arrive("k", data={"preferred_agent": "a1"}))
    assert first_rings == []
    freed_at = arrive_at + busy_for
    if busy_for < hold_s:
        h.t = freed_at
        assert rings(h.send(ev.CallEnded, call_id="first")) == [("k", "a1")]
    else:
        out = h.fire("hold:k:")
        assert h.t <= arrive_at + hold_s + 1e-9
        assert rings(out) == [("k", "a2")]
    h.engine.check_indexes()


def test_a_preferred_advisor_who_pauses_is_no_longer_waited_for() -> None:
    """a1 asks for a pause during their call: when it ends, the held call goes to a2 at once."""
    h = centre()
    busy(h, "a1", "first")
    h.send(ev.AgentLoggedOut, agent_id="a3")
    h.arrive("k", data={"preferred_agent": "a1"})
    h.send(ev.AgentPaused, agent_id="a1", reason="lunch")
    h.t = 5
    assert rings(h.send(ev.CallEnded, call_id="first")) == [("k", "a2")]
    assert not [t for t in h.engine.pending_timers() if t.startswith("hold:")]
    h.engine.check_indexes()


def everyone_busy() -> Harness:
    h = centre()
    for agent_id, call_id in (("a1", "first"), ("a2", "second"), ("a3", "third")):
        busy(h, agent_id, call_id)
    return h


def test_an_advisor_the_crm_names_after_arrival_is_waited_for_then_takes_the_call() -> None:
    """Everyone busy, the caller waits; the CRM's late answer names a1: a2 freed first does not
    take the call, a1 freed next does."""
    h = everyone_busy()
    h.t = 1
    assert rings(h.arrive("k")) == []
    h.t = 2
    assert rings(h.send(ev.CallerIdentified, call_id="k", data={"preferred_agent": "a1"})) == []
    h.t = 5
    assert rings(h.send(ev.CallEnded, call_id="second")) == []
    h.t = 8
    assert rings(h.send(ev.CallEnded, call_id="first")) == [("k", "a1")]
    h.engine.check_indexes()


def test_a_late_named_advisor_is_held_for_at_most_the_hold_from_the_answer() -> None:
    """The hold counts from the CRM's answer; then any free advisor takes the call."""
    h = everyone_busy()
    h.t = 1
    h.arrive("k")
    h.t = 3
    h.send(ev.CallerIdentified, call_id="k", data={"last_agent": "a1"})
    h.t = 4
    h.send(ev.CallEnded, call_id="second")
    assert rings(h.fire("hold:k:")) == [("k", "a2")]
    assert h.t == 3 + HOLD_S
    h.engine.check_indexes()


@given(
    a1_frees=st.floats(min_value=0.5, max_value=60.0),
    a2_frees=st.floats(min_value=0.5, max_value=60.0),
    hold_s=st.floats(min_value=1.0, max_value=40.0),
)
def test_a_late_named_advisor_is_never_waited_for_longer_than_s_while_another_is_free(
    a1_frees: float, a2_frees: float, hold_s: float
) -> None:
    """Both busy; the CRM names a1 one second after arrival. The call rings a1 if a1 frees
    within S of the answer; else whoever is free at S (a2 if already free), else the first freed:
    never held past S while a2 is free."""
    assume(len({a1_frees, a2_frees, hold_s}) == 3)
    h = Harness.of(
        config(
            [queue("sales", announce_interval_s=None, wrap_up_s=0)],
            [agent("a1"), agent("a2")],
            workload=NO_WORKLOAD,
            customers=CustomerRouting(preferred_hold_s={"sales": hold_s}),
        )
    )
    h.login("a1", "a2")
    busy(h, "a1", "first")
    busy(h, "a2", "second")
    assert rings(h.arrive("k")) == []
    h.t = 1.0
    assert rings(h.send(ev.CallerIdentified, call_id="k", data={"preferred_agent": "a1"})) == []
    got: list[tuple[str, str]] = []
    for offset, what in sorted([(a1_frees, "a1"), (a2_frees, "a2"), (hold_s, "hold")]):
        if what == "hold":
            if any(t.startswith("hold:k:") for t in h.engine.pending_timers()):
                got += rings(h.fire("hold:k:"))
                assert h.t == 1.0 + hold_s
            continue
        h.t = 1.0 + offset
        got += rings(h.send(ev.CallEnded, call_id="first" if what == "a1" else "second"))
        if got:
            break
    if a1_frees < hold_s:
        expected = "a1"
    elif a2_frees < hold_s:
        expected = "a2"  # free when the hold ends
    else:
        expected = "a1" if a1_frees < a2_frees else "a2"
    assert got[:1] == [("k", expected)]
    h.engine.check_indexes()
