"""The progressive campaign's contact leg, fed AGI replies and AMI records by hand (no sockets)."""

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
from acd.asterisk.outbound_leg import (
    TRANSITIONS,
    AdvisorAnswered,
    AdvisorReserved,
    AttemptOver,
    ContactProgress,
    OriginateFailed,
    OutboundLeg,
    OutboundOutput,
    OutboundPhase,
    OutboundSpec,
    SessionOpened,
    WaitExpired,
    WaitFor,
)
from acd.core import events as ev

SPEC = OutboundSpec(call_id="out1", agent_id="a1", advisor_endpoint="PJSIP/1001")


def lines(outputs: list[OutboundOutput]) -> list[str]:
    return [o.line for o in outputs if isinstance(o, SendAgi)]


def events(outputs: list[OutboundOutput]) -> list[ev.Event]:
    return [o.event for o in outputs if isinstance(o, PostEvent)]


def over(outputs: list[OutboundOutput]) -> list[AttemptOver]:
    return [o for o in outputs if isinstance(o, AttemptOver)]


def reply(leg: OutboundLeg, text: str = "200 result=0") -> list[OutboundOutput]:
    return leg.handle(AgiReplied(parse_reply_line(text)), 2.0)


def dialing() -> OutboundLeg:
    """A leg whose contact answered; the Dial of the reserved advisor is in flight."""
    leg = OutboundLeg(SPEC)
    assert lines(leg.handle(SessionOpened(), 1.0)) == ['EXEC Dial "PJSIP/1001,2"']
    assert leg.phase is OutboundPhase.CONNECTING
    return leg


def test_advisor_answers_then_the_conversation_ends() -> None:
    """DialEnd ANSWER: AgentAnswered; Dial returns: CallEnded, attempt answered, hang up."""
    leg = dialing()
    out = leg.handle(AdvisorAnswered(), 1.5)
    assert events(out) == [ev.AgentAnswered(at=1.5, call_id="out1", agent_id="a1")]
    assert lines(reply(leg, "200 result=-1")) == ["GET VARIABLE DIALSTATUS"]
    out = reply(leg, "200 result=1 (ANSWER)")
    assert events(out) == [ev.CallEnded(at=2.0, call_id="out1")]
    assert over(out) == [AttemptOver("answered")]
    assert lines(out) == ['SET VARIABLE ACD_STATE "done"']
    assert lines(reply(leg)) == ["HANGUP"]
    assert any(isinstance(o, CloseSession) for o in reply(leg, "200 result=1"))
    assert leg.phase is OutboundPhase.ENDED


def test_answer_known_only_from_dialstatus_is_still_told() -> None:
    """No DialEnd seen: the ANSWER in DIALSTATUS starts and ends the conversation."""
    leg = dialing()
    reply(leg, "200 result=-1")
    out = reply(leg, "200 result=1 (ANSWER)")
    assert [type(e).__name__ for e in events(out)] == ["AgentAnswered", "CallEnded"]


@pytest.mark.parametrize("status", ["NOANSWER", "CHANUNAVAIL", "BUSY"])
def test_no_advisor_in_time_plays_the_short_message(status: str) -> None:
    """No advisor within the delay: released, outbound_abandoned, the message, then hang up."""
    leg = dialing()
    reply(leg, "200 result=0")
    out = reply(leg, f"200 result=1 ({status})")
    assert events(out) == [
        ev.ReservationReleased(at=2.0, call_id="out1", reason="outbound_abandoned")
    ]
    assert [o.outcome for o in over(out)] == ["outbound_abandoned"]
    assert lines(out) == ['STREAM FILE acd-outbound-abandoned ""']
    assert lines(reply(leg)) == ['SET VARIABLE ACD_STATE "done"']
    assert leg.phase is OutboundPhase.ENDED


@pytest.mark.parametrize(("reason", "outcome"), [(0, "busy"), (3, "no_answer"), (5, "failed")])
def test_originate_failure_releases_the_advisor(reason: int, outcome: str) -> None:
    """S13 Reason 0 (busy, no contact) or 3 (no answer): released at once, attempt recorded."""
    leg = OutboundLeg(SPEC)
    out = leg.handle(OriginateFailed(reason), 1.0)
    assert events(out) == [ev.ReservationReleased(at=1.0, call_id="out1", reason=outcome)]
    assert [o.outcome for o in over(out)] == [outcome]
    assert leg.phase is OutboundPhase.ENDED


def test_contact_hanging_up_before_the_advisor_is_connected() -> None:
    """The contact hangs up during the advisor's Dial: released, nobody talked to."""
    leg = dialing()
    assert leg.handle(ChannelHungUp(), 1.2) == []
    out = reply(leg, "200 result=-1")  # Dial returns on the hung-up channel: nothing more asked
    assert events(out) == [ev.ReservationReleased(at=2.0, call_id="out1", reason="contact_hung_up")]
    assert [(o.outcome, o.detail) for o in over(out)] == [("answered", "contact_hung_up")]
    assert any(isinstance(o, CloseSession) for o in out)


def test_session_lost_during_the_conversation_ends_the_call() -> None:
    """A lost FastAGI session after the advisor answered: CallEnded, attempt answered."""
    leg = dialing()
    leg.handle(AdvisorAnswered(), 1.5)
    out = leg.handle(SessionLost("reset"), 3.0)
    assert events(out) == [ev.CallEnded(at=3.0, call_id="out1")]
    assert [o.outcome for o in over(out)] == ["answered"]


def test_reply_with_nothing_in_flight_is_acds_bug() -> None:
    """A reply when no command was sent is acd's own misuse."""
    with pytest.raises(LegMisuseError):
        reply(OutboundLeg(SPEC))


def test_every_phase_can_end() -> None:
    """The table lets every phase but ENDED reach ENDED."""
    for phase, targets in TRANSITIONS.items():
        assert phase is OutboundPhase.ENDED or OutboundPhase.ENDED in targets


AMD_SPEC = OutboundSpec(call_id="out2", agent_id="a1", advisor_endpoint="PJSIP/1001", amd=True)


def test_amd_hangs_up_on_an_answering_machine() -> None:
    """AMD on: EXEC AMD, AMDSTATUS MACHINE: released as machine, nobody dialed, hung up."""
    leg = OutboundLeg(AMD_SPEC)
    assert lines(leg.handle(SessionOpened(), 1.0)) == ['EXEC AMD ""']
    assert lines(reply(leg)) == ["GET VARIABLE AMDSTATUS"]
    out = reply(leg, "200 result=1 (MACHINE)")
    assert events(out) == [ev.ReservationReleased(at=2.0, call_id="out2", reason="machine")]
    assert [(o.outcome, o.detail) for o in over(out)] == [("machine", "amd")]
    assert lines(out) == ['SET VARIABLE ACD_STATE "done"']
    assert leg.phase is OutboundPhase.ENDED


def test_amd_lets_a_person_through_to_the_advisor() -> None:
    """AMD on: AMDSTATUS HUMAN (or NOTSURE): the reserved advisor is dialed."""
    leg = OutboundLeg(AMD_SPEC)
    leg.handle(SessionOpened(), 1.0)
    reply(leg)
    assert lines(reply(leg, "200 result=1 (HUMAN)")) == ['EXEC Dial "PJSIP/1001,2"']
    assert leg.phase is OutboundPhase.CONNECTING


LINE = ev.ReservationRequested(
    at=0.0, call_id="out3", queue="sales", reason="outbound", priority=-1000, caller_number="+33"
)
PREDICTIVE = OutboundSpec(call_id="out3", line=LINE)


def waiting_in_line(spec: OutboundSpec = PREDICTIVE) -> OutboundLeg:
    """A predictive contact who answered at 1.0 and waits in the engine's line."""
    leg = OutboundLeg(spec)
    out = leg.handle(SessionOpened(), 1.0)
    assert events(out) == [
        ev.ReservationRequested(**{**_fields(LINE), "at": 1.0, "arrived_at": 1.0})
    ]
    assert ContactProgress("answered") in out
    assert WaitFor(2.0) in out
    assert lines(out) == []  # nothing in flight: the advisor's Dial goes at once
    assert leg.phase is OutboundPhase.WAITING
    return leg


def _fields(line: ev.ReservationRequested) -> dict[str, object]:
    return {name: getattr(line, name) for name in line.__dataclass_fields__}


def test_predictive_contact_waits_in_line_then_reaches_the_reserved_advisor() -> None:
    """Predictive: the answered contact asks for an advisor; the one reserved 0.5 s later is
    dialed for what is left of the 2 s, and their answer is the pacer's connection."""
    leg = waiting_in_line()
    out = leg.handle(AdvisorReserved("a2", "PJSIP/1002"), 1.5)
    assert lines(out) == ['EXEC Dial "PJSIP/1002,1.5"']
    out = leg.handle(AdvisorAnswered(), 1.7)
    assert events(out) == [ev.AgentAnswered(at=1.7, call_id="out3", agent_id="a2")]
    assert ContactProgress("connected") in out
    assert leg.handle(WaitExpired(), 3.0) == []  # the timer of the wait no longer matters


def test_predictive_contact_with_no_advisor_in_2_s_hears_the_message() -> None:
    """Predictive: still in line when the wait expires: the reservation released, the short
    message naming the centre, recorded outbound_abandoned; a late reservation dials nobody."""
    leg = waiting_in_line()
    out = leg.handle(WaitExpired(), 3.0)
    assert events(out) == [
        ev.ReservationReleased(at=3.0, call_id="out3", reason="outbound_abandoned")
    ]
    assert [o.outcome for o in over(out)] == ["outbound_abandoned"]
    assert lines(out) == ['STREAM FILE acd-outbound-abandoned ""']
    assert lines(leg.handle(AdvisorReserved("a2", "PJSIP/1002"), 3.1)) == []
    assert lines(reply(leg)) == ['SET VARIABLE ACD_STATE "done"']


def test_predictive_contact_hanging_up_in_line_leaves_it() -> None:
    """Predictive: the contact hangs up while waiting: their reservation is released."""
    leg = waiting_in_line()
    out = leg.handle(ChannelHungUp(), 1.5)
    assert events(out) == [ev.ReservationReleased(at=1.5, call_id="out3", reason="contact_hung_up")]
    assert leg.phase is OutboundPhase.ENDED


def test_predictive_unanswered_dial_releases_nothing_it_never_asked_for() -> None:
    """Predictive: a dial nobody answered never entered the line: no release to post."""
    leg = OutboundLeg(PREDICTIVE)
    out = leg.handle(OriginateFailed(3), 1.0)
    assert events(out) == []
    assert [o.outcome for o in over(out)] == ["no_answer"]


def test_predictive_machine_screened_by_amd_never_enters_the_line() -> None:
    """Predictive with AMD: a machine is hung up on before asking for an advisor; a person
    enters the line once AMD says so."""
    leg = OutboundLeg(OutboundSpec(call_id="out3", line=LINE, amd=True))
    assert lines(leg.handle(SessionOpened(), 1.0)) == ['EXEC AMD ""']
    reply(leg)
    out = reply(leg, "200 result=1 (MACHINE)")
    assert events(out) == []
    assert [o.outcome for o in over(out)] == ["machine"]
    person = OutboundLeg(OutboundSpec(call_id="out3", line=LINE, amd=True))
    person.handle(SessionOpened(), 1.0)
    reply(person)
    out = reply(person, "200 result=1 (HUMAN)")
    assert [type(e).__name__ for e in events(out)] == ["ReservationRequested"]
    assert person.phase is OutboundPhase.WAITING
