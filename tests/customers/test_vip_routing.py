"""VIP priority in the engine: a VIP's call is served before earlier ordinary ones, bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from acd.core import events as ev
from acd.core.config import PRIORITY_MAX
from acd.core.customers import CustomerRouting
from tests.core.helpers import NO_WORKLOAD, Harness, agent, config, queue, rings

VIP = CustomerRouting(vip_priority={1: 10, 3: 50})


def centre(routing: CustomerRouting = VIP, **queue_kw: object) -> Harness:
    return Harness.of(
        config(
            [queue("sales", announce_interval_s=None, **queue_kw)],
            [agent("a1")],
            workload=NO_WORKLOAD,
            customers=routing,
        )
    )


def busy_centre(routing: CustomerRouting = VIP) -> Harness:
    """One advisor, busy with a first call, so the next callers wait."""
    h = centre(routing)
    h.login("a1")
    h.arrive("first")
    h.send(ev.AgentAnswered, call_id="first", agent_id="a1")
    return h


def free_the_advisor(h: Harness) -> list[tuple[str, str]]:
    h.t += 100
    h.send(ev.CallEnded, call_id="first")
    return rings(h.fire("wrap_up:a1:"))


def test_a_vip_who_arrives_later_is_served_first() -> None:
    """Level 3 (+50) beats an ordinary caller who waited longer; the summary shows the sum."""
    h = busy_centre()
    h.at(1).arrive("ordinary")
    h.at(2).arrive("vip", data={"vip": "3", "customer_id": "c1"})
    assert free_the_advisor(h) == [("vip", "a1")]
    # 110 s of waiting earned one level of priority ageing (60 s a level) on top of the bonus.
    assert h.engine.call_view("vip").priority == 50 + 1


def test_levels_not_mapped_and_garbage_add_nothing() -> None:
    """An unmapped level, a non-number or no data at all leave the queue's priority."""
    h = busy_centre()
    for call_id, data in (("a", {"vip": "2"}), ("b", {"vip": "gold"}), ("c", {})):
        h.arrive(call_id, data=data)
        assert h.engine.call_view(call_id).priority == 0


def test_the_bonus_stays_within_the_priority_bounds() -> None:
    """A call already at the maximum priority stays there."""
    h = busy_centre()
    h.arrive("top", priority=PRIORITY_MAX, data={"vip": "3"})
    assert h.engine.call_view("top").priority == PRIORITY_MAX


def test_a_late_identification_raises_a_waiting_callers_priority() -> None:
    """A CRM answer while the caller waits moves them ahead; the event is recorded."""
    h = busy_centre()
    h.at(1).arrive("ordinary")
    h.at(2).arrive("later")
    h.at(3).send(ev.CallerIdentified, call_id="later", data={"vip": "1"})
    assert h.engine.call_view("later").priority == 10
    assert free_the_advisor(h) == [("later", "a1")]


def test_a_late_identification_never_touches_a_ringing_call() -> None:
    """The call already rings: nothing changes, no command at all."""
    h = centre()
    h.login("a1")
    assert rings(h.arrive("k")) == [("k", "a1")]
    assert h.send(ev.CallerIdentified, call_id="k", data={"vip": "3"}) == []
    assert h.engine.call_view("k").priority == 0


def test_identifying_a_finished_call_is_a_no_op() -> None:
    """A late answer for a call that has gone changes nothing."""
    h = busy_centre()
    h.arrive("gone")
    h.send(ev.CallerHungUp, call_id="gone")
    assert h.send(ev.CallerIdentified, call_id="gone", data={"vip": "3"}) == []


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(st.sampled_from(["", "1", "3"]), min_size=1, max_size=12),
)
def test_calls_are_served_by_priority_then_arrival(levels: list[str]) -> None:
    """Whatever the mix, the advisor takes VIP 3, then VIP 1, then others, each in arrival order."""
    h = busy_centre()
    for i, level in enumerate(levels):
        h.at(1 + i).arrive(f"k{i}", data={"vip": level} if level else {})
    served: list[str] = []
    nxt = free_the_advisor(h)
    while nxt:
        [(call_id, _)] = nxt
        served.append(call_id)
        h.send(ev.AgentAnswered, call_id=call_id, agent_id="a1")
        h.t += 10
        h.send(ev.CallEnded, call_id=call_id)
        nxt = rings(h.fire("wrap_up:a1:"))
    bonus = {"": 0, "1": 10, "3": 50}
    expected = sorted(range(len(levels)), key=lambda i: (-bonus[levels[i]], i))
    assert served == [f"k{i}" for i in expected]
    h.engine.check_indexes()


def test_a_crm_answer_without_a_vip_level_keeps_the_directory_one() -> None:
    """The CRM wins only for the fields it returns: an answer with a name only leaves the VIP
    level the call arrived with (and its priority)."""
    h = busy_centre()
    h.at(1).arrive("vip", data={"vip": "3"})
    h.at(2).send(ev.CallerIdentified, call_id="vip", data={"customer_name": "Camille"})
    assert h.engine.call_view("vip").priority == 50
