"""DayRolledOver: the queues' daily counters start again; nothing live is touched."""

from __future__ import annotations

import dataclasses

import pytest

from acd.core import events as ev
from acd.core.errors import EventOutOfOrderError
from acd.core.snapshots import EngineSnapshot
from acd.core.states import Activity, CallState

from .helpers import Harness, agent, config, queue

DAY = 86_400.0
COUNTERS = ("offered", "answered", "abandoned", "answered_within_sl", "short_abandons")


def _harness() -> Harness:
    return Harness.of(
        config(
            [queue("sales", wrap_up_s=10), queue("billing", wrap_up_s=10)],
            [agent("a1", queues=("sales", "billing"))],
        )
    )


def _counters(h: Harness, name: str = "sales") -> tuple[int, ...]:
    view = h.engine.queue_view(name)
    return tuple(getattr(view, c) for c in COUNTERS)


def _without_counters(snap: EngineSnapshot) -> EngineSnapshot:
    reset = dict.fromkeys(COUNTERS, 0) | {
        "service_level": None,
        "counters_since": 0.0,
        "answered_waits": None,
        "abandoned_waits": None,
    }
    return dataclasses.replace(
        snap,
        queues=tuple(dataclasses.replace(q, **reset) for q in snap.queues),
        centre=None,
    )


def _busy_day(h: Harness) -> None:
    """Two calls answered at once (one still talking), a short and a long abandon, one waiting."""
    h.login("a1")
    h.at(DAY - 600).arrive("served")
    h.answer_and_end("served", "a1", talk=60)
    h.fire("wrap_up:a1:")
    h.at(DAY - 500).arrive("short")
    h.at(DAY - 498).arrive("long")
    h.at(DAY - 497).send(ev.CallerHungUp, call_id="short")
    h.at(DAY - 400).send(ev.CallerHungUp, call_id="long")
    h.at(DAY - 100).arrive("talking")
    h.send(ev.AgentAnswered, call_id="talking", agent_id="a1")
    h.at(DAY - 50).arrive("waiting")


def test_counters_start_again_and_the_new_day_is_stamped() -> None:
    """After the rollover every daily counter is zero and counters_since is the rollover time."""
    h = _harness()
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=60)
    h.at(100).arrive("c2", "billing")
    h.at(103).send(ev.CallerHungUp, call_id="c2")
    assert _counters(h) == (1, 1, 0, 1, 0)
    assert _counters(h, "billing") == (1, 0, 1, 0, 1)
    assert h.at(DAY).send(ev.DayRolledOver) == []
    for name in ("sales", "billing"):
        view = h.engine.queue_view(name)
        assert _counters(h, name) == (0, 0, 0, 0, 0)
        assert (view.service_level, view.counters_since) == (None, DAY)


def test_live_calls_advisors_occupancy_and_timers_are_untouched() -> None:
    """Only the counters change: calls, advisors, occupancy windows and timers stay as they were."""
    h = _harness()
    h.login("a1")
    h.arrive("c1")
    h.answer_and_end("c1", "a1", talk=600)
    h.at(h.t + 1).arrive("c2")  # waits: a1 is in wrap-up
    h.send(ev.CallArrived, call_id="c3", queue="sales", priority=1)
    before = h.engine.snapshot(at=DAY)
    timers = h.engine.pending_timers()
    calls = h.engine.live_calls(at=DAY)
    occupancy = h.engine.occupancy("a1", at=DAY)
    h.at(DAY).send(ev.DayRolledOver)
    after = h.engine.snapshot()
    assert _without_counters(after) == _without_counters(before)
    assert h.engine.pending_timers() == timers
    assert h.engine.live_calls() == calls
    assert h.engine.occupancy("a1") == occupancy
    assert [c.call_id for c in after.queues[0].waiting] == ["c3", "c2"]


def test_a_call_waiting_at_midnight_counts_in_the_new_day() -> None:
    """A call still waiting is offered in the new day, so its answer keeps the figures whole."""
    h = _harness()
    _busy_day(h)
    assert _counters(h) == (5, 2, 2, 2, 1)
    h.at(DAY).send(ev.DayRolledOver)
    assert _counters(h) == (1, 0, 0, 0, 0)  # "waiting"; "talking" was answered yesterday
    h.at(DAY + 30).send(ev.CallEnded, call_id="talking")
    h.fire("wrap_up:a1:")  # a1 free: takes "waiting"
    h.send(ev.AgentAnswered, call_id="waiting", agent_id="a1")
    view = h.engine.queue_view("sales")
    assert _counters(h) == (1, 1, 0, 0, 0)  # answered after 90 s: outside the 20 s threshold
    assert view.service_level == 0
    centre = h.engine.snapshot().centre  # the centre's new day counts it the same way
    assert (centre.offered, centre.answered, centre.service_level) == (1, 1, 0)


def test_a_call_ringing_at_midnight_counts_in_the_new_day() -> None:
    """A call being presented at the rollover is offered in the new day; its abandon counts."""
    h = _harness()
    h.login("a1")
    h.at(DAY - 2).arrive("c1")
    assert h.engine.call_view("c1").state is CallState.PRESENTED
    h.at(DAY).send(ev.DayRolledOver)
    h.at(DAY + 1).send(ev.CallerHungUp, call_id="c1")
    assert _counters(h) == (1, 0, 1, 0, 1)
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE


def test_reload_keeps_the_counters_day() -> None:
    """A reload keeps the counters and the day they started; a new queue starts at the reload."""
    h = _harness()
    h.login("a1")
    h.arrive("c1")
    h.at(DAY).send(ev.DayRolledOver)
    cfg = config(
        [queue("sales", wrap_up_s=10), queue("billing"), queue("claims")],
        [agent("a1", queues=("sales", "billing", "claims"))],
    )
    h.at(DAY + 10).send(ev.ConfigChanged, config=cfg)
    assert h.engine.queue_view("sales").counters_since == DAY
    assert (_counters(h), h.engine.queue_view("claims").counters_since) == (
        (1, 0, 0, 0, 0),
        DAY + 10,
    )


def test_a_rollover_in_the_past_is_refused() -> None:
    """DayRolledOver obeys event order like any other event; the counters stay."""
    h = _harness()
    h.login("a1")
    h.at(100).arrive("c1")
    with pytest.raises(EventOutOfOrderError):
        h.at(50).send(ev.DayRolledOver)
    assert _counters(h) == (1, 0, 0, 0, 0)
    assert h.engine.queue_view("sales").counters_since == 0
