"""The campaigns' contact legs: AMI Originate out, FastAGI ``outbound`` in. Decides nothing.

``OutboundCalls`` is the runtime's ``ReservedLegs`` for the reason ``outbound``. Progressive and
preview campaigns: for each ``ReserveAgent`` it builds a pure ``OutboundLeg`` and originates the
contact. Predictive campaigns: the dialer asks ``dial`` to originate a contact with no advisor
yet; the answered contact's leg asks the engine for one, and the ``ReserveAgent`` that answers
is fed to that leg (``AdvisorReserved``); the leg's ``WaitFor`` is a timer here. Either way the
contact is originated through the trunk
(``Async: true``, into the dialplan's ``[acd-originated]`` ``outbound``, which runs
``AGI(agi://${ACD_FASTAGI}/outbound?${ACD_ARGS})`` with ``ACD_ARGS=id=<attempt>``; the
campaign's caller ID, ``ACD_OUTBOUND_ID`` and ``ACD_CAMPAIGN`` as channel variables). The AMI
``OriginateResponse`` (matched by ActionID), the FastAGI session of the answered contact and AMI
``DialEnd`` on that channel are fed to the leg; the leg's outputs are carried out here, and each
attempt's end is handed to ``on_attempt`` (the dialer records it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.ami_codec import FieldValue
from acd.asterisk.originated_calls import Attempt, OriginatedCalls, into_dialplan
from acd.asterisk.outbound_leg import (
    AdvisorReserved,
    AttemptOver,
    ContactProgress,
    OutboundLeg,
    OutboundPhase,
    OutboundSpec,
    WaitExpired,
    WaitFor,
)
from acd.core.commands import ReserveAgent
from acd.core.events import ReservationRequested
from acd.runtime.ports import EventInbox


@dataclass(frozen=True, slots=True)
class OutboundDelivery:
    """How contact legs reach the PBX."""

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

ProgressSink = Callable[[str, str], None]
"""``(attempt id, stage)``: a predictive contact answered, or reached an advisor (pacing)."""


class OutboundCalls(OriginatedCalls[OutboundLeg]):
    """``ReservedLegs`` for progressive campaigns; ``handle_session`` serves FastAGI
    ``outbound``."""

    kind = "outbound"
    originating = OutboundPhase.ORIGINATING
    ended = OutboundPhase.ENDED

    def __init__(
        self,
        inbox: EventInbox,
        delivery: OutboundDelivery,
        target_of: Callable[[str, str], OutboundTarget | None],
        on_attempt: AttemptSink,
        ami: AmiClient | None = None,
        *,
        on_progress: ProgressSink | None = None,
    ) -> None:
        super().__init__(inbox, ami)
        self.delivery = delivery
        self._target_of = target_of
        self._on_attempt = on_attempt
        self._on_progress = on_progress

    def phases(self) -> dict[str, OutboundPhase]:
        """Each attempt under way and where it stands (the dialer's pacing reads it)."""
        return {call_id: a.leg.phase for call_id, a in self._attempts.items()}

    def dial(self, call_id: str, target: OutboundTarget, line: ReservationRequested) -> None:
        """Predictive: originate a contact with no advisor yet; once answered they wait in
        ``line`` (the reservation they ask the engine for)."""
        leg = OutboundLeg(
            OutboundSpec(
                call_id=call_id,
                no_advisor_s=self.delivery.no_advisor_s,
                amd=target.amd,
                line=line,
            )
        )
        self._start(leg, self._fields(call_id, target), campaign=target.campaign)

    def reserve_agent(self, command: ReserveAgent) -> None:
        """The engine reserved an advisor: for a waiting predictive contact, dial the advisor;
        otherwise (progressive, preview) originate the contact."""
        attempt = self._attempts.get(command.call_id)
        if attempt is not None and attempt.leg.spec.line is not None:
            self._target_of(command.call_id, command.agent_id)  # the advisor's page shows whom
            self._feed(attempt, AdvisorReserved(command.agent_id, command.endpoint))
            return
        target = self._target_of(command.call_id, command.agent_id)
        if target is None or command.call_id in self._attempts:
            self._refuse(command.call_id, known=target is not None)
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
        self._start(leg, self._fields(command.call_id, target), campaign=target.campaign)

    def _fields(self, call_id: str, target: OutboundTarget) -> dict[str, FieldValue]:
        d = self.delivery
        target_fields = into_dialplan("outbound", call_id)
        return {
            "Channel": d.trunk.replace("{number}", target.dial_number),
            **target_fields,
            "CallerID": target.caller_id,
            "Timeout": str(int(d.originate_timeout_s * 1000)),
            "Variable": [
                f"ACD_OUTBOUND_ID={call_id}",
                f"ACD_CAMPAIGN={target.campaign}",
                *target_fields["Variable"],
            ],
            "Async": "true",
        }

    def _not_dialed(self, call_id: str, reason: str) -> None:
        """The dialer records an attempt that dialed nobody."""
        self._on_attempt(call_id, AttemptOver("not_dialed", reason))

    def _other_output(self, attempt: Attempt[OutboundLeg], output: object) -> None:
        call_id = attempt.leg.spec.call_id
        match output:
            case AttemptOver():
                self._on_attempt(call_id, output)
            case WaitFor(seconds=seconds):
                loop = asyncio.get_running_loop()
                loop.call_later(seconds, self._feed, attempt, WaitExpired())
            case ContactProgress(stage=stage):
                if self._on_progress is not None:
                    self._on_progress(call_id, stage)
            case _:
                super()._other_output(attempt, output)
