"""The callback leg's transition table, fed AGI replies and AMI records by hand (no sockets)."""

from __future__ import annotations

import pytest

from acd.asterisk.agi_codec import parse_reply_line
from acd.asterisk.call_leg import (
    AgiReplied,
    ChannelHungUp,
    CloseSession,
    LegMisuseError,
    PostEvent,
    SendAgi,
    SessionLost,
)
from acd.asterisk.callback_leg import (
    TRANSITIONS,
    CallbackLeg,
    CallbackOutput,
    CallbackPhase,
    CallbackSpec,
    CustomerAnswered,
    OriginateFailed,
    SessionOpened,
)
from acd.core import events as ev

SPEC = CallbackSpec(
    call_id="cb1",
    agent_id="a1",
    number="+33612345678",
    dial_string="PJSIP/0612345678@trunk",
    caller_id='"Centre" <0140000000>',
    ring_timeout_s=30,
)


def lines(outputs: list[CallbackOutput]) -> list[str]:
    return [o.line for o in outputs if isinstance(o, SendAgi)]


def events(outputs: list[CallbackOutput]) -> list[ev.Event]:
    return [o.event for o in outputs if isinstance(o, PostEvent)]


def reply(leg: CallbackLeg, text: str = "200 result=0") -> list[CallbackOutput]:
    return leg.handle(AgiReplied(parse_reply_line(text)), 1.0)


def briefed() -> CallbackLeg:
    """A leg whose advisor answered and heard the briefing; the Dial is in flight."""
    leg = CallbackLeg(SPEC)
    assert lines(leg.handle(SessionOpened(), 1.0)) == ['STREAM FILE acd-callback-advisor ""']
    assert lines(reply(leg)) == ['SAY DIGITS 33612345678 ""']
    assert lines(reply(leg)) == ['SET VARIABLE CALLERID(all) "\\"Centre\\" <0140000000>"']
    assert lines(reply(leg, "200 result=1")) == [
        'EXEC Dial "PJSIP/0612345678@trunk,30,U(acd-callback-greeting)"'
    ]
    assert leg.phase is CallbackPhase.DIALING
    return leg


def test_customer_answers_then_the_conversation_ends() -> None:
    """DialEnd ANSWER posts AgentAnswered; the Dial's return posts CallEnded, then HANGUP."""
    leg = briefed()
    assert events(leg.handle(CustomerAnswered(), 2.0)) == [
        ev.AgentAnswered(at=2.0, call_id="cb1", agent_id="a1")
    ]
    assert lines(reply(leg, "200 result=-1")) == ["GET VARIABLE DIALSTATUS"]
    out = leg.handle(AgiReplied(parse_reply_line("200 result=1 (ANSWER)")), 60.0)
    assert events(out) == [ev.CallEnded(at=60.0, call_id="cb1")]
    assert lines(out) == ['SET VARIABLE ACD_STATE "done"']
    assert lines(reply(leg, "200 result=1")) == ["HANGUP"]
    assert any(isinstance(o, CloseSession) for o in reply(leg, "200 result=1"))


def test_answer_known_only_from_dialstatus_is_still_told() -> None:
    """Without AMI's DialEnd, DIALSTATUS=ANSWER posts AgentAnswered then CallEnded."""
    leg = briefed()
    reply(leg, "200 result=-1")
    out = leg.handle(AgiReplied(parse_reply_line("200 result=1 (ANSWER)")), 9.0)
    assert [type(e) for e in events(out)] == [ev.AgentAnswered, ev.CallEnded]


@pytest.mark.parametrize(
    ("status", "reason"),
    [("BUSY", "busy"), ("NOANSWER", "no_answer"), ("CHANUNAVAIL", "unreachable")],
)
def test_customer_not_reached_releases_the_reservation(status: str, reason: str) -> None:
    """A busy, unanswered or unreachable customer: ReservationReleased with the reason."""
    leg = briefed()
    reply(leg)
    out = leg.handle(AgiReplied(parse_reply_line(f"200 result=1 ({status})")), 5.0)
    assert events(out) == [ev.ReservationReleased(at=5.0, call_id="cb1", reason=reason)]
    assert leg.phase is CallbackPhase.ENDED


@pytest.mark.parametrize(("reason", "status"), [(3, "NOANSWER"), (0, "CHANUNAVAIL")])
def test_originate_failure_is_the_advisors_miss(reason: int, status: str) -> None:
    """OriginateResponse Failure (S13 Reason 3 / 0): AgentDidNotAnswer, not an attempt."""
    leg = CallbackLeg(SPEC)
    out = leg.handle(OriginateFailed(reason), 4.0)
    assert events(out) == [
        ev.AgentDidNotAnswer(
            at=4.0, call_id="cb1", agent_id="a1", dial_status=ev.DialStatus(status)
        )
    ]


def test_advisor_hanging_up_during_the_briefing_dials_nobody() -> None:
    """The advisor hangs up before the Dial: the customer is never dialed; another advisor."""
    leg = CallbackLeg(SPEC)
    leg.handle(SessionOpened(), 1.0)
    leg.handle(ChannelHungUp(), 1.5)
    out = reply(leg, "200 result=-1")
    assert lines(out) == []
    assert [type(e) for e in events(out)] == [ev.AgentDidNotAnswer]
    assert any(isinstance(o, CloseSession) for o in out)


def test_session_lost_while_dialing_is_a_failed_attempt() -> None:
    """acd's session breaks while the customer rings: the reservation is released once."""
    leg = briefed()
    out = leg.handle(SessionLost("reset"), 3.0)
    assert events(out) == [ev.ReservationReleased(at=3.0, call_id="cb1", reason="leg_lost")]
    assert events(leg.handle(SessionLost("again"), 3.1)) == []


def test_say_digits_refused_does_not_stop_the_callback() -> None:
    """A PBX that refuses SAY DIGITS (510) still goes on to dial the customer."""
    leg = CallbackLeg(SPEC)
    leg.handle(SessionOpened(), 1.0)
    reply(leg)
    assert lines(reply(leg, "510 Invalid or unknown command")) == [
        'SET VARIABLE CALLERID(all) "\\"Centre\\" <0140000000>"'
    ]


def test_reply_with_nothing_in_flight_is_acds_bug() -> None:
    """A reply fed while no command is in flight raises LegMisuseError."""
    with pytest.raises(LegMisuseError):
        reply(CallbackLeg(SPEC))


def test_every_phase_can_end() -> None:
    """The table lets every phase but the last reach ENDED, and nothing leaves ENDED."""
    for phase, targets in TRANSITIONS.items():
        assert (CallbackPhase.ENDED in targets) is (phase is not CallbackPhase.ENDED)
    assert TRANSITIONS[CallbackPhase.ENDED] == frozenset()
