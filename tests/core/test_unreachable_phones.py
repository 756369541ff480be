"""A ring that cannot reach the phone (CHANUNAVAIL, CONGESTION) is no miss of the advisor's.

A miss, the count behind ``max_missed`` and the ``no_answer`` pause, is only a ring-out, busy or a
decline. A phone the ring could not reach is marked unreachable: the caller goes to the next
advisor, and the phone is tried again after a back-off (doubled for each such ring in a row) or
as soon as the PBX reports the device unavailable and back, never in a tight loop.
"""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.engine import UNREACHABLE_RETRY_MAX_S, UNREACHABLE_RETRY_S
from acd.core.states import Activity, CallState, PhoneState

from .helpers import NO_WORKLOAD, Harness, agent, call_kinds, config, of_type, queue, rings

UNREACHED = ("CHANUNAVAIL", "CONGESTION")


def _harness(*agent_ids: str, max_missed: int = 3) -> Harness:
    cfg = config(
        [queue("sales")],
        [agent(a, max_missed=max_missed) for a in agent_ids],
        workload=NO_WORKLOAD,
    )
    return Harness.of(cfg)


def _unreached(h: Harness, call_id: str, agent_id: str, status: str) -> list[cmd.Command]:
    return h.send(ev.AgentDidNotAnswer, call_id=call_id, agent_id=agent_id, dial_status=status)


@pytest.mark.parametrize("status", UNREACHED)
def test_unreachable_ring_is_no_miss_and_the_caller_goes_to_the_next_advisor(status: str) -> None:
    """CHANUNAVAIL/CONGESTION: no miss counted, the phone shows unreachable, the caller rings
    the next advisor at once."""
    h = _harness("a1", "a2")
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(2).login("a2")
    out = _unreached(h.at(3), "c1", "a1", status)
    assert rings(out) == [("c1", "a2")]
    view = h.engine.agent_view("a1")
    assert (view.missed_in_row, view.phone, view.activity) == (
        0,
        PhoneState.UNREACHABLE,
        Activity.AVAILABLE,
    )
    assert not h.engine.is_routable("a1")
    (record,) = [c for c in of_type(out, cmd.RecordCallEvent) if c.kind == "not_answered"]
    assert record.data == {"dial_status": status, "missed": 0, "phone": "unreachable"}
    phone = [c for c in of_type(out, cmd.RecordAgentState) if c.dimension == "phone"]
    assert [(c.old, c.new, c.reason) for c in phone] == [
        ("idle", "unreachable", f"dial_{status.lower()}")
    ]


@pytest.mark.parametrize("status", UNREACHED)
def test_unreachable_rings_never_pause_the_advisor(status: str) -> None:
    """However many rings find the phone unreachable, the advisor is never paused no_answer
    (max_missed counts only ring-outs, busy and declines)."""
    h = _harness("a1", max_missed=1)
    h.login("a1")
    h.at(1).arrive("c1")
    for n in range(5):
        _unreached(h, "c1", "a1", status)
        view = h.engine.agent_view("a1")
        assert (view.activity, view.missed_in_row) == (Activity.AVAILABLE, 0), n
        h.fire("phone:a1:")  # the back-off is over: the waiting caller rings a1 again
        assert h.engine.call_view("c1").state is CallState.PRESENTED


def test_ring_out_still_counts_as_a_miss() -> None:
    """The control: NOANSWER and BUSY are misses; max_missed of them pause the advisor."""
    h = _harness("a1", max_missed=2)
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(16).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1", dial_status="NOANSWER")
    assert h.engine.agent_view("a1").missed_in_row == 1
    h.fire("retry:c1:a1:")
    h.at(36).send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1", dial_status="BUSY")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason, view.phone) == (
        Activity.PAUSED,
        "no_answer",
        PhoneState.IDLE,
    )


def test_only_advisor_unreachable_is_not_rung_in_a_loop() -> None:
    """With one advisor, a phone that keeps failing is rung once per back-off, and the
    back-off doubles up to its maximum: no retry in the same instant, whatever arrives."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    out = _unreached(h.at(1), "c1", "a1", "CHANUNAVAIL")
    assert rings(out) == []
    # Other callers arriving meanwhile do not ring the unreachable phone either.
    assert rings(h.at(2).arrive("c2")) == []
    waits = []
    t = 1.0
    for _ in range(7):
        timer = h.timer("phone:a1:")
        waits.append(h.due(timer) - t)
        out = h.fire("phone:a1:")
        t = h.t
        assert rings(out) == [("c1", "a1")]
        out = _unreached(h, "c1", "a1", "CONGESTION")
        assert rings(out) == []
    expected = [min(UNREACHABLE_RETRY_S * 2**n, UNREACHABLE_RETRY_MAX_S) for n in range(7)]
    assert waits == expected
    assert waits[-1] == UNREACHABLE_RETRY_MAX_S


def test_pbx_reporting_the_phone_back_ends_the_back_off_at_once() -> None:
    """The PBX reporting the device unavailable then idle (a registration) makes the advisor
    routable at once: the waiting caller rings them before the back-off ends."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    _unreached(h.at(1), "c1", "a1", "CHANUNAVAIL")
    out = h.at(2).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.UNREACHABLE)
    assert [t for t in h.engine.pending_timers() if t.startswith("phone:")] == []
    assert of_type(out, cmd.CancelTimer)
    out = h.at(5).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IDLE)
    assert rings(out) == [("c1", "a1")]


def test_idle_device_state_alone_does_not_end_the_back_off() -> None:
    """A device state of idle while the phone is marked unreachable (a CONGESTION ring leaves
    the device idle; a missed event looks the same) does not ring it again before the back-off."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(1).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.RINGING)
    _unreached(h.at(2), "c1", "a1", "CONGESTION")
    out = h.at(2).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IDLE)
    assert rings(out) == []
    assert h.engine.agent_view("a1").phone is PhoneState.UNREACHABLE
    assert rings(h.fire("phone:a1:")) == [("c1", "a1")]


def test_back_off_ends_in_the_state_the_pbx_reported_meanwhile() -> None:
    """An advisor who made a call of their own during the back-off is in use when it ends, not
    idle: nobody is rung until the PBX says the phone is free."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    _unreached(h.at(1), "c1", "a1", "CHANUNAVAIL")
    h.at(3).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IN_USE)
    out = h.fire("phone:a1:")
    assert rings(out) == []
    assert h.engine.agent_view("a1").phone is PhoneState.IN_USE
    out = h.at(40).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IDLE)
    assert rings(out) == [("c1", "a1")]


def test_a_reached_ring_resets_the_back_off() -> None:
    """Once the phone is reached again (answered, or even a ring-out), the next unreachable ring
    starts the back-off over from its first step."""
    h = _harness("a1")
    h.login("a1")
    h.at(1).arrive("c1")
    _unreached(h.at(1), "c1", "a1", "CHANUNAVAIL")
    h.fire("phone:a1:")
    _unreached(h, "c1", "a1", "CHANUNAVAIL")
    timer = h.timer("phone:a1:")
    assert h.due(timer) - h.t == 2 * UNREACHABLE_RETRY_S
    h.fire("phone:a1:")
    h.send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1", dial_status="NOANSWER")
    h.fire("retry:c1:a1:")
    _unreached(h, "c1", "a1", "CHANUNAVAIL")
    assert h.due(h.timer("phone:a1:")) - h.t == UNREACHABLE_RETRY_S
    assert call_kinds(h.log, "c1").count("not_answered") == 4
