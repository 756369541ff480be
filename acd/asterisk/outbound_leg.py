"""One campaign contact's leg as a pure transition table: everything that changes it.

Progressive (and preview) campaigns: the engine reserved an advisor for a campaign contact
(``ReserveAgent``, reason ``outbound``) and then the shell (``outbound_calls.py``) originated the
contact through the trunk (AMI ``Originate``, ``Async``, into the dialplan's ``[acd-originated]``
``outbound``: ``AGI(agi://${ACD_FASTAGI}/outbound?id=<attempt>)``, the campaign's caller
ID). Predictive campaigns originate
first: the answered contact waits in the engine's line like a caller (``ReservationRequested``,
``OutboundSpec.line``) for at most ``no_advisor_s`` (2 s); the advisor the engine reserves
(``AdvisorReserved``) is dialed at once, and a contact still waiting when the shell's timer says
so (``WaitExpired``) hears the short message. From there this leg decides, in the style of
``call_leg.py`` (inputs in, outputs out, no I/O):

* the Originate failed (S13: ``Reason`` 0 busy or unreachable, 3 no answer): nobody was
  reached, the advisor is released at once (``ReservationReleased``) and the attempt ends
  ``busy`` or ``no_answer``;
* the contact answered, the FastAGI session opens: with AMD on (``amd``, off by default: it adds
  delay and errors), ``EXEC AMD`` and ``AMDSTATUS``: a machine is hung up on (``machine``,
  the reservation released); then the reserved advisor is dialed from it
  (``EXEC Dial <advisor>,<no_advisor_s>``; advisors on outbound work on auto-answer), then
  ``GET VARIABLE DIALSTATUS``;
* the advisor answered (AMI ``DialEnd ANSWER`` on the contact's channel, or ``ANSWER`` when Dial
  returns): ``AgentAnswered``, then ``CallEnded`` when Dial returns; the attempt is ``answered``
  (the advisor sets the final outcome: sale, refused...);
* no advisor within ``no_advisor_s``: the contact hears the short message naming the centre
  (``acd-outbound-abandoned``) and the attempt is ``outbound_abandoned`` (not the inbound
  ``abandoned``); the reservation is released;
* the contact hung up before an advisor was connected: released, the attempt ``answered``
  with nobody talked to (``contact_hung_up``).

The contract with Asterisk: an AGI-form originated channel has no dialplan after ``AGI()``;
acd writes ``ACD_STATE=done`` and hangs up when it ends the leg itself.
"""

from __future__ import annotations

import dataclasses
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
    CallEnded,
    Event,
    ReservationReleased,
    ReservationRequested,
)

ABANDONED_PROMPT: Final = "acd-outbound-abandoned"
# S13: OriginateResponse Reason 3 = no answer within Timeout; 0 = busy or no contact.
_ORIGINATE_OUTCOME: Final = {3: "no_answer", 0: "busy"}


class OutboundPhase(StrEnum):
    """Where the leg stands."""

    ORIGINATING = "originating"  # the contact's phone rings
    CONNECTING = "connecting"  # the contact answered: the reserved advisor is dialed
    WAITING = "waiting"  # predictive: the answered contact waits in line for an advisor
    CONNECTED = "connected"  # the advisor answered: the conversation
    ABANDONING = "abandoning"  # no advisor in time: the short message
    ENDED = "ended"


TRANSITIONS: Final[dict[OutboundPhase, frozenset[OutboundPhase]]] = {
    OutboundPhase.ORIGINATING: frozenset({OutboundPhase.CONNECTING, OutboundPhase.ENDED}),
    OutboundPhase.CONNECTING: frozenset(
        {
            OutboundPhase.WAITING,
            OutboundPhase.CONNECTED,
            OutboundPhase.ABANDONING,
            OutboundPhase.ENDED,
        }
    ),
    OutboundPhase.WAITING: frozenset(
        {OutboundPhase.CONNECTING, OutboundPhase.ABANDONING, OutboundPhase.ENDED}
    ),
    OutboundPhase.CONNECTED: frozenset({OutboundPhase.ENDED}),
    OutboundPhase.ABANDONING: frozenset({OutboundPhase.ENDED}),
    OutboundPhase.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class OutboundSpec:
    """One attempt: which reservation, which advisor, within what delay.

    ``line`` (predictive) is the reservation the answered contact asks for; the advisor is then
    not known when the leg starts (``agent_id`` and ``advisor_endpoint`` empty).
    """

    call_id: str  # the reservation's id in the engine (one per attempt)
    agent_id: str = ""
    advisor_endpoint: str = ""  # ``PJSIP/1001``
    line: ReservationRequested | None = None
    no_advisor_s: float = 2.0
    amd: bool = False  # Asterisk's AMD() on the contact first: a machine is hung up on
    amd_s: float = 10.0  # AMD listens at most this long (its own total analysis time is 5 s)
    command_s: float = 10.0
    dial_margin_s: float = 4 * 3600.0  # a Dial lasts the whole conversation


AdvisorAnswered = PartyAnswered  # on the originated channel: the advisor is connected


@dataclass(frozen=True, slots=True)
class AdvisorReserved:
    """Predictive: the engine reserved this advisor for the waiting contact (``ReserveAgent``)."""

    agent_id: str
    endpoint: str


@dataclass(frozen=True, slots=True)
class WaitExpired:
    """Predictive: the shell's timer of ``WaitFor`` ran out."""


@dataclass(frozen=True, slots=True)
class WaitFor:
    """Predictive: the contact entered the line; feed ``WaitExpired`` after ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class ContactProgress:
    """Predictive pacing's witnesses: ``answered`` (a live contact entered the line),
    ``connected`` (an advisor answered them)."""

    stage: str


@dataclass(frozen=True, slots=True)
class AttemptOver:
    """How the attempt ended, for the attempt log (``AttemptOutcome`` values) and why."""

    outcome: str
    detail: str = ""


OutboundInput = (
    OriginateFailed
    | SessionOpened
    | AdvisorAnswered
    | AgiReplied
    | ChannelHungUp
    | SessionLost
    | AdvisorReserved
    | WaitExpired
)
OutboundOutput = (
    SendAgi | PostEvent | CloseSession | LegNote | AttemptOver | WaitFor | ContactProgress
)


class _Step(StrEnum):
    AMD = "amd"
    AMD_STATUS = "amd_status"
    DIAL = "dial"
    STATUS = "status"
    MESSAGE = "message"
    DONE = "done"
    HANGUP = "hangup"


class OutboundLeg:
    """``handle`` each input in the order it happened; read ``phase``."""

    def __init__(self, spec: OutboundSpec) -> None:
        self.spec = spec
        self.phase = OutboundPhase.ORIGINATING
        self._steps: list[tuple[_Step, SendAgi]] = []
        self._in_flight: _Step | None = None
        self._answered = False
        self._told = False  # the engine heard how this attempt ended
        self._hung_up = False
        self._in_line = False  # predictive: the engine holds our reservation
        self._waiting_since = 0.0
        self.agent_id = spec.agent_id
        self.advisor_endpoint = spec.advisor_endpoint
        self._out: list[OutboundOutput] = []

    def handle(self, item: OutboundInput, at: float) -> list[OutboundOutput]:
        """Feed one input; the outputs to carry out, in order."""
        self._out = []
        match item:
            case OriginateFailed(reason=reason):
                self._originate_failed(reason, at)
            case SessionOpened():
                self._opened(at)
            case AdvisorAnswered():
                if self.phase is OutboundPhase.CONNECTING and not self._answered:
                    self._connect(at)
            case AgiReplied(reply=reply):
                self._replied(reply, at)
            case AdvisorReserved(agent_id=agent_id, endpoint=endpoint):
                self._reserved(agent_id, endpoint, at)
            case WaitExpired():
                if self.phase is OutboundPhase.WAITING:
                    self._abandon("no advisor in line", at)
            case ChannelHungUp():
                self._hung_up = True
                if self._in_flight is None:
                    self._gone("contact_hung_up", at)
            case SessionLost(reason=reason):
                self._out.append(LegNote("outbound_leg_lost", reason, peer_fault=False))
                self._gone("leg_lost", at)
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------ transitions

    def _move(self, phase: OutboundPhase) -> None:
        if phase not in TRANSITIONS[self.phase]:
            raise LegMisuseError(f"outbound {self.spec.call_id}: {self.phase} -> {phase}")
        self.phase = phase

    def _post(self, event: Event) -> None:
        self._out.append(PostEvent(event))

    def _release(self, reason: str, at: float) -> None:
        self._told = True
        if self.spec.line is None or self._in_line:
            # A predictive contact not yet in line has no reservation to release.
            self._post(ReservationReleased(at=at, call_id=self.spec.call_id, reason=reason))

    def _originate_failed(self, reason: int, at: float) -> None:
        if self.phase is not OutboundPhase.ORIGINATING:
            self._out.append(LegNote("late_originate_failure", str(reason), peer_fault=True))
            return
        self._move(OutboundPhase.ENDED)
        outcome = _ORIGINATE_OUTCOME.get(reason, "failed")
        self._release(outcome, at)
        self._out.append(AttemptOver(outcome, f"originate reason {reason}"))

    def _opened(self, at: float) -> None:
        self._move(OutboundPhase.CONNECTING)
        spec = self.spec
        self._steps = []
        if spec.amd:
            self._steps = [
                (_Step.AMD, SendAgi(command_line("EXEC", "AMD", '""'), spec.amd_s)),
                (
                    _Step.AMD_STATUS,
                    self._cmd(command_line("GET VARIABLE", variable_name("AMDSTATUS"))),
                ),
            ]
        if spec.line is None:
            self._steps += self._dial_steps(spec.no_advisor_s)
            self._next()
        elif self._steps:
            self._next()  # AMD first; the line after it
        else:
            self._enter_line(at)

    def _dial_steps(self, within_s: float) -> list[tuple[_Step, SendAgi]]:
        dial = f"{self.advisor_endpoint},{within_s:g}"
        return [
            (
                _Step.DIAL,
                SendAgi(
                    command_line("EXEC", "Dial", quoted(dial)),
                    within_s + self.spec.dial_margin_s,
                    announce=LegNote("outbound_advisor_dialed", self.advisor_endpoint),
                ),
            ),
            (_Step.STATUS, self._cmd(command_line("GET VARIABLE", variable_name("DIALSTATUS")))),
        ]

    def _enter_line(self, at: float) -> None:
        """Predictive: the live contact waits for an advisor like a caller, at most
        ``no_advisor_s`` in all (the wait, then the advisor's auto-answered Dial)."""
        line = self.spec.line
        assert line is not None
        self._move(OutboundPhase.WAITING)
        self._in_line = True
        self._waiting_since = at
        self._post(dataclasses.replace(line, at=at, arrived_at=at))
        self._out.append(ContactProgress("answered"))
        self._out.append(WaitFor(self.spec.no_advisor_s))

    def _reserved(self, agent_id: str, endpoint: str, at: float) -> None:
        if self.phase is not OutboundPhase.WAITING:
            # Too late (the message plays, or the contact left): the release is on its way.
            self._out.append(LegNote("outbound_reservation_late", agent_id))
            return
        self.agent_id, self.advisor_endpoint = agent_id, endpoint
        self._move(OutboundPhase.CONNECTING)
        # What is left of the contact's 2 s, and never less than a ring's worth for auto-answer.
        left = max(0.5, self.spec.no_advisor_s - (at - self._waiting_since))
        self._steps = self._dial_steps(round(left, 1))
        self._next()

    def _connect(self, at: float) -> None:
        self._move(OutboundPhase.CONNECTED)
        self._answered = True
        self._post(AgentAnswered(at=at, call_id=self.spec.call_id, agent_id=self.agent_id))
        if self.spec.line is not None:
            self._out.append(ContactProgress("connected"))

    def _replied(self, reply: AgiReply, at: float) -> None:
        step = self._in_flight
        if step is None:
            raise LegMisuseError(f"outbound {self.spec.call_id}: a reply with nothing in flight")
        self._in_flight = None
        if step is _Step.STATUS:
            self._dial_over(reply.data or "" if reply.ok else "", at)
            return
        if step is _Step.AMD_STATUS and not self._hung_up and reply.ok and reply.data == "MACHINE":
            self._machine(at)
            return
        if step is _Step.MESSAGE:
            self._finish()
            return
        if step in (_Step.DONE, _Step.HANGUP):
            self._next()
            return
        if self._hung_up:
            self._gone("contact_hung_up", at)
            return
        if step is _Step.AMD_STATUS and self.spec.line is not None:
            self._enter_line(at)
            return
        self._next()

    def _dial_over(self, status: str, at: float) -> None:
        if status == "ANSWER" and not self._answered:
            self._connect(at)  # AMI's DialEnd did not come first: the Dial's return says it
        if self._answered:
            self._move(OutboundPhase.ENDED)
            self._told = True
            self._post(CallEnded(at=at, call_id=self.spec.call_id))
            self._out.append(AttemptOver("answered"))
            self._finish()
            return
        if self._hung_up:
            self._gone("contact_hung_up", at)
            return
        self._abandon(f"advisor dial {status or 'failed'}", at)

    def _abandon(self, detail: str, at: float) -> None:
        """Nobody within the delay: the short message naming the centre, then goodbye."""
        self._move(OutboundPhase.ABANDONING)
        self._release("outbound_abandoned", at)
        self._out.append(AttemptOver("outbound_abandoned", detail))
        self._in_flight = _Step.MESSAGE
        self._out.append(self._cmd(command_line("STREAM FILE", word(ABANDONED_PROMPT), '""')))

    def _machine(self, at: float) -> None:
        """AMD heard an answering machine: hang up, nobody was reached (not an answered
        contact: the abandon rate leaves it out)."""
        self._steps = []
        self._move(OutboundPhase.ENDED)
        self._release("machine", at)
        self._out.append(AttemptOver("machine", "amd"))
        self._finish()

    def _gone(self, reason: str, at: float) -> None:
        """The contact's leg ended before its story did (hung up, session lost)."""
        if self._told:
            if self.phase is not OutboundPhase.ENDED:
                self._move(OutboundPhase.ENDED)
            self._out.append(CloseSession(reason))
            return
        phase = self.phase
        self._move(OutboundPhase.ENDED)
        if phase is OutboundPhase.CONNECTED:
            self._told = True
            self._post(CallEnded(at=at, call_id=self.spec.call_id))
            self._out.append(AttemptOver("answered"))
        else:
            self._release(reason, at)
            outcome = "no_answer" if phase is OutboundPhase.ORIGINATING else "answered"
            self._out.append(AttemptOver(outcome, reason))
        self._out.append(CloseSession(reason))

    def _finish(self) -> None:
        """acd ends the leg itself: mark it, hang up, close."""
        if self.phase is OutboundPhase.ABANDONING:
            self._move(OutboundPhase.ENDED)
        if self._hung_up:
            self._out.append(CloseSession("done"))
            return
        self._steps = [
            (
                _Step.DONE,
                self._cmd(command_line("SET VARIABLE", variable_name("ACD_STATE"), quoted("done"))),
            ),
            (_Step.HANGUP, self._cmd("HANGUP")),
        ]
        self._next()

    def _next(self) -> None:
        if not self._steps:
            self._out.append(CloseSession("done"))
            return
        step, line = self._steps.pop(0)
        self._in_flight = step
        self._out.append(line)

    def _cmd(self, line: str) -> SendAgi:
        return SendAgi(line, self.spec.command_s)
