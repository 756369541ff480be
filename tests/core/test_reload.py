"""Hot reload (ConfigChanged): waiting callers keep their place; refused changes change nothing."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import Policy
from acd.core.errors import ConfigError
from acd.core.states import Activity, CallState, Presence

from .helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue, rings


def _base() -> Harness:
    cfg = config([queue("sales")], [agent("a1"), agent("a2")], workload=NO_WORKLOAD)
    return Harness.of(cfg)


def test_waiting_calls_keep_their_place() -> None:
    """After a reload the waiting calls keep their order and positions."""
    h = _base()
    for i in range(3):
        h.at(i).arrive(f"c{i}")
    new = config(
        [queue("sales", policy=Policy.BEST_SKILL)], [agent("a1"), agent("a2")], workload=NO_WORKLOAD
    )
    h.at(10).send(ev.ConfigChanged, config=new)
    assert [c.call_id for c in h.engine.queue_view("sales").waiting] == ["c0", "c1", "c2"]
    assert rings(h.login("a1")) == [("c0", "a1")]


def test_reload_recomputes_routing_step_from_waited_time() -> None:
    """A call keeps its waiting time: after reload it is at the step its wait reaches."""
    h = _base()
    h.at(0).arrive("c1")
    new = config(
        [queue("sales", ("special>=3", 20.0), ("special>=1", 20.0), "any")],
        [agent("a1", skills={"special": 3}), agent("a2")],
        workload=NO_WORKLOAD,
    )
    h.at(25).send(ev.ConfigChanged, config=new)
    view = h.engine.call_view("c1")
    assert (view.step, view.step_expression) == (1, "special>=1")
    assert h.due(h.timer("relax:c1:")) == 40


def test_reload_adding_an_advisor_serves_waiting_calls() -> None:
    """A new advisor, once logged in, takes the waiting call; skills changes take effect."""
    h = _base()
    h.arrive("c1")
    new = config([queue("sales")], [agent("a1"), agent("a2"), agent("a3")], workload=NO_WORKLOAD)
    h.at(1).send(ev.ConfigChanged, config=new)
    assert rings(h.login("a3")) == [("c1", "a3")]


def test_reload_makes_idle_advisor_eligible() -> None:
    """An idle advisor who becomes eligible through the reload is rung in the same dispatch."""
    h = Harness.of(
        config(
            [queue("sales", "french>=3"), queue("other")],
            [agent("fr", ("sales",), {"french": 3}), agent("x", ("other",))],
            workload=NO_WORKLOAD,
        )
    )
    h.login("x")
    h.arrive("c1")
    new = config(
        [queue("sales", "french>=3"), queue("other")],
        [agent("fr", ("sales",), {"french": 3}), agent("x", ("other", "sales"), {"french": 4})],
        workload=NO_WORKLOAD,
    )
    out = h.at(1).send(ev.ConfigChanged, config=new)
    assert rings(out) == [("c1", "x")]


def test_removing_busy_advisor_is_refused_and_changes_nothing() -> None:
    """Removing an advisor who is on a call is refused; the old config stays in force."""
    h = _base()
    h.login("a1")
    h.arrive("c1")
    old = h.engine.config
    with pytest.raises(ConfigError, match=r"agents\[a1\].*'c1'"):
        h.send(ev.ConfigChanged, config=config([queue("sales")], [agent("a2")]))
    assert h.engine.config is old
    assert h.engine.agent_view("a1").activity is Activity.RESERVED


def test_removing_idle_advisor_logs_them_out() -> None:
    """An idle advisor removed by a reload is logged out (recorded)."""
    h = _base()
    h.login("a1", "a2")
    out = h.at(5).send(ev.ConfigChanged, config=config([queue("sales")], [agent("a2")]))
    assert ("a1", "presence", "logged_in", "logged_out") in [
        (c.agent_id, c.dimension, c.old, c.new) for c in of_type(out, cmd.RecordAgentState)
    ]
    assert h.engine.agent_view("a2").presence is Presence.LOGGED_IN


def test_removing_queue_with_calls_is_refused() -> None:
    """A queue holding calls cannot be removed."""
    h = Harness.of(config([queue("sales"), queue("other")], [agent("a1", ("sales", "other"))]))
    h.arrive("c1", "other")
    with pytest.raises(ConfigError, match=r"queues\[other\]"):
        h.send(ev.ConfigChanged, config=config([queue("sales")], [agent("a1")]))
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_connected_call_survives_reload() -> None:
    """A call in conversation continues across a reload and completes normally."""
    h = _base()
    h.login("a1")
    h.arrive("c1")
    h.at(1).send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(2).send(
        ev.ConfigChanged, config=config([queue("sales", wrap_up_s=3)], [agent("a1"), agent("a2")])
    )
    h.at(30).send(ev.CallEnded, call_id="c1")
    assert h.due(h.timer("wrap_up:a1:")) == 35  # new wrap-up 3 s, raised to the 5 s minimum


def test_reload_removing_a_steps_last_advisor_judges_callers_by_the_new_steps() -> None:
    """A reload that removes the only advisor of a caller's step (skip_unstaffed_steps) presents
    the caller by the new configuration's steps, never by a step the reload removed."""
    wrap = 30.0
    old = config(
        [queue("sales", ("fr>=4", 60.0), ("fr>=2", 60.0), "any", skip_unstaffed_steps=True)],
        [agent("a1", skills={"fr": 5}), agent("a2", skills={"fr": 1})],
        workload=NO_WORKLOAD,
    )
    h = Harness.of(old)
    h.login("a1")
    h.at(1).arrive("c1")
    h.answer_and_end("c1", "a1", talk=10)  # a1 in wrap-up: still staffs step 0, not free
    h.login("a2")
    h.at(12).arrive("c2")  # waits at step 0: only a1 satisfies it
    assert h.engine.call_view("c2").step == 0
    new = config(
        [queue("sales", "any", wrap_up_s=wrap)],
        [agent("a2", skills={"fr": 1})],
        workload=NO_WORKLOAD,
    )
    out = h.at(13).send(ev.ConfigChanged, config=new)
    presented = [c for c in out if isinstance(c, cmd.RecordCallEvent) and c.kind == "presented"]
    assert [(c.call_id, c.agent_id, c.data["step"]) for c in presented] == [("c2", "a2", 0)]
    assert not [c for c in out if isinstance(c, cmd.RecordCallEvent) and c.kind == "relaxed"]
