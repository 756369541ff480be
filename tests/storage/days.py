"""Record streams produced by the real engine: a varied day, and a large one for load tests."""

from __future__ import annotations

from acd.core import events as ev
from acd.core.states import PhoneState
from tests.storage.engine_driver import EngineDriver, small_config


def varied_day(start: float = 1_780_000_000.0, prefix: str = "") -> EngineDriver:
    """Logins, a pause with a reason, answered, missed (NOANSWER), abandoned, transferred and
    dispositioned calls, and a logout: every kind of record the recorder handles."""
    d = EngineDriver(small_config(agents=("a1", "a2", "a3")), start)
    t = start
    d.at(t, ev.AgentLoggedIn, agent_id="a1")
    d.at(t, ev.AgentLoggedIn, agent_id="a2")
    d.at(t, ev.AgentLoggedIn, agent_id="a3", paused_reason="training")
    d.at(t + 1, ev.PhoneStateChanged, agent_id="a2", phone=PhoneState.IN_USE)
    d.at(t + 2, ev.PhoneStateChanged, agent_id="a2", phone=PhoneState.IDLE)
    # c1: answered by a1, dispositioned, ended.
    c1, c2, c3 = f"{prefix}c1", f"{prefix}c2", f"{prefix}c3"
    d.at(t + 10, ev.CallArrived, call_id=c1, queue="sales", caller_number="06 12 34 56 78")
    d.at(t + 14, ev.AgentAnswered, call_id=c1, agent_id="a1")
    d.at(t + 60, ev.DispositionSet, agent_id="a1", call_id=c1, disposition="sale")
    d.at(t + 74, ev.CallEnded, call_id=c1)
    # c2: presented to a2 who does not answer, then answered by a1 after wrap-up, transferred.
    d.at(t + 80, ev.CallArrived, call_id=c2, queue="sales", caller_number="+442079460000")
    presented = [r for r in d.records if getattr(r, "kind", "") == "presented"][-1]
    first = presented.agent_id
    assert first is not None
    d.at(t + 95, ev.AgentDidNotAnswer, call_id=c2, agent_id=first)
    second = [r for r in d.records if getattr(r, "kind", "") == "presented"][-1].agent_id
    assert second is not None
    assert second != first
    d.at(t + 100, ev.AgentAnswered, call_id=c2, agent_id=second)
    d.at(t + 160, ev.CallTransferred, call_id=c2, agent_id=second, target="2000")
    # c3: abandoned while nobody is free (a3 paused; a1/a2 busy or wrapping up).
    d.at(t + 161, ev.CallArrived, call_id=c3, queue="sales", caller_number="anonymous")
    d.at(t + 163, ev.CallerHungUp, call_id=c3)
    d.at(t + 300, ev.AgentPaused, agent_id="a2", reason="lunch")
    d.at(t + 400, ev.AgentReady, agent_id="a3")
    d.at(t + 500, ev.AgentLoggedOut, agent_id="a3")
    d.advance(t + 600)
    return d


def load_day(calls: int, start: float = 1_780_000_000.0) -> EngineDriver:
    """``calls`` calls, each answered and ended, over 20 advisors: about 12 rows a call."""
    agents = tuple(f"a{i}" for i in range(20))
    d = EngineDriver(small_config(agents=agents, wrap_up_s=1.0), start)
    for a in agents:
        d.at(start, ev.AgentLoggedIn, agent_id=a)
    t = start
    for i in range(calls):
        t += 1.0
        d.at(t, ev.CallArrived, call_id=f"load-{i}", queue="sales", caller_number="0612345678")
        presented = d.records[-1]
        agent = getattr(presented, "agent_id", None)
        assert agent is not None
        d.at(t + 0.5, ev.AgentAnswered, call_id=f"load-{i}", agent_id=agent)
        d.at(t + 0.9, ev.CallEnded, call_id=f"load-{i}")
    d.advance(t + 10)
    return d
