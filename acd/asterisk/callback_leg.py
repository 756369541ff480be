"""One callback's advisor leg as a pure transition table: everything that changes it is here.

The engine reserved an advisor for a callback (``ReserveAgent``, reason ``callback``); the shell
(``callback_calls.py``) originated the advisor's phone (AMI ``Originate``, ``Async``, into the
dialplan's ``[acd-originated]`` ``callback``:
``AGI(agi://${ACD_FASTAGI}/callback?id=<callback>)``). From there this leg decides, in the
style of ``call_leg.py`` (inputs in, outputs out, no I/O, no clock):

* the Originate failed (S13 b/c/d: ``Reason`` 0 busy or unreachable, 3 no answer): the advisor
  did not take it, the engine offers the callback to another advisor (``AgentDidNotAnswer``);
* the advisor answered, the FastAGI session opens: the advisor hears who they call back
  (``acd-callback-advisor``, then the number with ``SAY DIGITS``; the screen pop shows the rest),
  the customer is dialed from the leg through the trunk with the centre's caller ID
  (``EXEC Dial <trunk>,<ring>,U(acd-callback-greeting)``: the customer hears a short greeting on
  answer), then ``GET VARIABLE DIALSTATUS``;
* the customer answered (AMI ``DialEnd ANSWER`` on the advisor's channel, or ``ANSWER`` when Dial
  returns): ``AgentAnswered``, then ``CallEnded`` when Dial returns;
* not reached (``NOANSWER``, ``BUSY``, ``CHANUNAVAIL``, ``CONGESTION``, or the leg lost before):
  ``ReservationReleased`` with the reason: the engine frees the advisor at once and retries later;
* the advisor hung up before the customer was dialed: ``AgentDidNotAnswer`` (not an attempt).

The leg's contract with Asterisk (docs/architecture.md, "The callback leg"): the Originate sets
``ACD_CALLBACK_ID``; acd writes ``ACD_STATE=done`` when it ends the leg itself; an AGI-form
originated channel has no dialplan after ``AGI()``, so when acd is lost the channel is hung up
by Asterisk and the callback (still stored as ``reserved``) is retried after the restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from acd.asterisk.agi_codec import AgiReply, command_line, quoted, variable_name, word
from acd.asterisk.call_leg import (
    AgiReplied,
    ChannelHungUp,
    CloseSession,
    LegMisuseError,
    LegNote,
    OriginateFailed,
    PartyAnswered,
    PostEvent,
    SendAgi,
    SessionLost,
    SessionOpened,
)
from acd.core.events import (
    AgentAnswered,
    AgentDidNotAnswer,
    CallEnded,
    DialStatus,
    Event,
    ReservationReleased,
)

ADVISOR_PROMPT: Final = "acd-callback-advisor"
# The dialplan subroutine Dial's U() option runs on the customer's channel once it answers.
GREETING_SUBROUTINE: Final = "acd-callback-greeting"
# What the engine hears for each way the customer was not reached (ReservationReleased.reason).
NOT_REACHED: Final = {
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "CHANUNAVAIL": "unreachable",
    "CONGESTION": "congestion",
}
# S13: OriginateResponse Reason 3 = no answer within Timeout; 0 = busy or no contact.
_ORIGINATE_FAILURE: Final = {3: DialStatus.NOANSWER}


class CallbackPhase(StrEnum):
    """Where the leg stands."""

    ORIGINATING = "originating"  # the advisor's phone rings (Originate sent)
    BRIEFING = "briefing"  # the advisor answered: who they call back
    DIALING = "dialing"  # EXEC Dial of the customer
    CONNECTED = "connected"  # the customer answered
    ENDED = "ended"


TRANSITIONS: Final[dict[CallbackPhase, frozenset[CallbackPhase]]] = {
    CallbackPhase.ORIGINATING: frozenset({CallbackPhase.BRIEFING, CallbackPhase.ENDED}),
    CallbackPhase.BRIEFING: frozenset({CallbackPhase.DIALING, CallbackPhase.ENDED}),
    CallbackPhase.DIALING: frozenset({CallbackPhase.CONNECTED, CallbackPhase.ENDED}),
    CallbackPhase.CONNECTED: frozenset({CallbackPhase.ENDED}),
    CallbackPhase.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class CallbackSpec:
    """One attempt of one callback: who, whom, through what."""

    call_id: str  # the callback's id in the engine
    agent_id: str
    number: str  # international form, as checked (read back to the advisor)
    dial_string: str  # the customer through the trunk (``PJSIP/0612345678@trunk``)
    caller_id: str  # the centre's, presented to the customer (``"Centre" <0140000000>``)
    ring_timeout_s: float = 30.0
    command_s: float = 10.0
    dial_margin_s: float = 4 * 3600.0  # a Dial lasts the whole conversation


CustomerAnswered = PartyAnswered  # on the originated channel: the customer picked up


CallbackInput = (
    OriginateFailed | SessionOpened | CustomerAnswered | AgiReplied | ChannelHungUp | SessionLost
)
CallbackOutput = SendAgi | PostEvent | CloseSession | LegNote


class _Step(StrEnum):
    PROMPT = "prompt"
    DIGITS = "digits"
    CALLER_ID = "caller_id"
    DIAL = "dial"
    STATUS = "status"
    DONE = "done"
    HANGUP = "hangup"


class CallbackLeg:
    """``handle`` each input in the order it happened; read ``phase``."""

    def __init__(self, spec: CallbackSpec) -> None:
        self.spec = spec
        self.phase = CallbackPhase.ORIGINATING
        self._steps: list[tuple[_Step, SendAgi]] = []
        self._in_flight: _Step | None = None
        self._answered = False
        self._told = False  # the engine heard how this attempt ended
        self._hung_up = False
        self._out: list[CallbackOutput] = []

    # ------------------------------------------------------------------ interface

    def handle(self, item: CallbackInput, at: float) -> list[CallbackOutput]:
        """Feed one input; the outputs to carry out, in order."""
        self._out = []
        match item:
            case OriginateFailed(reason=reason):
                self._originate_failed(reason, at)
            case SessionOpened():
                self._opened(at)
            case CustomerAnswered():
                self._customer_answered(at)
            case AgiReplied(reply=reply):
                self._replied(reply, at)
            case ChannelHungUp():
                self._hung_up = True
                if self._in_flight is None:
                    self._gone("advisor_hung_up", at)
            case SessionLost(reason=reason):
                self._out.append(LegNote("callback_leg_lost", reason, peer_fault=False))
                self._gone("leg_lost", at)
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------ transitions

    def _move(self, phase: CallbackPhase) -> None:
        if phase not in TRANSITIONS[self.phase]:
            raise LegMisuseError(f"callback {self.spec.call_id}: {self.phase} -> {phase}")
        self.phase = phase

    def _post(self, event: Event) -> None:
        self._out.append(PostEvent(event))

    def _originate_failed(self, reason: int, at: float) -> None:
        if self.phase is not CallbackPhase.ORIGINATING:
            self._out.append(LegNote("late_originate_failure", str(reason), peer_fault=True))
            return
        self._move(CallbackPhase.ENDED)
        status = _ORIGINATE_FAILURE.get(reason, DialStatus.CHANUNAVAIL)
        self._told = True
        self._post(
            AgentDidNotAnswer(
                at=at, call_id=self.spec.call_id, agent_id=self.spec.agent_id, dial_status=status
            )
        )

    def _opened(self, at: float) -> None:
        del at
        self._move(CallbackPhase.BRIEFING)
        spec = self.spec
        digits = "".join(ch for ch in spec.number if ch.isdigit())
        self._steps = [
            (_Step.PROMPT, self._cmd(command_line("STREAM FILE", word(ADVISOR_PROMPT), '""'))),
            (_Step.DIGITS, self._cmd(command_line("SAY DIGITS", digits, '""'))),
            (_Step.CALLER_ID, self._set("CALLERID(all)", spec.caller_id)),
            (
                _Step.DIAL,
                SendAgi(
                    command_line(
                        "EXEC",
                        "Dial",
                        quoted(
                            f"{spec.dial_string},{spec.ring_timeout_s:g},U({GREETING_SUBROUTINE})"
                        ),
                    ),
                    spec.ring_timeout_s + spec.dial_margin_s,
                    announce=LegNote("callback_dialed", spec.dial_string),
                ),
            ),
            (_Step.STATUS, self._cmd(command_line("GET VARIABLE", variable_name("DIALSTATUS")))),
        ]
        self._next()

    def _customer_answered(self, at: float) -> None:
        if self.phase is CallbackPhase.DIALING and not self._answered:
            self._connect(at)

    def _connect(self, at: float) -> None:
        self._move(CallbackPhase.CONNECTED)
        self._answered = True
        self._post(AgentAnswered(at=at, call_id=self.spec.call_id, agent_id=self.spec.agent_id))

    def _replied(self, reply: AgiReply, at: float) -> None:
        step = self._in_flight
        if step is None:
            raise LegMisuseError(f"callback {self.spec.call_id}: a reply with nothing in flight")
        self._in_flight = None
        if step is _Step.DIGITS and not reply.ok:
            # A PBX that cannot SAY DIGITS still lets the callback go on: the screen pop has it.
            self._out.append(LegNote("callback_digits_refused", reply.text, peer_fault=True))
        if step is _Step.STATUS:
            self._dial_over(reply.data or "" if reply.ok else "", at)
            return
        if step in (_Step.DONE, _Step.HANGUP):
            self._next()
            return
        if self._hung_up:
            self._gone("advisor_hung_up", at)
            return
        self._next()

    def _dial_over(self, status: str, at: float) -> None:
        spec = self.spec
        if status == "ANSWER" and not self._answered:
            self._connect(at)  # AMI's DialEnd did not come first: the Dial's return says it
        if self._answered:
            self._move(CallbackPhase.ENDED)
            self._told = True
            self._post(CallEnded(at=at, call_id=spec.call_id))
        else:
            self._move(CallbackPhase.ENDED)
            self._told = True
            reason = NOT_REACHED.get(status, "advisor_hung_up" if self._hung_up else "not_reached")
            self._post(ReservationReleased(at=at, call_id=spec.call_id, reason=reason))
        self._finish()

    def _gone(self, reason: str, at: float) -> None:
        """The leg ended before its story did (the advisor hung up, the session was lost)."""
        if self._told:
            self._out.append(CloseSession(reason))
            return
        spec = self.spec
        self._told = True
        phase = self.phase
        if phase is not CallbackPhase.ENDED:
            self._move(CallbackPhase.ENDED)
        if phase is CallbackPhase.CONNECTED:
            self._post(CallEnded(at=at, call_id=spec.call_id))
        elif phase in (CallbackPhase.ORIGINATING, CallbackPhase.BRIEFING):
            # The customer was never dialed: not an attempt; another advisor may take it.
            self._post(
                AgentDidNotAnswer(
                    at=at,
                    call_id=spec.call_id,
                    agent_id=spec.agent_id,
                    dial_status=DialStatus.NOANSWER,
                )
            )
        else:
            self._post(ReservationReleased(at=at, call_id=spec.call_id, reason=reason))
        self._out.append(CloseSession(reason))

    def _finish(self) -> None:
        """acd ends the leg itself: mark it, hang up, close."""
        if self._hung_up:
            self._out.append(CloseSession("done"))
            return
        self._steps = [
            (_Step.DONE, self._set("ACD_STATE", "done")),
            (_Step.HANGUP, self._cmd("HANGUP")),
        ]
        self._next()

    def _next(self) -> None:
        if not self._steps:
            self._out.append(CloseSession("done"))
            return
        step, line = self._steps.pop(0)
        if step is _Step.DIAL:
            self._move(CallbackPhase.DIALING)
        self._in_flight = step
        self._out.append(line)

    def _cmd(self, line: str) -> SendAgi:
        return SendAgi(line, self.spec.command_s)

    def _set(self, name: str, value: str) -> SendAgi:
        return self._cmd(command_line("SET VARIABLE", variable_name(name), quoted(value)))
