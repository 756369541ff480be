"""Supervisors' live control in the engine: move a waiting caller to another queue, set their
priority, end a stuck call; each refused outside the states it makes sense in, each recorded."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.errors import IllegalTransitionError, UnknownQueueError
from acd.core.states import CallState, Outcome
from tests.core.helpers import (
    NO_WORKLOAD,
    Harness,
    agent,
    call_kinds,
    config,
    of_type,
    queue,
    rings,
)


def harness() -> Harness:
    cfg = config(
        [queue("sales", announce_interval_s=None), queue("support", announce_interval_s=None)],
        [agent("a1", queues=("sales",)), agent("s1", queues=("support",))],
        workload=NO_WORKLOAD,
    )
    return Harness.of(cfg)


def test_a_moved_caller_is_rung_in_the_other_queue_and_the_move_recorded() -> None:
    """Nobody free in sales; moved to support, the caller rings support's free advisor at once;
    the record names the supervisor."""
    h = harness()
    h.at(1).login("s1")
    h.at(2).arrive("c1", "sales")
    out = h.at(3).send(ev.CallMoved, call_id="c1", queue="support", actor="supervisor:nadia")
    assert rings(out) == [("c1", "s1")]
    moved = [c for c in of_type(out, cmd.RecordCallEvent) if c.kind == "moved"]
    assert moved[0].data["actor"] == "supervisor:nadia"
    assert h.engine.call_view("c1").queue == "support"


def test_a_raised_priority_goes_before_earlier_callers() -> None:
    """Two callers wait; the later one raised to priority 9 is served first."""
    h = harness()
    h.at(1).arrive("c1", "sales")
    h.at(2).arrive("c2", "sales")
    out = h.at(3).send(ev.CallPrioritySet, call_id="c2", priority=9, actor="supervisor:nadia")
    assert "reprioritised" in call_kinds(out, "c2")
    assert rings(h.at(4).login("a1")) == [("c2", "a1")]


def test_ending_a_waiting_caller_sends_goodbye_and_closes_the_call() -> None:
    """A ghost caller still in line: ended with EndCall, outcome timed out, reason said."""
    h = harness()
    h.at(1).arrive("c1", "sales")
    out = h.at(2).send(ev.CallEndRequested, call_id="c1", actor="supervisor:nadia")
    assert [e.call_id for e in of_type(out, cmd.EndCall)] == ["c1"]
    [done] = of_type(out, cmd.CallCompleted)
    assert (done.outcome, done.reason) == (Outcome.TIMED_OUT, "ended_by_supervisor")
    assert h.engine.queue_view("sales").waiting == ()


def test_ending_a_stuck_conversation_frees_the_advisor() -> None:
    """A conversation the phones no longer hold: ended, the advisor goes to wrap-up."""
    h = harness()
    h.at(1).login("a1")
    h.at(2).arrive("c1", "sales")
    h.at(3).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    out = h.at(4).send(ev.CallEndRequested, call_id="c1", actor="admin")
    assert "end_requested" in call_kinds(out, "c1")
    assert h.engine.agent_view("a1").call_id in (None, "c1")
    assert h.engine.agent_view("a1").activity.value != "on_call"


def test_live_control_refuses_what_makes_no_sense() -> None:
    """Moving a ringing call, to an unknown queue, or ending a ringing call is refused and
    changes nothing."""
    h = harness()
    h.at(1).login("a1")
    h.at(2).arrive("c1", "sales")
    assert h.engine.call_view("c1").state is CallState.PRESENTED
    with pytest.raises(IllegalTransitionError):
        h.at(3).send(ev.CallMoved, call_id="c1", queue="support")
    with pytest.raises(IllegalTransitionError):
        h.at(3).send(ev.CallEndRequested, call_id="c1")
    h.at(4).arrive("c2", "sales")
    with pytest.raises(UnknownQueueError):
        h.at(5).send(ev.CallMoved, call_id="c2", queue="nowhere")
    assert h.engine.call_view("c2").queue == "sales"
