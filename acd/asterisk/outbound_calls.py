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

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.originated_calls import Attempt, OriginatedCalls
from acd.asterisk.outbound_leg import AttemptOver, OutboundLeg, OutboundPhase, OutboundSpec
from acd.core.commands import ReserveAgent
from acd.runtime.ports import EventInbox


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
    ) -> None:
        super().__init__(inbox, ami)
        self.delivery = delivery
        self._target_of = target_of
        self._on_attempt = on_attempt

    def reserve_agent(self, command: ReserveAgent) -> None:
        """The engine reserved an advisor for a contact: originate the contact."""
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
        call_id = command.call_id
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
        self._start(leg, fields, campaign=target.campaign)

    def _not_dialed(self, call_id: str, reason: str) -> None:
        """The dialer records an attempt that dialed nobody."""
        self._on_attempt(call_id, AttemptOver("not_dialed", reason))

    def _other_output(self, attempt: Attempt[OutboundLeg], output: object) -> None:
        if isinstance(output, AttemptOver):
            self._on_attempt(attempt.leg.spec.call_id, output)
            return
        super()._other_output(attempt, output)
