"""The progressive campaigns' contact legs: AMI Originate out, FastAGI ``outbound`` in. Decides
nothing.

``OutboundCalls`` is the runtime's ``ReservedLegs`` for the reason ``outbound``: for each
``ReserveAgent`` it builds a pure ``OutboundLeg`` and originates the contact through the trunk
(``Async: true``, ``Application: AGI``, ``agi://<acd>/outbound?id=<attempt>``, the campaign's
caller ID, ``ACD_OUTBOUND_ID`` and ``ACD_CAMPAIGN`` as channel variables). The AMI
``OriginateResponse`` (matched by ActionID), the FastAGI session of the answered contact and AMI
``DialEnd`` on that channel are fed to the leg; the leg's outputs are carried out here, and each
attempt's end is handed to ``on_attempt`` (the dialer records it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import quote

import structlog

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.ami_events import AmiEvent, DialEnd, DialStatus, OriginateResponse
from acd.asterisk.call_leg import (
    AgiReplied,
    ChannelHungUp,
    CloseSession,
    LegMisuseError,
    LegNote,
    PostEvent,
    SendAgi,
    SessionLost,
)
from acd.asterisk.errors import AgiError, AmiError
from acd.asterisk.fastagi import AgiSession
from acd.asterisk.outbound_leg import (
    AdvisorAnswered,
    AttemptOver,
    OriginateFailed,
    OutboundInput,
    OutboundLeg,
    OutboundOutput,
    OutboundPhase,
    OutboundSpec,
    SessionOpened,
)
from acd.core.commands import ReserveAgent
from acd.core.events import Event, ReservationReleased
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.asterisk")

_EARLY_MAX: Final = 256


@dataclass(frozen=True, slots=True)
class OutboundDelivery:
    """How contact legs reach the PBX."""

    agi_base: str  # agi://host:port
    trunk: str  # PJSIP/{number}@trunk
    originate_timeout_s: float = 30.0
    no_advisor_s: float = 2.0


@dataclass(frozen=True, slots=True)
class OutboundTarget:
    """Whom an attempt calls: the number, how the trunk dials it, the caller ID shown."""

    number: str
    dial_number: str
    caller_id: str
    campaign: str
    amd: bool = False


AttemptSink = Callable[[str, AttemptOver], None]
"""``(attempt id, how it ended)``: the dialer records it and frees the contact."""


@dataclass(slots=True, eq=False)
class _Attempt:
    leg: OutboundLeg
    session: AgiSession | None = None
    uniqueid: str | None = None
    work: asyncio.Queue[SendAgi | None] = field(default_factory=asyncio.Queue)


class OutboundCalls:
    """``ReservedLegs`` for progressive campaigns; ``handle_session`` serves FastAGI
    ``outbound``."""

    def __init__(
        self,
        inbox: EventInbox,
        delivery: OutboundDelivery,
        target_of: Callable[[str, str], OutboundTarget | None],
        on_attempt: AttemptSink,
        ami: AmiClient | None = None,
    ) -> None:
        self._inbox = inbox
        self.delivery = delivery
        self._target_of = target_of
        self._on_attempt = on_attempt
        self.ami = ami
        self._attempts: dict[str, _Attempt] = {}
        self._by_action: dict[str, _Attempt] = {}
        self._by_uniqueid: dict[str, _Attempt] = {}
        self._early: OrderedDict[str, OriginateResponse] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()
        self.originated = 0

    @property
    def active(self) -> int:
        """Contact legs under way."""
        return len(self._attempts)

    def reserve_agent(self, command: ReserveAgent) -> None:
        """The engine reserved an advisor for a contact: originate the contact."""
        target = self._target_of(command.call_id, command.agent_id)
        if target is None or command.call_id in self._attempts:
            log.error("outbound_not_originated", call_id=command.call_id, known=target is not None)
            self._post(
                ReservationReleased(at=self._inbox.now(), call_id=command.call_id, reason="unknown")
            )
            if target is not None:
                self._on_attempt(command.call_id, AttemptOver("failed", "duplicate"))
            return
        leg = OutboundLeg(
            OutboundSpec(
                call_id=command.call_id,
                agent_id=command.agent_id,
                advisor_endpoint=command.endpoint,
                no_advisor_s=self.delivery.no_advisor_s,
                amd=target.amd,
            )
        )
        attempt = _Attempt(leg)
        self._attempts[command.call_id] = attempt
        self._spawn(self._originate(attempt, target))

    async def _originate(self, attempt: _Attempt, target: OutboundTarget) -> None:
        call_id = attempt.leg.spec.call_id
        d = self.delivery
        fields = {
            "Channel": d.trunk.replace("{number}", target.dial_number),
            "Application": "AGI",
            "Data": f"{d.agi_base}/outbound?id={quote(call_id, safe='')}",
            "CallerID": target.caller_id,
            "Timeout": str(int(d.originate_timeout_s * 1000)),
            "Variable": [f"ACD_OUTBOUND_ID={call_id}", f"ACD_CAMPAIGN={target.campaign}"],
            "Async": "true",
        }
        try:
            if self.ami is None:
                raise AmiError("no AMI connection")
            response = await self.ami.send_action("Originate", fields)
        except (AmiError, TimeoutError) as exc:
            log.error("outbound_originate_failed", call_id=call_id, error=str(exc))
            self._end(attempt, "originate_refused")
            return
        if not response.ok:
            log.error("outbound_originate_refused", call_id=call_id, message=response.message)
            self._end(attempt, "originate_refused")
            return
        self.originated += 1
        action_id = response.get("ActionID") or ""
        log.info("outbound_originated", call_id=call_id, campaign=target.campaign)
        early = self._early.pop(action_id, None)
        if early is not None:
            self._originate_response(attempt, early)
        else:
            self._by_action[action_id] = attempt

    def _end(self, attempt: _Attempt, reason: str) -> None:
        """The attempt never reached Asterisk: nobody was dialed, the advisor is released."""
        call_id = attempt.leg.spec.call_id
        self._forget(attempt)
        self._post(ReservationReleased(at=self._inbox.now(), call_id=call_id, reason=reason))
        self._on_attempt(call_id, AttemptOver("not_dialed", reason))

    def _forget(self, attempt: _Attempt) -> None:
        call_id = attempt.leg.spec.call_id
        if self._attempts.get(call_id) is attempt:
            del self._attempts[call_id]
        if attempt.uniqueid is not None and self._by_uniqueid.get(attempt.uniqueid) is attempt:
            del self._by_uniqueid[attempt.uniqueid]

    def on_ami_event(self, event: AmiEvent) -> None:
        """OriginateResponse of our Originates, DialEnd ANSWER of the advisors we dial."""
        match event:
            case OriginateResponse(action_id=action_id) if action_id:
                attempt = self._by_action.pop(action_id, None)
                if attempt is None:
                    self._early[action_id] = event
                    while len(self._early) > _EARLY_MAX:
                        self._early.popitem(last=False)
                    return
                self._originate_response(attempt, event)
            case DialEnd(channel=caller, status=DialStatus.ANSWER) if caller is not None:
                attempt = self._by_uniqueid.get(caller.uniqueid)
                if attempt is not None:
                    self._feed(attempt, AdvisorAnswered())
            case _:
                pass

    def _originate_response(self, attempt: _Attempt, event: OriginateResponse) -> None:
        if event.response.lower() == "success":
            attempt.uniqueid = event.uniqueid
            self._by_uniqueid[event.uniqueid] = attempt
            return
        self._feed(attempt, OriginateFailed(event.reason))

    async def handle_session(self, session: AgiSession) -> None:
        """The contact answered: connect the reserved advisor."""
        try:
            call_id = session.script.params.get("id", "")
            attempt = self._attempts.get(call_id)
            if attempt is None or attempt.leg.phase is not OutboundPhase.ORIGINATING:
                log.warning("outbound_session_unknown", call_id=call_id[:80])
                with contextlib.suppress(AgiError, TimeoutError):
                    await session.hangup()
                return
            attempt.session = session
            attempt.uniqueid = session.uniqueid
            self._by_uniqueid[session.uniqueid] = attempt
            session.on_hangup(lambda: self._feed(attempt, ChannelHungUp()))
            self._feed(attempt, SessionOpened())
            await self._drive(attempt, session)
        finally:
            await session.close()

    async def _drive(self, attempt: _Attempt, session: AgiSession) -> None:
        while True:
            line = await attempt.work.get()
            if line is None:
                return
            if line.announce is not None:
                self._note(attempt, line.announce)
            try:
                reply = await session.send_line(line.line, reply_within=line.reply_within_s)
            except (AgiError, TimeoutError) as exc:
                self._feed(attempt, SessionLost(str(exc)))
                continue
            self._feed(attempt, AgiReplied(reply))

    def _feed(self, attempt: _Attempt, item: OutboundInput) -> None:
        try:
            outputs = attempt.leg.handle(item, self._inbox.now())
        except LegMisuseError:
            log.exception("outbound_leg_misused", call_id=attempt.leg.spec.call_id)
            return
        self._apply(attempt, outputs)

    def _apply(self, attempt: _Attempt, outputs: list[OutboundOutput]) -> None:
        for output in outputs:
            match output:
                case SendAgi():
                    attempt.work.put_nowait(output)
                case PostEvent(event=event):
                    self._post(event)
                case CloseSession():
                    attempt.work.put_nowait(None)
                case LegNote():
                    self._note(attempt, output)
                case AttemptOver():
                    self._on_attempt(attempt.leg.spec.call_id, output)
        if attempt.leg.phase is OutboundPhase.ENDED:
            self._forget(attempt)

    def _note(self, attempt: _Attempt, note: LegNote) -> None:
        emit = log.warning if note.peer_fault else log.info
        emit(note.event, call_id=attempt.leg.spec.call_id, detail=note.detail)

    def _post(self, event: Event) -> None:
        try:
            self._inbox.post(event)
        except Exception:
            log.exception("event_not_posted", event_type=type(event).__name__)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
