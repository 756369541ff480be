"""Every activity transition, driven through the engine by the events that cause it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import WorkloadPolicy
from acd.core.states import ACTIVITY_TABLE

from .helpers import Harness, agent, config, of_type, queue

WORKLOAD = WorkloadPolicy(
    occupancy_cap=0.5, window_s=600, bucket_s=60, breather_s=60, min_wrap_up_s=5
)


def _h(max_missed: int = 3) -> Harness:
    cfg = config([queue(wrap_up_s=10)], [agent("a1", max_missed=max_missed)], workload=WORKLOAD)
    h = Harness.of(cfg)
    return h


def _available(h: Harness) -> None:
    h.login("a1")


def _reserved(h: Harness) -> None:
    h.login("a1")
    h.arrive("c1")


def _on_call(h: Harness) -> None:
    _reserved(h)
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")


def _wrap_up(h: Harness, talk: float = 30) -> None:
    _on_call(h)
    h.t += talk
    h.send(ev.CallEnded, call_id="c1")


def _paused(h: Harness) -> None:
    h.login("a1")
    h.send(ev.AgentPaused, agent_id="a1", reason="x")


def _breather(h: Harness) -> None:
    _wrap_up(h, talk=400)
    h.fire("wrap_up:a1:")


def _recovery(h: Harness) -> None:
    h.login("a1")
    h.send(ev.RecoveryPauseRequested, agent_id="a1")


def _paused_over_cap(h: Harness) -> None:
    _breather(h)
    h.send(ev.AgentPaused, agent_id="a1", reason="x")


def _recovery_over_cap(h: Harness) -> None:
    _breather(h)
    h.send(ev.RecoveryPauseRequested, agent_id="a1")


def _logged_out_over_cap(h: Harness) -> None:
    _breather(h)
    h.send(ev.AgentLoggedOut, agent_id="a1")


def _send(event: type, **kw: object) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.send(event, **kw)

    return act


def _later(seconds: float, event: type, **kw: object) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.t += seconds
        h.send(event, **kw)

    return act


def _fire(prefix: str) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.fire(prefix)

    return act


def _pause_then_miss(h: Harness) -> None:
    h.send(ev.AgentPaused, agent_id="a1", reason="x")
    h.send(ev.AgentDidNotAnswer, call_id="c1", agent_id="a1")


A1 = {"agent_id": "a1"}
NOANSWER = {"call_id": "c1", "agent_id": "a1"}

# (setup, action, expected (old, new) of the last activity record, max_missed)
CASES: dict[
    str, tuple[Callable[[Harness], None], Callable[[Harness], None], tuple[str, str], int]
] = {
    "offline-log_in": (lambda h: None, _send(ev.AgentLoggedIn, **A1), ("offline", "available"), 3),
    "offline-log_in_paused": (
        lambda h: None,
        _send(ev.AgentLoggedIn, agent_id="a1", paused_reason="training"),
        ("offline", "paused"),
        3,
    ),
    "available-log_out": (_available, _send(ev.AgentLoggedOut, **A1), ("available", "offline"), 3),
    "paused-log_out": (_paused, _send(ev.AgentLoggedOut, **A1), ("paused", "offline"), 3),
    "wrap_up-log_out": (_wrap_up, _send(ev.AgentLoggedOut, **A1), ("wrap_up", "offline"), 3),
    "breather-log_out": (_breather, _send(ev.AgentLoggedOut, **A1), ("breather", "offline"), 3),
    "recovery-log_out": (_recovery, _send(ev.AgentLoggedOut, **A1), ("recovery", "offline"), 3),
    "available-reserve": (
        _available,
        _send(ev.CallArrived, call_id="c9", queue="sales"),
        ("available", "reserved"),
        3,
    ),
    "reserved-release": (
        _reserved,
        _send(ev.AgentDidNotAnswer, **NOANSWER),
        ("reserved", "available"),
        3,
    ),
    "reserved-miss_limit": (
        _reserved,
        _send(ev.AgentDidNotAnswer, **NOANSWER),
        ("reserved", "paused"),
        1,
    ),
    "reserved-pause": (_reserved, _pause_then_miss, ("reserved", "paused"), 3),
    "reserved-answer": (_reserved, _send(ev.AgentAnswered, **NOANSWER), ("reserved", "on_call"), 3),
    "on_call-end_call": (_on_call, _send(ev.CallEnded, call_id="c1"), ("on_call", "wrap_up"), 3),
    "wrap_up-end_wrap_up": (_wrap_up, _later(6, ev.WrapUpEnded, **A1), ("wrap_up", "available"), 3),
    "wrap_up-breathe": (
        lambda h: _wrap_up(h, 400),
        _fire("wrap_up:a1:"),
        ("wrap_up", "breather"),
        3,
    ),
    "wrap_up-pause": (
        _wrap_up,
        _send(ev.AgentPaused, agent_id="a1", reason="x"),
        ("wrap_up", "paused"),
        3,
    ),
    "wrap_up-recover": (
        _wrap_up,
        _send(ev.RecoveryPauseRequested, **A1),
        ("wrap_up", "recovery"),
        3,
    ),
    "available-pause": (
        _available,
        _send(ev.AgentPaused, agent_id="a1", reason="x"),
        ("available", "paused"),
        3,
    ),
    "available-recover": (
        _available,
        _send(ev.RecoveryPauseRequested, **A1),
        ("available", "recovery"),
        3,
    ),
    "available-breathe": (
        _logged_out_over_cap,
        _send(ev.AgentLoggedIn, **A1),
        ("offline", "available"),
        3,
    ),
    "paused-pause": (
        _paused,
        _send(ev.AgentPaused, agent_id="a1", reason="y"),
        ("paused", "paused"),
        3,
    ),
    "paused-ready": (_paused, _send(ev.AgentReady, **A1), ("paused", "available"), 3),
    "paused-breathe": (_paused_over_cap, _send(ev.AgentReady, **A1), ("paused", "breather"), 3),
    "breather-ready": (_breather, _later(600, ev.AgentReady, **A1), ("breather", "available"), 3),
    "breather-breathe": (_breather, _fire("breather:a1:"), ("breather", "breather"), 3),
    "breather-pause": (
        _breather,
        _send(ev.AgentPaused, agent_id="a1", reason="x"),
        ("breather", "paused"),
        3,
    ),
    "breather-recover": (
        _breather,
        _send(ev.RecoveryPauseRequested, **A1),
        ("breather", "recovery"),
        3,
    ),
    "recovery-ready": (_recovery, _send(ev.AgentReady, **A1), ("recovery", "available"), 3),
    "recovery-breathe": (
        _recovery_over_cap,
        _send(ev.AgentReady, **A1),
        ("recovery", "breather"),
        3,
    ),
    "recovery-pause": (
        _recovery,
        _send(ev.AgentPaused, agent_id="a1", reason="x"),
        ("recovery", "paused"),
        3,
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_activity_transition_through_the_engine(name: str) -> None:
    """The event that triggers this table entry produces exactly this recorded transition."""
    setup, action, expected, max_missed = CASES[name]
    h = _h(max_missed)
    setup(h)
    before = len(h.log)
    action(h)
    records = [
        (c.old, c.new)
        for c in of_type(h.log[before:], cmd.RecordAgentState)
        if c.dimension == "activity"
    ]
    assert records, name
    assert records[0] == expected
    if name == "available-breathe":
        assert records[1] == ("available", "breather")


def test_every_table_entry_has_an_engine_case() -> None:
    """Each (state, trigger) of the activity table is driven by one case above."""
    covered = {tuple(name.split("-", 1)) for name in CASES}
    assert covered == {(s.value, t) for s, t in ACTIVITY_TABLE}
