"""Calls: offered, presented, answered or not, abandoned, completed, overflowed, prompted."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import EmptyPolicy, OverflowTarget
from acd.core.errors import (
    CoreError,
    EventOutOfOrderError,
    IllegalTransitionError,
    UnknownAgentError,
    UnknownCallError,
    UnknownQueueError,
)
from acd.core.states import Activity, CallState, Outcome

from .helpers import NO_WORKLOAD, Harness, agent, call_kinds, config, of_type, queue, rings


def _harness(*agent_ids: str, **queue_kw: object) -> Harness:
    cfg = config([queue("sales", **queue_kw)], [agent(a) for a in agent_ids], workload=NO_WORKLOAD)
    return Harness.of(cfg)


def test_call_is_presented_in_the_dispatch_that_offers_it() -> None:
    """An idle advisor is rung in the same handle call that admits the call."""
    h = _harness("a1")
    h.login("a1")
    out = h.at(1).arrive("c1", caller_number="+33612345678", caller_name="Ana")
    assert of_type(out, cmd.RingAgent) == [cmd.RingAgent("c1", "a1", "PJSIP/a1", 15.0)]
    assert call_kinds(out, "c1") == ["offered", "presented"]
    assert h.engine.call_view("c1").state is CallState.PRESENTED


def test_completed_call_summary_after_wrap_up() -> None:
    """The CallCompleted summary comes at the end of wrap-up, with wait/talk/wrap-up seconds."""
    h = _harness("a1", wrap_up_s=20)
    h.login("a1")
    h.at(10).arrive("c1", priority=3, caller_number="100")
    h.at(14).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    out = h.at(74).send(ev.CallEnded, call_id="c1")
    assert of_type(out, cmd.CallCompleted) == []
    out = h.fire("wrap_up:a1:")
    (summary,) = of_type(out, cmd.CallCompleted)
    assert summary.outcome is Outcome.ANSWERED
    assert (summary.offered_at, summary.presented_at, summary.answered_at, summary.ended_at) == (
        10,
        10,
        14,
        74,
    )
    assert (summary.wait_s, summary.talk_s, summary.wrap_up_s) == (4, 60, 20)
    assert (summary.agent_id, summary.agents_tried, summary.priority) == ("a1", ("a1",), 3)
    assert summary.answered_within_sl
    assert call_kinds(h.log, "c1") == ["offered", "presented", "answered", "completed"]
    seqs = [c.seq for c in of_type(h.log, cmd.RecordCallEvent) if c.call_id == "c1"]
    assert seqs == [1, 2, 3, 4]


def test_summaries_in_wrap_up_cut_the_wrap_up_and_change_nothing() -> None:
    """A stopping daemon gets each wrap-up call's summary up to now; the engine is untouched."""
    h = _harness("a1", "a2", wrap_up_s=20)
    h.login("a1")
    h.login("a2")
    h.at(10).arrive("c1", caller_number="100")
    h.at(11).arrive("c2", caller_number="200")
    h.at(14).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(15).send(ev.AgentAnswered, call_id="c2", agent_id="a2")
    h.at(74).send(ev.CallEnded, call_id="c1")
    before = h.engine.snapshot(80)
    (summary,) = h.engine.summaries_in_wrap_up(80)
    assert (summary.call_id, summary.agent_id, summary.outcome) == ("c1", "a1", Outcome.ANSWERED)
    assert (summary.reason, summary.talk_s, summary.wrap_up_s) == ("wrap_up_cut", 60, 6)
    assert h.engine.snapshot(80) == before
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP


def test_advisor_own_wrap_up_wins_over_queue() -> None:
    """The advisor's own wrap-up time is used instead of the queue's."""
    cfg = config([queue(wrap_up_s=30)], [agent("a1", wrap_up_s=7)], workload=NO_WORKLOAD)
    h = Harness.of(cfg)
    h.login("a1")
    h.arrive("c1")
    h.at(1).answer_and_end("c1", "a1")
    assert h.due(h.timer("wrap_up:a1:")) == 61 + 7


def test_not_answered_goes_to_next_advisor_at_once() -> None:
    """NOANSWER puts the call back at the head; with nobody else free it waits out the cooldown."""
    h = _harness("a1", "a2")
    h.login("a1", "a2")
    h.at(1).arrive("c1")
    h.at(2).arrive("c2")
    assert rings(h.log) == [("c1", "a1"), ("c2", "a2")]
    out = h.at(16).send(
        ev.AgentDidNotAnswer, call_id="c1", agent_id="a1", dial_status=ev.DialStatus.NOANSWER
    )
    # Nobody else is free: the advisor who missed is not rung again at once...
    assert rings(out) == []
    assert call_kinds(out, "c1") == ["not_answered", "requeued"]
    assert h.engine.is_routable("a1")
    # ...but once the 5 s no-answer cooldown is over.
    assert h.due(h.timer("retry:c1:a1:")) == 21
    assert rings(h.at(21).fire("retry:c1:a1:")) == [("c1", "a1")]


def test_no_answer_cooldown_offers_the_caller_to_anyone_else_first() -> None:
    """During an advisor's cooldown for a caller, another advisor freed takes that caller."""
    h = _harness("a1", "a2")
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(16).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert rings(h.at(18).login("a2")) == [("c1", "a2")]


def test_no_answer_cooldown_leaves_the_advisor_free_for_other_callers() -> None:
    """The advisor cooling for one caller still takes another caller at once."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(2).arrive("c2")
    out = h.at(16).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert rings(out) == [("c2", "a1")]


def test_no_answer_cooldown_zero_rings_the_same_advisor_again_at_once() -> None:
    """With retry_s = 0 the advisor who missed is rung again at once when nobody else is free."""
    h = Harness.of(config([queue(retry_s=0)], [agent("a1")], workload=NO_WORKLOAD))
    h.login("a1")
    h.at(1).arrive("c1")
    out = h.at(16).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert rings(out) == [("c1", "a1")]


def test_not_answered_prefers_another_advisor() -> None:
    """After a miss the call is presented to another idle advisor before the one who missed."""
    h = _harness("a1", "a2")
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(2).login("a2")
    out = h.at(16).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert rings(out) == [("c1", "a2")]
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    assert h.engine.call_view("c1").agent_id == "a2"


def test_consecutive_misses_pause_with_no_answer() -> None:
    """After max_missed consecutive misses the advisor is paused with reason no_answer."""
    cfg = config([queue()], [agent("a1", max_missed=2)], workload=NO_WORKLOAD)
    h = Harness.of(cfg)
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(16).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.missed_in_row) == (Activity.AVAILABLE, 1)
    h.at(21).fire("retry:c1:a1:")
    assert h.engine.agent_view("a1").activity is Activity.RESERVED
    h.at(36).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1", dial_status="BUSY")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason) == (Activity.PAUSED, "no_answer")
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_answer_resets_miss_counter() -> None:
    """Misses must be consecutive: an answered call resets the count."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(15).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert h.engine.agent_view("a1").missed_in_row == 1
    h.at(20).fire("retry:c1:a1:")
    h.at(21).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    assert h.engine.agent_view("a1").missed_in_row == 0


@pytest.mark.parametrize("stage", ["waiting", "presented"])
def test_caller_hang_up_before_answer_is_an_abandon(stage: str) -> None:
    """Hanging up while waiting or ringing abandons the call and frees the advisor."""
    h = _harness("a1")
    h.arrive("c1")
    if stage == "presented":
        h.login("a1")
    out = h.at(30).send(ev.CallerHungUp, call_id="c1")
    (summary,) = of_type(out, cmd.CallCompleted)
    assert summary.outcome is Outcome.ABANDONED
    assert summary.wait_s == 30
    assert "abandoned" in call_kinds(out, "c1")
    if stage == "presented":
        assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    assert h.engine.queue_view("sales").abandoned == 1
    with pytest.raises(UnknownCallError):
        h.engine.call_view("c1")


def test_abandoned_ring_frees_advisor_for_next_call() -> None:
    """When the caller hangs up while ringing, the advisor takes the next waiting call at once."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(1).arrive("c2")
    out = h.at(5).send(ev.CallerHungUp, call_id="c1")
    assert rings(out) == [("c2", "a1")]


def test_caller_hang_up_during_conversation_ends_it() -> None:
    """A caller hanging up after the answer completes the call (not an abandon)."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(2).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(50).send(ev.CallerHungUp, call_id="c1")
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP
    assert h.send(ev.CallEnded, call_id="c1") == []  # the Dial return that follows: no-op
    out = h.fire("wrap_up:a1:")
    (summary,) = of_type(out, cmd.CallCompleted)
    assert (summary.outcome, summary.talk_s) == (Outcome.ANSWERED, 48)


def test_transfer_ends_advisor_part() -> None:
    """A transfer from the advisor's phone ends their part; it is recorded on the summary."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(2).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(40).send(ev.CallTransferred, call_id="c1", agent_id="a1", target="2000")
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP
    (summary,) = of_type(h.fire("wrap_up:a1:"), cmd.CallCompleted)
    assert (summary.outcome, summary.transferred_to) == (Outcome.ANSWERED, "2000")
    assert "transferred" in call_kinds(h.log, "c1")


def test_disposition_during_wrap_up() -> None:
    """An advisor tags the call during wrap-up; the summary carries it."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(2).answer_and_end("c1", "a1")
    h.send(ev.DispositionSet, agent_id="a1", call_id="c1", disposition="sale")
    (summary,) = of_type(h.fire("wrap_up:a1:"), cmd.CallCompleted)
    assert summary.disposition == "sale"
    with pytest.raises(IllegalTransitionError):
        h.send(ev.DispositionSet, agent_id="a1", call_id="c1", disposition="late")


def test_max_wait_overflows_to_another_queue() -> None:
    """After max wait the call moves to the overflow queue, keeping its place by first arrival."""
    sales = queue(
        "sales",
        max_wait_s=60,
        overflow=OverflowTarget.parse("queue:backup"),
        announce_interval_s=None,
    )
    backup = queue("backup")
    cfg = config(
        [sales, backup], [agent("a1", ("sales",)), agent("b1", ("backup",))], workload=NO_WORKLOAD
    )
    h = Harness.of(cfg)
    h.at(0).arrive("old", "backup")
    h.at(10).arrive("c1")
    out = h.fire("max_wait:c1:")
    assert call_kinds(out, "c1") == ["overflowed", "offered"]
    assert of_type(out, cmd.OverflowCall) == []  # same session: the engine keeps the caller
    view = h.engine.call_view("c1")
    assert (view.queue, view.position) == ("backup", 2)
    out = h.at(80).login("b1")
    assert rings(out) == [("old", "b1")]


def test_max_wait_overflows_to_extension() -> None:
    """Overflow to a dialplan target sends OverflowCall and ends the engine's part."""
    h = _harness("a1", max_wait_s=30, overflow=OverflowTarget.parse("extension:vm@acd"))
    h.arrive("c1")
    out = h.fire("max_wait:c1:")
    assert of_type(out, cmd.OverflowCall) == [
        cmd.OverflowCall("c1", "extension:vm@acd", "max_wait")
    ]
    (summary,) = of_type(out, cmd.CallCompleted)
    assert (summary.outcome, summary.overflow_target) == (Outcome.OVERFLOWED, "extension:vm@acd")


def test_max_wait_while_ringing_overflows_after_the_miss() -> None:
    """A call ringing at max wait is not torn away; if not answered, it overflows then."""
    h = _harness("a1", max_wait_s=10, overflow=OverflowTarget.parse("hangup"))
    h.login("a1")
    h.arrive("c1")
    assert h.fire("max_wait:c1:") == []
    out = h.at(15).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert of_type(out, cmd.OverflowCall) == [cmd.OverflowCall("c1", "hangup", "max_wait")]
    assert rings(out) == []


def test_join_when_empty_rejects() -> None:
    """With join_when_empty=no_logged_in and nobody logged in, the call is ended at once."""
    h = _harness("a1", join_when_empty=EmptyPolicy.NO_LOGGED_IN)
    out = h.arrive("c1")
    assert of_type(out, cmd.EndCall) == [cmd.EndCall("c1", "join_empty")]
    (summary,) = of_type(out, cmd.CallCompleted)
    assert summary.outcome is Outcome.REJECTED
    assert call_kinds(out, "c1") == ["offered", "ended"]


def test_join_when_empty_no_staffed_counts_paused_as_empty() -> None:
    """no_staffed treats paused advisors as absent, advisors in wrap-up as present."""
    h = _harness("a1", join_when_empty=EmptyPolicy.NO_STAFFED)
    h.login("a1")
    h.send(ev.AgentPaused, agent_id="a1", reason="lunch")
    assert of_type(h.arrive("c1"), cmd.EndCall)
    h.send(ev.AgentReady, agent_id="a1")
    h.arrive("c2")
    h.at(1).answer_and_end("c2", "a1")
    assert of_type(h.arrive("c3"), cmd.EndCall) == []


def test_leave_when_empty_ends_waiting_calls() -> None:
    """When the last advisor logs out, waiting calls leave (overflow target if any)."""
    h = _harness("a1", leave_when_empty=EmptyPolicy.NO_LOGGED_IN)
    h.login("a1")
    h.send(ev.AgentPaused, agent_id="a1", reason="x")
    h.at(1).arrive("c1")
    out = h.at(2).send(ev.AgentLoggedOut, agent_id="a1")
    assert of_type(out, cmd.EndCall) == [cmd.EndCall("c1", "leave_empty")]
    (summary,) = of_type(out, cmd.CallCompleted)
    assert summary.outcome is Outcome.TIMED_OUT


def test_prompts_play_at_interval_and_stop_before_ring() -> None:
    """Waiting callers hear position and expected wait; a prompt is stopped before the ring."""
    h = _harness("a1", "a2", announce_interval_s=30, expected_handle_s=120)
    h.login("a1", "a2")
    h.arrive("busy1")
    h.arrive("busy2")
    h.at(1).arrive("c1")
    h.at(2).arrive("c2")
    assert of_type(h.fire("announce:c1:"), cmd.PlayPrompt) == [
        cmd.PlayPrompt("c1", "position", 1, 60)
    ]
    out = h.fire("announce:c2:")
    assert of_type(out, cmd.PlayPrompt) == [cmd.PlayPrompt("c2", "position", 2, 120)]
    assert h.engine.call_view("c2").position == 2
    h.send(ev.AgentAnswered, call_id="busy1", agent_id="a1")
    h.at(40).send(ev.CallEnded, call_id="busy1")
    out = h.fire("wrap_up:a1:")
    assert rings(out) == [("c1", "a1")]
    stop = out.index(cmd.StopPrompt("c1"))
    ring = next(i for i, c in enumerate(out) if isinstance(c, cmd.RingAgent))
    assert stop < ring


def test_prompt_not_repeated_while_playing() -> None:
    """A due announcement is skipped while the previous prompt still plays."""
    h = _harness("a1", announce_interval_s=10)
    h.arrive("c1")
    assert of_type(h.fire("announce:c1:"), cmd.PlayPrompt)
    assert of_type(h.fire("announce:c1:"), cmd.PlayPrompt) == []
    h.send(ev.PromptEnded, call_id="c1")
    assert of_type(h.fire("announce:c1:"), cmd.PlayPrompt)


def test_position_and_expected_wait_in_views() -> None:
    """Waiting calls show position by priority then arrival, and an expected wait."""
    h = _harness("a1", expected_handle_s=100)
    h.login("a1")
    h.at(0).arrive("first")  # a1 takes it: the others wait for a staffed, busy advisor
    h.at(0).arrive("c1")
    h.at(1).arrive("c2")
    h.at(2).arrive("vip", priority=5)
    q = h.engine.queue_view("sales", at=10)
    assert [(c.call_id, c.position) for c in q.waiting] == [("vip", 1), ("c1", 2), ("c2", 3)]
    assert [c.expected_wait_s for c in q.waiting] == [100, 200, 300]
    assert q.longest_wait_s == 10


def test_longest_wait_counts_only_callers_still_waiting() -> None:
    """A call in conversation no longer counts towards the queue's longest wait."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(5).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    assert h.engine.queue_view("sales", at=300).longest_wait_s == 0
    h.at(290).arrive("c2")
    assert h.engine.queue_view("sales", at=300).longest_wait_s == 10


def test_unknown_ids_are_precise_errors() -> None:
    """Unknown advisor, call or queue ids raise errors that carry the id."""
    h = _harness("a1")
    with pytest.raises(UnknownAgentError, match="'zz'"):
        h.send(ev.AgentLoggedIn, agent_id="zz")
    with pytest.raises(UnknownCallError, match="'nope'"):
        h.send(ev.CallerHungUp, call_id="nope")
    with pytest.raises(UnknownQueueError, match="'support' for call 'c1'"):
        h.arrive("c1", "support")


def test_events_out_of_order_are_refused() -> None:
    """An event older than the last accepted one is refused; the clock does not move back."""
    h = _harness("a1")
    h.at(10).login("a1")
    with pytest.raises(EventOutOfOrderError):
        h.at(5).arrive("c1")
    assert h.engine.now == 10
    with pytest.raises(UnknownCallError):
        h.engine.call_view("c1")


def test_duplicate_events_are_no_ops() -> None:
    """Repeated arrivals, answers and hang-ups are documented no-ops."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    assert h.arrive("c1") == []
    h.at(2).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    assert h.send(ev.AgentAnswered, call_id="c1", agent_id="a1") == []
    h.at(3).send(ev.CallEnded, call_id="c1")
    assert h.send(ev.CallEnded, call_id="c1") == []
    h.fire("wrap_up:a1:")
    assert h.send(ev.CallerHungUp, call_id="c1") == []
    assert h.send(ev.TimerFired, timer_id="wrap_up:a1:999") == []


def test_reused_call_id_is_refused() -> None:
    """A different arrival with an id already used is refused, not merged."""
    h = _harness("a1")
    h.arrive("c1")
    with pytest.raises(IllegalTransitionError, match="call id in use"):
        h.at(5).arrive("c1")


def test_answer_by_wrong_advisor_is_refused() -> None:
    """Only the advisor the call was presented to can answer it."""
    h = _harness("a1", "a2")
    h.login("a1", "a2")
    h.arrive("c1")
    with pytest.raises(IllegalTransitionError) as info:
        h.send(ev.AgentAnswered, call_id="c1", agent_id="a2")
    assert (info.value.entity_id, info.value.related_id) == ("c1", "a2")
    assert h.engine.call_view("c1").agent_id == "a1"


def test_call_ended_before_answer_is_refused() -> None:
    """CallEnded for an unanswered call is an error naming the call."""
    h = _harness("a1")
    h.arrive("c1")
    with pytest.raises(IllegalTransitionError, match="'c1'"):
        h.send(ev.CallEnded, call_id="c1")


def test_late_not_answered_is_ignored() -> None:
    """A NOANSWER arriving after the call moved on to another advisor is a no-op."""
    h = _harness("a1", "a2")
    h.login("a1")
    h.arrive("c1")
    h.login("a2")
    h.at(15).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    assert h.send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1") == []
    assert h.engine.call_view("c1").agent_id == "a2"


def test_pause_during_call_applies_after_wrap_up() -> None:
    """A pause asked for during a call takes effect when wrap-up ends."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(2).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    assert h.send(ev.AgentPaused, agent_id="a1", reason="break") == []
    assert h.engine.agent_view("a1").pending_pause == "break"
    h.at(30).send(ev.CallEnded, call_id="c1")
    h.arrive("c2")
    h.fire("wrap_up:a1:")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason) == (Activity.PAUSED, "break")
    assert h.engine.call_view("c2").state is CallState.WAITING


def test_service_level_counts() -> None:
    """Service level = answered within threshold / (offered - short abandons)."""
    h = _harness("a1", service_level_s=20)
    h.login("a1")
    h.arrive("fast")
    h.at(1).arrive("short")
    h.at(3).send(ev.CallerHungUp, call_id="short")  # short abandon (< 5 s)
    h.at(5).answer_and_end("fast", "a1")
    q = h.engine.queue_view("sales")
    assert (q.offered, q.answered, q.answered_within_sl, q.short_abandons) == (2, 1, 1, 1)
    assert q.service_level == 1.0


def test_pause_while_ringing_applies_if_not_answered() -> None:
    """A pause asked for while the phone rings applies at once if the call is not answered."""
    h = _harness("a1", "a2")
    h.login("a1")
    h.arrive("c1")
    h.send(ev.AgentPaused, agent_id="a1", reason="meeting")
    h.at(15).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason, view.pending_pause) == (Activity.PAUSED, "meeting", None)
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_pause_while_ringing_applies_if_caller_abandons() -> None:
    """A pause asked for while ringing applies when the caller hangs up before the answer."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    h.at(1).arrive("c2")
    h.send(ev.AgentPaused, agent_id="a1", reason="meeting")
    out = h.at(5).send(ev.CallerHungUp, call_id="c1")
    assert rings(out) == []
    assert h.engine.agent_view("a1").activity is Activity.PAUSED


def test_unknown_dial_status_is_refused() -> None:
    """A dial status that is not a failure status is refused; the call keeps ringing."""
    h = _harness("a1")
    h.login("a1")
    h.arrive("c1")
    with pytest.raises(CoreError, match="not a dial status"):
        h.send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1", dial_status="ANSWER")
    assert h.engine.call_view("c1").state is CallState.PRESENTED


def test_transfer_by_another_advisor_is_refused() -> None:
    """Only the connected advisor can transfer the call."""
    h = _harness("a1", "a2")
    h.login("a1", "a2")
    h.arrive("c1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    with pytest.raises(IllegalTransitionError) as info:
        h.send(ev.CallTransferred, call_id="c1", agent_id="a2", target="2000")
    assert info.value.related_id == "a2"
    assert h.engine.call_view("c1").state is CallState.CONNECTED


def test_disposition_for_unknown_call() -> None:
    """A disposition naming a call the engine never saw is an unknown-call error."""
    h = _harness("a1")
    h.login("a1")
    with pytest.raises(UnknownCallError):
        h.send(ev.DispositionSet, agent_id="a1", call_id="zz", disposition="x")


def test_live_calls_and_agent_time_in_state() -> None:
    """live_calls lists waiting, ringing and connected calls; views show time in state."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(2).arrive("c2")
    h.at(3).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    states = [(v.call_id, v.state, v.position) for v in h.engine.live_calls()]
    assert states == [("c1", CallState.CONNECTED, None), ("c2", CallState.WAITING, 1)]
    view = h.engine.agent_view("a1", at=10)
    assert (view.activity, view.since, view.time_in_state_s, view.call_id) == (
        Activity.ON_CALL,
        3,
        7,
        "c1",
    )
