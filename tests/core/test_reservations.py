"""ReserveAgent: the engine holds an eligible free advisor for a non-inbound leg."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import WorkloadPolicy
from acd.core.errors import IllegalTransitionError
from acd.core.states import Activity, CallState, Outcome
from tests.core.helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue, rings


def reserves(commands: list[cmd.Command]) -> list[tuple[str, str, str]]:
    """(call_id, agent_id, reason) of every ReserveAgent, in order."""
    return [(c.call_id, c.agent_id, c.reason) for c in of_type(commands, cmd.ReserveAgent)]


def harness(**kw: object) -> Harness:
    cfg = config(
        [queue("sales", "french>=3")],
        [agent("a1", skills={"french": 4}), agent("a2", skills={"french": 1})],
        workload=kw.pop("workload", NO_WORKLOAD),
    )
    return Harness.of(cfg)


def test_free_eligible_advisor_is_reserved_with_the_reason() -> None:
    """A reservation takes the free eligible advisor: ReserveAgent, reserved with the reason."""
    h = harness()
    h.login("a1", "a2")
    out = h.at(5).send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    assert reserves(out) == [("o1", "a1", "outbound")]
    assert rings(out) == []
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason, view.call_id) == (Activity.RESERVED, "outbound", "o1")
    reserve = of_type(out, cmd.ReserveAgent)[0]
    assert reserve.endpoint == "PJSIP/a1"


def test_reservation_waits_in_line_until_an_advisor_is_free() -> None:
    """With nobody free the reservation waits in line, without announcements or inbound figures."""
    h = harness()
    out = h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    assert reserves(out) == []
    assert not [t for t in h.engine.pending_timers() if t.startswith(("announce", "max_wait"))]
    assert h.engine.queue_view("sales").offered == 0
    out = h.at(3).login("a1")
    assert reserves(out) == [("o1", "a1", "outbound")]


def test_release_frees_the_advisor_at_once() -> None:
    """ReservationReleased frees the advisor at once and ends the reservation ``released``."""
    h = harness()
    h.login("a1")
    h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    out = h.at(4).send(ev.ReservationReleased, call_id="o1", reason="busy")
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.outcome, summary.reason) == (Outcome.RELEASED, "busy")


def test_released_advisor_takes_the_next_caller_in_the_same_event() -> None:
    """An advisor released from a reservation takes the waiting caller in the same dispatch."""
    h = harness()
    h.login("a1")
    h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    h.at(1).arrive("c1")
    out = h.at(2).send(ev.ReservationReleased, call_id="o1", reason="no_answer")
    assert rings(out) == [("c1", "a1")]


def test_connected_reservation_goes_through_wrap_up() -> None:
    """A connected reservation is a conversation: on call, then wrap-up, then ``completed``."""
    h = harness()
    h.login("a1")
    h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    h.at(2).send(ev.AgentAnswered, call_id="o1", agent_id="a1")
    assert h.engine.agent_view("a1").activity is Activity.ON_CALL
    h.at(62).send(ev.CallEnded, call_id="o1")
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP
    out = h.fire("wrap_up:a1:")
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.outcome, summary.reason) == (Outcome.COMPLETED, "outbound")
    assert h.engine.queue_view("sales").answered == 0


def test_reservation_respects_the_occupancy_cap() -> None:
    """An advisor over the occupancy cap takes a breather instead of the next reservation."""
    workload = WorkloadPolicy(occupancy_cap=0.5, min_basis_s=60.0, window_s=600.0, bucket_s=60.0)
    h = harness(workload=workload)
    h.login("a1")
    h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    h.at(1).send(ev.AgentAnswered, call_id="o1", agent_id="a1")
    h.at(100).send(ev.CallEnded, call_id="o1")
    h.send(ev.ReservationRequested, call_id="o2", queue="sales", reason="outbound")
    out = h.fire("wrap_up:a1:")
    assert reserves(out) == []
    assert h.engine.agent_view("a1").activity is Activity.BREATHER


def test_reservation_skips_ineligible_advisors() -> None:
    """Only an advisor who satisfies the queue's routing step is reserved."""
    h = harness()
    h.login("a2")
    out = h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    assert reserves(out) == []
    assert h.engine.agent_view("a2").activity is Activity.AVAILABLE


def test_advisor_not_answering_puts_reservation_back_in_line() -> None:
    """The advisor's own leg ringing out re-offers the reservation to another advisor."""
    cfg = config([queue("sales")], [agent("a1"), agent("a2")], workload=NO_WORKLOAD)
    h = Harness.of(cfg)
    h.login("a1", "a2")
    h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    out = h.at(15).send(
        ev.AgentDidNotAnswer, call_id="o1", agent_id="a1", dial_status=ev.DialStatus.NOANSWER
    )
    assert reserves(out) == [("o1", "a2", "outbound")]
    assert h.engine.call_view("o1").state is CallState.PRESENTED


def test_connected_reservation_cannot_be_released() -> None:
    """A connected reservation ends with CallEnded, not ReservationReleased (nothing changes)."""
    h = harness()
    h.login("a1")
    h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    h.send(ev.AgentAnswered, call_id="o1", agent_id="a1")
    with pytest.raises(IllegalTransitionError):
        h.send(ev.ReservationReleased, call_id="o1", reason="busy")
    assert h.engine.agent_view("a1").activity is Activity.ON_CALL
    h.engine.check_indexes()


def test_reservation_naming_an_advisor_takes_that_advisor() -> None:
    """A preview's click to call names the advisor: reserved even when another has idled longer."""
    cfg = config([queue("sales")], [agent("a1"), agent("a2")], workload=NO_WORKLOAD)
    h = Harness.of(cfg)
    h.login("a1", "a2")
    out = h.at(5).send(
        ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound", agent_id="a2"
    )
    assert reserves(out) == [("o1", "a2", "outbound")]


@pytest.mark.parametrize(("busy", "who"), [(True, "a1"), (False, "a2")])
def test_reservation_naming_an_unavailable_advisor_changes_nothing(busy: bool, who: str) -> None:
    """The named advisor busy (or not eligible for the queue): refused, nothing changed."""
    h = harness()
    h.login("a1", "a2")
    if busy:
        h.send(ev.ReservationRequested, call_id="o0", queue="sales", reason="outbound")
    with pytest.raises(IllegalTransitionError):
        h.send(
            ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound", agent_id=who
        )
    assert "o1" not in {c.call_id for c in h.engine.live_calls()}
    out = h.send(ev.ReservationRequested, call_id="o1", queue="sales", reason="outbound")
    assert [r[0] for r in reserves(out)] in ([], ["o1"])
