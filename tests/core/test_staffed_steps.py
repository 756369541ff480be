"""Empty-queue checks, expected waits and skipped steps count only advisors who can satisfy a
routing step the caller can still reach."""

from __future__ import annotations

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import EmptyPolicy
from acd.core.states import CallState, PhoneState

from .helpers import NO_WORKLOAD, Harness, agent, call_kinds, config, of_type, queue, rings

FRENCH = (("french>=4", 60.0), "french>=2")


def _centre(**queue_kw: object) -> Harness:
    """`expert` (french 5), `fluent` (french 2), `german` (no French: satisfies no step)."""
    kw: dict[str, object] = {"announce_interval_s": None, **queue_kw}
    steps = kw.pop("steps", FRENCH)
    assert isinstance(steps, tuple)
    return Harness.of(
        config(
            [queue("sales", *steps, **kw)],
            [
                agent("expert", skills={"french": 5}),
                agent("fluent", skills={"french": 2}),
                agent("german", skills={"german": 5}),
            ],
            workload=NO_WORKLOAD,
        )
    )


def test_join_when_empty_ignores_advisors_who_satisfy_no_reachable_step() -> None:
    """Only `german` is logged in: for a caller the queue is empty, so join-when-empty rejects."""
    h = _centre(join_when_empty=EmptyPolicy.NO_LOGGED_IN)
    h.login("german")
    out = h.arrive("c1")
    assert of_type(out, cmd.EndCall) == [cmd.EndCall("c1", "join_empty")]
    (summary,) = of_type(out, cmd.CallCompleted)
    assert summary.outcome.value == "rejected"


def test_leave_when_empty_when_the_last_able_advisor_stops_staffing() -> None:
    """The caller leaves when `fluent` goes unreachable although `german` is still staffed."""
    h = _centre(leave_when_empty=EmptyPolicy.NO_STAFFED)
    h.login("german", "fluent")
    h.arrive("c1")  # waits at step 0 (french>=4): fluent will do only from step 1
    assert h.engine.call_view("c1").state is CallState.WAITING
    out = h.at(5).send(ev.PhoneStateChanged, agent_id="fluent", phone=PhoneState.UNREACHABLE)
    assert of_type(out, cmd.EndCall) == [cmd.EndCall("c1", "leave_empty")]


def test_a_caller_relaxed_past_every_staffed_advisor_leaves() -> None:
    """Relaxing to a step no staffed advisor can satisfy (narrower skills) empties the queue."""
    h = _centre(steps=(("french>=2", 30.0), "french>=4"), leave_when_empty=EmptyPolicy.NO_STAFFED)
    h.login("fluent")
    h.arrive("first")
    h.send(ev.AgentAnswered, call_id="first", agent_id="fluent")  # staffed, busy
    h.arrive("c1")
    assert h.engine.call_view("c1").step == 0
    out = h.fire("relax:c1:")
    assert call_kinds(out, "c1")[:1] == ["relaxed"]
    assert cmd.EndCall("c1", "leave_empty") in of_type(out, cmd.EndCall)


def test_expected_wait_comes_from_advisors_who_can_serve_the_caller() -> None:
    """Two staffed advisors, one able: the estimate divides by one; with none, there is none."""
    h = _centre(expected_handle_s=100.0)
    h.login("german", "expert")
    h.arrive("first")  # expert takes it and stays busy
    h.send(ev.AgentAnswered, call_id="first", agent_id="expert")
    h.arrive("c1")
    assert h.engine.call_view("c1").expected_wait_s == 100.0
    h.send(ev.PhoneStateChanged, agent_id="expert", phone=PhoneState.UNREACHABLE)
    assert h.engine.call_view("c1").expected_wait_s is None


def test_the_prompt_says_no_wait_when_nobody_can_serve() -> None:
    """The announcement of a caller nobody staffed can serve carries no expected wait (0)."""
    h = _centre(announce_interval_s=15.0)
    h.login("german")
    h.arrive("c1")
    out = h.fire("announce:c1:")
    (prompt,) = of_type(out, cmd.PlayPrompt)
    assert (prompt.position, prompt.expected_wait_s) == (1, 0)


def test_skip_unstaffed_steps_moves_past_a_step_nobody_staffed_satisfies() -> None:
    """With only `fluent` staffed, the caller skips `french>=4` at once and is rung; without the
    setting, it waits the step's 60 s."""
    h = _centre(skip_unstaffed_steps=True)
    h.login("fluent")
    out = h.arrive("c1")
    assert rings(out) == [("c1", "fluent")]
    assert call_kinds(out, "c1") == ["offered", "relaxed", "presented"]
    relaxed = next(c for c in out if isinstance(c, cmd.RecordCallEvent) and c.kind == "relaxed")
    assert relaxed.data["reason"] == "unstaffed"
    plain = _centre()
    plain.login("fluent")
    assert rings(plain.arrive("c1")) == []
    assert rings(plain.fire("relax:c1:")) == [("c1", "fluent")]
    assert plain.t == 60.0


def test_skip_when_a_step_loses_its_last_staffed_advisor() -> None:
    """A caller waiting for the busy expert moves on the moment the expert stops staffing."""
    h = _centre(skip_unstaffed_steps=True)
    h.login("expert")
    h.arrive("first")
    h.send(ev.AgentAnswered, call_id="first", agent_id="expert")
    h.login("fluent")
    h.at(3).arrive("c1")
    assert h.engine.call_view("c1").step == 0  # expert staffs step 0, though busy
    out = h.at(4).send(ev.PhoneStateChanged, agent_id="expert", phone=PhoneState.UNREACHABLE)
    assert rings(out) == [("c1", "fluent")]
