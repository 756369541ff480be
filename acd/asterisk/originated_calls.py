"""The shell shared by the legs that start from an AMI Originate (callbacks, campaign contacts).
Decides nothing.

A subclass builds its pure leg for each ``ReserveAgent`` and hands it, with the Originate's
fields, to ``_originate``. From there this shell does the same for every kind: it sends the
Originate (``Async: true``), pairs the AMI ``OriginateResponse`` with its attempt by ActionID
(even when it is read before the action's own response), serves the FastAGI session the
answered channel opens, feeds AMI ``DialEnd`` ``ANSWER`` on that channel to the leg, and carries
out the leg's outputs. The kind's name prefixes the log events (``callback_originated``…).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar
from urllib.parse import quote

import structlog

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.ami_codec import FieldValue
from acd.asterisk.ami_events import AmiEvent, DialEnd, DialStatus, OriginateResponse
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
from acd.asterisk.errors import AgiError, AmiError
from acd.asterisk.fastagi import AgiSession
from acd.core.events import Event, ReservationReleased
from acd.runtime.ports import EventInbox

log = structlog.get_logger("acd.asterisk")

# How long an Originate waits for the daemon to be started and the AMI logged in (at start, or
# during an AMI reconnect) before it counts as failed.
STARTUP_WAIT_S = 10.0

# OriginateResponses read before the Originate's own response was handled (same read): kept
# this many, for the action that is about to claim them.
_EARLY_MAX: Final = 256

# Where an answered originated leg runs its FastAGI session: the shipped dialplan's context
# (dialplan/acd-callback.conf), whose extension ``callback`` (``outbound``) runs
# ``AGI(agi://${ACD_FASTAGI}/callback?${ACD_ARGS})``, like every AGI of the dialplan, then the
# standby's. Never ``Application: AGI``: Asterisk refuses it to an AMI user without the
# ``system`` class ("Originate Access Forbidden: app or data blacklisted", manager.c
# originate_app_permissions, seen on 22.10.1), and acd's user never has it; an Originate into a
# context needs only ``originate``.
ORIGINATED_CONTEXT: Final = "acd-originated"


def into_dialplan(exten: str, call_id: str) -> dict[str, FieldValue]:
    """The Originate fields that send the answered channel to ``[acd-originated]`` ``exten``,
    with ``ACD_ARGS``, the AGI URL's query (``id=<call_id>``, quoted), among its Variables."""
    return {
        "Context": ORIGINATED_CONTEXT,
        "Exten": exten,
        "Priority": "1",
        "Variable": [f"ACD_ARGS=id={quote(call_id, safe='')}"],
    }


class _Spec(Protocol):
    @property
    def call_id(self) -> str: ...


class OriginatedLeg(Protocol):
    """What the shell needs of a pure originated leg."""

    @property
    def spec(self) -> _Spec: ...

    @property
    def phase(self) -> Enum: ...

    def handle(self, item: Any, now: float) -> list[Any]: ...


LegT = TypeVar("LegT", bound=OriginatedLeg)


@dataclass(slots=True, eq=False)
class Attempt(Generic[LegT]):
    """One originated leg under way: its pure leg and the channel it runs on."""

    leg: LegT
    session: AgiSession | None = None
    uniqueid: str | None = None
    work: asyncio.Queue[SendAgi | None] = field(default_factory=asyncio.Queue)
    # The AMI the Originate goes through (the advisor's box); None: the shell's own.
    via: AmiClient | None = None


class OriginatedCalls(Generic[LegT]):
    """``ReservedLegs`` shell of one kind of originated leg; ``handle_session`` serves its
    FastAGI sessions."""

    kind: ClassVar[str]  # "callback", "outbound": the log events' prefix
    originating: ClassVar[Enum]  # the leg's phase while its Originate is under way
    ended: ClassVar[Enum]  # the leg's last phase

    def __init__(self, inbox: EventInbox, ami: AmiClient | None) -> None:
        self._inbox = inbox
        self.ami = ami
        self._attempts: dict[str, Attempt[LegT]] = {}
        self._by_action: dict[str, Attempt[LegT]] = {}
        self._by_uniqueid: dict[str, Attempt[LegT]] = {}
        self._early: OrderedDict[str, OriginateResponse] = OrderedDict()
        self._background: set[asyncio.Task[None]] = set()
        self.originated = 0
        # Set once the daemon can take the originated channel (FastAGI listening): a leg due
        # at start (a callback read back from the database) waits for it, None: never waits.
        self.ready: asyncio.Event | None = None

    @property
    def active(self) -> int:
        """Attempts under way."""
        return len(self._attempts)

    def _refuse(self, call_id: str, *, known: bool) -> None:
        """Never two legs for one attempt at once; an unknown one frees the advisor."""
        log.error(f"{self.kind}_not_originated", call_id=call_id, known=known)
        self._post(ReservationReleased(at=self._inbox.now(), call_id=call_id, reason="unknown"))

    def _start(
        self,
        leg: LegT,
        fields: Mapping[str, FieldValue],
        *,
        via: AmiClient | None = None,
        **context: str,
    ) -> Attempt[LegT]:
        """Track the leg and send its Originate in the background (through ``via``, the AMI of
        the box the originated channel is on; None: the shell's own)."""
        attempt = Attempt(leg, via=via)
        self._attempts[leg.spec.call_id] = attempt
        self._spawn(self._originate(attempt, fields, context))
        return attempt

    async def _originate(
        self, attempt: Attempt[LegT], fields: Mapping[str, FieldValue], context: dict[str, str]
    ) -> None:
        call_id = attempt.leg.spec.call_id
        try:
            ami = attempt.via or self.ami
            if ami is None:
                raise AmiError("no AMI connection")
            # A leg due at start (a callback read back from the database) comes before the AMI
            # login and the FastAGI server: an Originate then would fail, or answer into no
            # AGI, and count as an attempt the customer never got.
            async with asyncio.timeout(STARTUP_WAIT_S):
                if self.ready is not None:
                    await self.ready.wait()
                await ami.wait_connected(STARTUP_WAIT_S)
            response = await ami.send_action("Originate", fields)
        except (AmiError, TimeoutError) as exc:
            log.error(f"{self.kind}_originate_failed", call_id=call_id, error=str(exc))
            self._end(attempt, "originate_refused")
            return
        if not response.ok:
            log.error(f"{self.kind}_originate_refused", call_id=call_id, message=response.message)
            self._end(attempt, "originate_refused")
            return
        self.originated += 1
        action_id = response.get("ActionID") or ""
        log.info(f"{self.kind}_originated", call_id=call_id, **context)
        early = self._early.pop(action_id, None)
        if early is not None:
            self._originate_response(attempt, early)
        else:
            self._by_action[action_id] = attempt

    def _end(self, attempt: Attempt[LegT], reason: str) -> None:
        """The attempt never reached Asterisk: the advisor is released at once."""
        call_id = attempt.leg.spec.call_id
        self._forget(attempt)
        self._post(ReservationReleased(at=self._inbox.now(), call_id=call_id, reason=reason))
        self._not_dialed(call_id, reason)

    def _not_dialed(self, call_id: str, reason: str) -> None:
        """After ``_end``: what the kind does with an attempt that dialed nobody."""

    def _forget(self, attempt: Attempt[LegT]) -> None:
        call_id = attempt.leg.spec.call_id
        if self._attempts.get(call_id) is attempt:
            del self._attempts[call_id]
        if attempt.uniqueid is not None and self._by_uniqueid.get(attempt.uniqueid) is attempt:
            del self._by_uniqueid[attempt.uniqueid]

    def on_ami_event(self, event: AmiEvent) -> None:
        """OriginateResponse of our Originates, DialEnd ANSWER of whom our legs dial."""
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
                    self._feed(attempt, PartyAnswered())
            case _:
                pass

    def _originate_response(self, attempt: Attempt[LegT], event: OriginateResponse) -> None:
        if event.response.lower() == "success":
            attempt.uniqueid = event.uniqueid
            self._by_uniqueid[event.uniqueid] = attempt
            return
        self._feed(attempt, OriginateFailed(event.reason))

    async def handle_session(self, session: AgiSession) -> None:
        """The originated channel answered: its leg drives the FastAGI session."""
        try:
            call_id = session.script.params.get("id", "")
            attempt = self._attempts.get(call_id)
            if attempt is None or attempt.leg.phase is not self.originating:
                # Not ours (or already over): hang up cleanly, never dial anyone.
                log.warning(f"{self.kind}_session_unknown", call_id=call_id[:80])
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

    async def _drive(self, attempt: Attempt[LegT], session: AgiSession) -> None:
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

    def _feed(self, attempt: Attempt[LegT], item: object) -> None:
        try:
            outputs = attempt.leg.handle(item, self._inbox.now())
        except LegMisuseError:
            log.exception(f"{self.kind}_leg_misused", call_id=attempt.leg.spec.call_id)
            return
        self._apply(attempt, outputs)

    def _apply(self, attempt: Attempt[LegT], outputs: list[Any]) -> None:
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
                case _:
                    self._other_output(attempt, output)
        if attempt.leg.phase is self.ended:
            self._forget(attempt)

    def _other_output(self, attempt: Attempt[LegT], output: object) -> None:
        """An output only this kind of leg has (the campaign's attempt log)."""
        log.error(
            f"{self.kind}_output_dropped", call_id=attempt.leg.spec.call_id, output=repr(output)
        )

    def _note(self, attempt: Attempt[LegT], note: LegNote) -> None:
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
