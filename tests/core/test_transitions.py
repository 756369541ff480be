"""Transition tables: every entry is walkable, every missing pair refuses with the ids."""

from __future__ import annotations

from enum import StrEnum

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.errors import IllegalTransitionError
from acd.core.states import (
    ACTIVITY_TABLE,
    CALL_TABLE,
    PHONE_TABLE,
    PRESENCE_TABLE,
    Activity,
    CallState,
    PhoneState,
    Presence,
    transition,
)

from .helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue

TABLES = {
    "presence": (PRESENCE_TABLE, Presence),
    "phone": (PHONE_TABLE, PhoneState),
    "activity": (ACTIVITY_TABLE, Activity),
    "call": (CALL_TABLE, CallState),
}


@pytest.mark.parametrize("dimension", TABLES)
def test_every_entry_transitions(dimension: str) -> None:
    """Each (state, trigger) entry of each table yields its target state."""
    table, _ = TABLES[dimension]
    for (state, trigger), target in table.items():
        got = transition(table, state, trigger, entity="x", entity_id="id1", dimension=dimension)
        assert got is target


@pytest.mark.parametrize("dimension", TABLES)
def test_every_missing_pair_refuses_with_ids(dimension: str) -> None:
    """A (state, trigger) pair absent from a table raises IllegalTransitionError with the ids."""
    table, states = TABLES[dimension]
    triggers = {t for _, t in table}
    for state in states:
        assert isinstance(state, StrEnum)
        for trigger in triggers:
            if (state, trigger) in table:
                continue
            with pytest.raises(IllegalTransitionError) as info:
                transition(
                    table,
                    state,
                    trigger,
                    entity="agent",
                    entity_id="a7",
                    dimension=dimension,
                    related_id="c9",
                )
            err = info.value
            assert (err.entity_id, err.related_id, err.state, err.trigger) == (
                "a7",
                "c9",
                state.value,
                trigger,
            )
            assert "'a7'" in str(err)
            assert "'c9'" in str(err)


def test_every_activity_is_reachable_and_left() -> None:
    """Every activity appears as a target and as a source: no dead or unreachable state."""
    sources = {s for s, _ in ACTIVITY_TABLE}
    targets = set(ACTIVITY_TABLE.values())
    assert sources == set(Activity)
    assert targets == set(Activity)


def _one_agent() -> Harness:
    h = Harness.of(config([queue()], [agent("a1")], workload=NO_WORKLOAD))
    return h


def _states(h: Harness, dimension: str) -> list[tuple[str, str]]:
    return [
        (c.old, c.new) for c in of_type(h.log, cmd.RecordAgentState) if c.dimension == dimension
    ]


def test_login_logout_records_presence_and_activity() -> None:
    """Logging in and out goes through presence and activity, each change recorded."""
    h = _one_agent()
    h.login("a1")
    h.at(5).send(ev.AgentLoggedOut, agent_id="a1")
    assert _states(h, "presence") == [("logged_out", "logged_in"), ("logged_in", "logged_out")]
    assert _states(h, "activity") == [("offline", "available"), ("available", "offline")]


def test_login_paused() -> None:
    """An advisor may log in paused with a reason."""
    h = _one_agent()
    h.send(ev.AgentLoggedIn, agent_id="a1", paused_reason="training")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason, view.routable) == (Activity.PAUSED, "training", False)


def test_double_login_is_illegal() -> None:
    """Logging in twice is refused with the advisor's id."""
    h = _one_agent()
    h.login("a1")
    with pytest.raises(IllegalTransitionError) as info:
        h.login("a1")
    assert info.value.entity_id == "a1"
    assert info.value.dimension == "presence"


def test_logout_during_call_is_illegal_and_changes_nothing() -> None:
    """An advisor ringing or on a call cannot log out; state is untouched."""
    h = _one_agent()
    h.login("a1")
    h.arrive("c1")
    with pytest.raises(IllegalTransitionError) as info:
        h.send(ev.AgentLoggedOut, agent_id="a1")
    assert (info.value.state, info.value.related_id) == ("reserved", "c1")
    assert h.engine.agent_view("a1").activity is Activity.RESERVED
    assert h.engine.call_view("c1").state is CallState.PRESENTED


def test_pause_and_ready() -> None:
    """Pause takes a reason; ready makes the advisor routable again."""
    h = _one_agent()
    h.login("a1")
    h.at(1).send(ev.AgentPaused, agent_id="a1", reason="lunch")
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason, view.routable) == (Activity.PAUSED, "lunch", False)
    h.at(2).send(ev.AgentPaused, agent_id="a1", reason="meeting")
    assert h.engine.agent_view("a1").reason == "meeting"
    h.at(3).send(ev.AgentReady, agent_id="a1")
    assert h.engine.is_routable("a1")


def test_pause_while_logged_out_is_illegal() -> None:
    """A logged-out advisor cannot pause."""
    h = _one_agent()
    with pytest.raises(IllegalTransitionError, match="'a1'"):
        h.send(ev.AgentPaused, agent_id="a1", reason="x")


def test_ready_while_available_is_a_no_op() -> None:
    """A repeated ready is a documented no-op."""
    h = _one_agent()
    h.login("a1")
    assert h.send(ev.AgentReady, agent_id="a1") == []


def test_phone_states_drive_routability() -> None:
    """Routable needs the phone idle; each device-state change is recorded once."""
    h = _one_agent()
    h.login("a1")
    for phone in (PhoneState.IN_USE, PhoneState.RINGING, PhoneState.UNREACHABLE):
        h.send(ev.PhoneStateChanged, agent_id="a1", phone=phone)
        assert not h.engine.is_routable("a1")
    assert h.send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.UNREACHABLE) == []
    h.send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IDLE)
    assert h.engine.is_routable("a1")
    assert _states(h, "phone")[-1] == ("unreachable", "idle")


def test_paused_advisor_personal_call_stays_paused() -> None:
    """A paused advisor who makes a personal call is still paused when it ends."""
    h = _one_agent()
    h.login("a1")
    h.send(ev.AgentPaused, agent_id="a1", reason="personal")
    h.at(1).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IN_USE)
    h.at(60).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IDLE)
    view = h.engine.agent_view("a1")
    assert (view.activity, view.reason, view.routable) == (Activity.PAUSED, "personal", False)
    h.arrive("c1")
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_available_advisor_on_personal_call_is_skipped_then_served() -> None:
    """An available advisor on a personal call gets no call; when the phone frees, they do."""
    h = _one_agent()
    h.login("a1")
    h.send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IN_USE)
    assert of_type(h.arrive("c1"), cmd.RingAgent) == []
    out = h.at(30).send(ev.PhoneStateChanged, agent_id="a1", phone=PhoneState.IDLE)
    assert [(r.call_id, r.agent_id) for r in of_type(out, cmd.RingAgent)] == [("c1", "a1")]


def test_full_call_walks_activity_states() -> None:
    """available -> reserved -> on_call -> wrap_up -> available, each recorded."""
    h = _one_agent()
    h.login("a1")
    h.at(1).arrive("c1")
    h.at(3).answer_and_end("c1", "a1")
    h.fire("wrap_up:a1:")
    assert _states(h, "activity") == [
        ("offline", "available"),
        ("available", "reserved"),
        ("reserved", "on_call"),
        ("on_call", "wrap_up"),
        ("wrap_up", "available"),
    ]


def test_wrap_up_ended_twice_is_illegal() -> None:
    """Ending wrap-up when not in wrap-up is refused with the advisor's id."""
    h = _one_agent()
    h.login("a1")
    with pytest.raises(IllegalTransitionError) as info:
        h.send(ev.WrapUpEnded, agent_id="a1")
    assert (info.value.entity_id, info.value.state, info.value.trigger) == (
        "a1",
        "available",
        "end_wrap_up",
    )
