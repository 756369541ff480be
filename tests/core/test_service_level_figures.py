"""Service-level figures that don't flatter: the wait counts from the first arrival across an
overflow, and callers refused at join are out of the denominator."""

from __future__ import annotations

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import EmptyPolicy, OverflowTarget
from acd.core.percentiles import WaitPercentiles

from .helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue


def _overflowing_centre() -> Harness:
    first = queue(
        "first",
        max_wait_s=60,
        overflow=OverflowTarget.parse("queue:second"),
        service_level_s=20,
        announce_interval_s=None,
    )
    second = queue("second", service_level_s=120, announce_interval_s=None)
    return Harness.of(
        config(
            [first, second],
            # a1 of the first queue never logs in: the caller waits there until max wait.
            [agent("a1", ("first",)), agent("b1", ("second",))],
            workload=NO_WORKLOAD,
        )
    )


def test_an_overflowed_caller_is_judged_on_the_wait_since_first_arrival() -> None:
    """Answered 127 s after arriving (67 s in the second queue): not within the second queue's
    120 s target; the first queue counts it offered and overflowed out, never answered."""
    h = _overflowing_centre()
    h.at(0).arrive("c1", "first")
    h.fire("max_wait:c1:")
    h.at(127).login("b1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="b1")
    first = h.engine.queue_view("first")
    second = h.engine.queue_view("second")
    assert (first.offered, first.answered, first.overflowed_out) == (1, 0, 1)
    assert first.service_level == 0.0
    assert (second.offered, second.overflowed_in, second.answered) == (1, 1, 1)
    assert (second.answered_within_sl, second.service_level) == (0, 0.0)
    h.at(130).send(ev.CallEnded, call_id="c1")
    h.fire("wrap_up:b1:")
    (summary,) = of_type(h.log, cmd.CallCompleted)
    assert (summary.wait_s, summary.answered_within_sl) == (127, False)


def test_an_overflowed_caller_within_target_since_first_arrival_counts() -> None:
    """Answered 100 s after first arriving: within the second queue's 120 s target."""
    h = _overflowing_centre()
    h.at(0).arrive("c1", "first")
    h.fire("max_wait:c1:")
    h.at(100).login("b1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="b1")
    assert h.engine.queue_view("second").answered_within_sl == 1


def test_callers_refused_at_join_are_out_of_the_service_level_denominator() -> None:
    """One caller refused by join_when_empty and one answered at once: service level 100 %,
    not 50 %; the refusal is counted as rejected."""
    sales = queue("sales", join_when_empty=EmptyPolicy.NO_LOGGED_IN, announce_interval_s=None)
    h = Harness.of(config([sales], [agent("a1")], workload=NO_WORKLOAD))
    h.at(0).arrive("refused")
    h.login("a1")
    h.at(1).arrive("served")
    h.send(ev.AgentAnswered, call_id="served", agent_id="a1")
    view = h.engine.queue_view("sales")
    assert (view.offered, view.rejected, view.answered_within_sl) == (2, 1, 1)
    assert view.service_level == 1.0


def test_the_centre_counts_an_overflowed_caller_once_against_the_answering_queues_target() -> None:
    """Offered to both queues but to the centre once; answered 100 s after first arriving,
    within the second queue's 120 s target (the first queue's 20 s does not judge it)."""
    h = _overflowing_centre()
    h.at(0).arrive("c1", "first")
    h.fire("max_wait:c1:")
    h.at(100).login("b1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="b1")
    centre = h.engine.snapshot().centre
    assert (centre.offered, centre.answered, centre.answered_within_sl) == (1, 1, 1)
    assert centre.service_level == 1.0
    assert sum(q.offered for q in h.engine.snapshot().queues) == 2


def test_a_caller_who_hangs_up_just_after_an_overflow_is_not_a_short_abandon() -> None:
    """60 s in the first queue, 2 s in the second: a 62 s wait, in the denominators."""
    h = _overflowing_centre()
    h.at(0).arrive("c1", "first")
    h.fire("max_wait:c1:")
    h.at(62).send(ev.CallerHungUp, call_id="c1")
    second = h.engine.queue_view("second")
    centre = h.engine.snapshot().centre
    assert (second.abandoned, second.short_abandons, second.service_level) == (1, 0, 0.0)
    assert (centre.abandoned, centre.short_abandons, centre.service_level) == (1, 0, 0.0)


def test_the_centre_leaves_out_callers_refused_at_join_but_not_those_moved_on() -> None:
    """Refused by the first queue and moved on to the second, a caller is offered to the centre;
    refused with nowhere to go, they are out of its denominator; counters restart each day."""
    first = queue(
        "first",
        join_when_empty=EmptyPolicy.NO_LOGGED_IN,
        overflow=OverflowTarget.parse("queue:second"),
        announce_interval_s=None,
    )
    second = queue("second", join_when_empty=EmptyPolicy.NO_LOGGED_IN, announce_interval_s=None)
    agents = [agent("a1", ("first",)), agent("b1", ("second",))]
    h = Harness.of(config([first, second], agents, workload=NO_WORKLOAD))
    h.login("b1")
    h.at(0).arrive("moved", "first")  # nobody in the first queue: moved on, answered at once
    h.send(ev.AgentAnswered, call_id="moved", agent_id="b1")
    assert h.engine.queue_view("first").rejected == 1
    centre = h.engine.snapshot().centre
    assert (centre.offered, centre.rejected, centre.service_level) == (1, 0, 1.0)

    alone = Harness.of(config([second], [agent("b1", ("second",))], workload=NO_WORKLOAD))
    alone.at(0).arrive("refused", "second")  # nobody logged in, nowhere to go
    centre = alone.engine.snapshot().centre
    assert (centre.offered, centre.rejected, centre.service_level) == (1, 1, None)
    alone.at(86_400).send(ev.DayRolledOver)
    centre = alone.engine.snapshot().centre
    assert (centre.offered, centre.rejected, centre.counters_since) == (0, 0, 86_400)


def test_todays_wait_percentiles_count_from_first_arrival_where_the_call_ended() -> None:
    """The overflowed caller answered 100 s after arriving counts 100 s in the second queue and
    the centre (nothing in the first); the percentiles start again with the day."""
    h = _overflowing_centre()
    h.at(0).arrive("c1", "first")
    h.fire("max_wait:c1:")
    h.at(100).login("b1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="b1")
    h.at(110).arrive("gone", "second")
    h.at(150).send(ev.CallerHungUp, call_id="gone")
    snapshot = h.engine.snapshot()
    first, second = snapshot.queues
    assert first.answered_waits == WaitPercentiles()
    assert second.answered_waits == WaitPercentiles(100.0, 100.0, 100.0, 100.0)
    assert snapshot.centre.answered_waits == second.answered_waits
    assert snapshot.centre.abandoned_waits.p99 == second.abandoned_waits.p50 == 40.0
    h.at(86_400).send(ev.DayRolledOver)
    snapshot = h.engine.snapshot()
    assert snapshot.queues[1].answered_waits == snapshot.centre.answered_waits == WaitPercentiles()
