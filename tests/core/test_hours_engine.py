"""The engine and opening hours: closed queues, last entry, closing time, closed actions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.calendar import CentreCalendar, DayException, Opening, Schedule, TimeRange, opening_at
from acd.core.config import AcdConfig, AtClose, OverflowTarget
from acd.core.states import Activity, Outcome
from tests.core.helpers import (
    NO_WORKLOAD,
    Harness,
    agent,
    call_kinds,
    config,
    of_type,
    queue,
    rings,
)

PARIS = ZoneInfo("Europe/Paris")
CENTRE = CentreCalendar(zone=PARIS, holidays={dt.date(2026, 12, 25): "Noël"})
DAY = (TimeRange(510, 1080),)  # 08:30-18:00
OFFICE = Schedule(
    "bureau",
    week=(DAY,) * 5 + ((), ()),
    exceptions=(DayException(dt.date(2026, 12, 24), closed_from=16 * 60, label="Veille"),),
)


def paris(*args: int) -> float:
    return dt.datetime(*args, tzinfo=PARIS).timestamp()


def office(**queue_kw: object) -> AcdConfig:
    return config(
        [
            queue("sales", schedule="bureau", **queue_kw),  # type: ignore[arg-type]
            queue("night"),
        ],
        [agent("a1", ["sales", "night"])],
        workload=NO_WORKLOAD,
        schedules=(OFFICE,),
    )


def post_hours(h: Harness, name: str = "sales") -> Opening:
    """What the runtime does at each transition: evaluate the schedule and tell the engine."""
    cfg = h.engine.config
    q = cfg.queue(name)
    assert q is not None
    opening = opening_at(
        cfg.schedule(q.schedule), CENTRE, h.t, last_entry_s=q.last_entry_before_close_s
    )
    h.send(ev.QueueHoursChanged, queue=name, opening=opening)
    return opening


def completed(h: Harness, call_id: str) -> cmd.CallCompleted:
    found = [c for c in of_type(h.log, cmd.CallCompleted) if c.call_id == call_id]
    assert len(found) == 1
    return found[0]


def test_one_second_before_and_after_closing() -> None:
    """17:59:59 is offered and rung; 18:00:00 hears the closed message with tomorrow's opening."""
    h = Harness.of(office()).at(paris(2026, 12, 1, 17, 59, 59))
    post_hours(h)
    h.login("a1")
    assert rings(h.arrive("c1")) == [("c1", "a1")]
    h.at(paris(2026, 12, 1, 18, 0, 0))
    post_hours(h)
    out = h.arrive("c2")
    assert rings(out) == []
    [end] = of_type(out, cmd.EndCall)
    assert (end.reason, end.closed_message) == ("closed", True)
    assert end.reopens_at == paris(2026, 12, 2, 8, 30)
    summary = completed(h, "c2")
    assert (summary.outcome, summary.answered_within_sl) == (Outcome.CLOSED, False)
    view = h.engine.queue_view("sales")
    assert (view.offered, view.closed_callers, view.abandoned) == (1, 1, 0)
    assert call_kinds(h.log, "c2") == ["closed"]


def test_closed_record_says_why() -> None:
    """A caller on Christmas Day is recorded as closed because of the holiday, by its name."""
    h = Harness.of(office()).at(paris(2026, 12, 25, 10, 0))
    post_hours(h)
    h.arrive("c1")
    [record] = [c for c in of_type(h.log, cmd.RecordCallEvent) if c.call_id == "c1"]
    assert (record.kind, record.data["reason"], record.data["detail"]) == (
        "closed",
        "holiday",
        "Noël",
    )
    assert record.data["reopens_at"] == paris(2026, 12, 28, 8, 30)


def test_last_entry_turns_newcomers_away_and_serves_those_waiting() -> None:
    """Last entry 900 s: 17:44:59 joins, 17:45:00 is turned away; at 18:00 c1 still waits."""
    h = Harness.of(office(last_entry_before_close_s=900)).at(paris(2026, 12, 1, 17, 0))
    post_hours(h)
    h.at(paris(2026, 12, 1, 17, 44, 59))
    h.arrive("c1")  # nobody logged in: waits
    h.at(paris(2026, 12, 1, 17, 45, 0))
    assert post_hours(h).reason.value == "last_entry"
    h.arrive("c2")
    assert completed(h, "c2").outcome is Outcome.CLOSED
    h.at(paris(2026, 12, 1, 18, 0))
    post_hours(h)  # closing, at_close = serve
    assert [c.call_id for c in h.engine.queue_view("sales").waiting] == ["c1"]
    h.at(paris(2026, 12, 1, 18, 5))
    assert rings(h.login("a1")) == [("c1", "a1")]


def test_at_close_overflow_sends_waiting_callers_on() -> None:
    """at_close = overflow: callers waiting at closing leave for the overflow target."""
    target = OverflowTarget.parse("extension:voicemail@acd")
    h = Harness.of(office(at_close=AtClose.OVERFLOW, overflow=target)).at(
        paris(2026, 12, 24, 15, 50)
    )
    post_hours(h)
    h.arrive("c1")
    h.at(paris(2026, 12, 24, 16, 0))
    post_hours(h)  # closed from 16:00 that day
    [overflow] = of_type(h.log, cmd.OverflowCall)
    assert (overflow.call_id, overflow.target, overflow.reason) == (
        "c1",
        "extension:voicemail@acd",
        "at_close",
    )
    assert completed(h, "c1").outcome is Outcome.OVERFLOWED


def test_at_close_overflow_without_target_uses_the_closed_action() -> None:
    """at_close = overflow and no overflow target: the closed message, outcome closed."""
    h = Harness.of(office(at_close=AtClose.OVERFLOW)).at(paris(2026, 12, 1, 17, 50))
    post_hours(h)
    h.arrive("c1")
    h.at(paris(2026, 12, 1, 18, 0))
    post_hours(h)
    [end] = of_type(h.log, cmd.EndCall)
    assert (end.call_id, end.reason, end.closed_message) == ("c1", "at_close", True)
    assert completed(h, "c1").outcome is Outcome.CLOSED


def test_closed_actions_voicemail_and_another_queue() -> None:
    """closed = extension:... overflows out of the engine; closed = queue:night offers it there."""
    h = Harness.of(office(closed=OverflowTarget.parse("extension:vm@acd"))).at(
        paris(2026, 12, 6, 11, 0)
    )
    post_hours(h)
    out = h.arrive("c1")
    assert [(o.target, o.reason) for o in of_type(out, cmd.OverflowCall)] == [
        ("extension:vm@acd", "closed")
    ]
    assert completed(h, "c1").outcome is Outcome.CLOSED

    h2 = Harness.of(office(closed=OverflowTarget.parse("queue:night"))).at(
        paris(2026, 12, 6, 11, 0)
    )
    post_hours(h2)
    h2.login("a1")
    out = h2.arrive("c2")
    assert rings(out) == [("c2", "a1")]
    assert h2.engine.queue_view("night").offered == 1
    assert h2.engine.queue_view("sales").closed_callers == 1


def test_advisors_are_not_forced_out_at_closing() -> None:
    """A conversation in progress at closing goes on; the advisor stays logged in and available."""
    h = Harness.of(office(at_close=AtClose.OVERFLOW)).at(paris(2026, 12, 1, 17, 55))
    post_hours(h)
    h.login("a1")
    h.arrive("c1")
    h.send(ev.AgentAnswered, call_id="c1", agent_id="a1")
    h.at(paris(2026, 12, 1, 18, 0))
    out = post_hours(h)
    assert not out.open
    assert of_type(h.log, cmd.OverflowCall) == []
    assert h.engine.agent_view("a1").activity is Activity.ON_CALL
    h.at(paris(2026, 12, 1, 18, 10))
    h.send(ev.CallEnded, call_id="c1")
    assert h.engine.agent_view("a1").activity is Activity.WRAP_UP


def test_reload_that_changes_the_schedule_while_callers_wait() -> None:
    """A reload keeps the hours until the runtime re-evaluates; the new ones then apply to
    newcomers, and callers already waiting keep their place (at_close = serve)."""
    h = Harness.of(office()).at(paris(2026, 12, 1, 16, 0))
    post_hours(h)
    h.arrive("c1")
    h.arrive("c2")
    early = Schedule("bureau", week=((TimeRange(510, 900),),) * 5 + ((), ()))  # until 15:00
    cfg = h.engine.config
    new = AcdConfig(queues=cfg.queues, agents=cfg.agents, workload=cfg.workload, schedules=(early,))
    h.send(ev.ConfigChanged, config=new)
    assert h.engine.queue_view("sales").hours.open  # not re-evaluated yet
    post_hours(h)
    assert not h.engine.queue_view("sales").hours.open
    assert [c.call_id for c in h.engine.queue_view("sales").waiting] == ["c1", "c2"]
    h.arrive("c3")
    assert completed(h, "c3").outcome is Outcome.CLOSED


def test_emergency_closure_and_reopening() -> None:
    """An emergency closure turns callers away with no reopening time; reopening takes them."""
    h = Harness.of(office()).at(paris(2026, 12, 1, 10, 0))
    h.send(
        ev.QueueHoursChanged,
        queue="sales",
        opening=opening_at(OFFICE, CENTRE, h.t, emergency="exercice incendie"),
    )
    [end] = of_type(h.arrive("c1"), cmd.EndCall)
    assert (end.closed_message, end.reopens_at) == (True, None)
    h.at(paris(2026, 12, 1, 10, 30))
    post_hours(h)
    h.login("a1")
    assert rings(h.arrive("c2")) == [("c2", "a1")]


def test_day_rollover_resets_closed_callers() -> None:
    """The closed-callers counter is a daily counter like the others."""
    h = Harness.of(office()).at(paris(2026, 12, 5, 20, 0))
    post_hours(h)
    h.arrive("c1")
    assert h.engine.queue_view("sales").closed_callers == 1
    h.at(paris(2026, 12, 6, 0, 0))
    h.send(ev.DayRolledOver)
    assert h.engine.queue_view("sales").closed_callers == 0
