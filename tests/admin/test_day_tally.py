"""An advisor's figures for the day: answered calls, talk time, breathers, recoveries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from acd.admin import DayTally
from acd.core.commands import CallCompleted, RecordAgentState
from acd.core.states import Outcome

PARIS = ZoneInfo("Europe/Paris")


def at(hour: int, minute: int, day: int = 27) -> float:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=PARIS).timestamp()


def completed(agent_id: str | None, outcome: Outcome, talk_s: float) -> CallCompleted:
    return CallCompleted(
        call_id="c1",
        queue="q",
        first_queue="q",
        priority=0,
        caller_number="",
        caller_name="",
        linked_id="",
        offered_at=0.0,
        presented_at=None,
        answered_at=None,
        ended_at=0.0,
        agent_id=agent_id,
        agents_tried=(),
        outcome=outcome,
        reason="",
        wait_s=0.0,
        talk_s=talk_s,
        wrap_up_s=0.0,
        disposition=None,
        transferred_to=None,
        overflow_target=None,
        answered_within_sl=True,
    )


def test_answered_calls_breathers_and_recoveries_are_counted() -> None:
    """Answered calls add to calls and talk time; breathers and recoveries are counted apart."""
    tally = DayTally("Europe/Paris")
    tally.record(completed("a1", Outcome.ANSWERED, 120.0), at(10, 0))
    tally.record(completed("a1", Outcome.ANSWERED, 30.0), at(10, 5))
    tally.record(completed(None, Outcome.ABANDONED, 0.0), at(10, 6))
    tally.record(RecordAgentState("a1", "activity", "wrap_up", "breather", None, 0), at(10, 7))
    tally.record(RecordAgentState("a1", "activity", "available", "recovery", None, 0), at(11, 0))
    tally.record(RecordAgentState("a1", "phone", "idle", "in_use", None, 0), at(11, 1))
    day = tally.advisor("a1", at(12, 0))
    assert (day.calls, day.talk_s, day.breathers, day.recoveries) == (2, 150.0, 1, 1)
    assert tally.advisor("a2", at(12, 0)).calls == 0


def test_the_day_starts_again_at_local_midnight() -> None:
    """Figures of the evening before are gone after midnight in the centre's time zone."""
    tally = DayTally("Europe/Paris")
    tally.record(completed("a1", Outcome.ANSWERED, 60.0), at(23, 50))
    assert tally.advisor("a1", at(23, 59)).calls == 1
    assert tally.advisor("a1", at(0, 1, day=28)).calls == 0
    tally.record(completed("a1", Outcome.ANSWERED, 10.0), at(0, 2, day=28))
    assert tally.advisor("a1", at(8, 0, day=28)).talk_s == 10.0
