"""The callback legs' shell: AMI Originate out, FastAGI ``callback`` sessions in. Decides nothing.

``CallbackCalls`` is the runtime's ``ReservedLegs`` for the reason ``callback``: for each
``ReserveAgent`` it builds a pure ``CallbackLeg`` and originates the advisor's phone
(``Async: true``, into the dialplan's ``[acd-originated]`` ``callback``, which runs
``AGI(agi://${ACD_FASTAGI}/callback?${ACD_ARGS})`` with ``ACD_ARGS=id=<callback>``; the customer
as the caller ID the advisor's phone shows, ``ACD_CALLBACK_ID`` as a channel variable). The AMI
``OriginateResponse`` (matched by ActionID), the FastAGI session of the answered leg and AMI
``DialEnd`` on that channel are fed to the leg; the leg's outputs are carried out here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.ami_codec import FieldValue
from acd.asterisk.callback_leg import CallbackLeg, CallbackPhase, CallbackSpec
from acd.asterisk.originated_calls import OriginatedCalls, into_dialplan
from acd.core.commands import ReserveAgent
from acd.runtime.ports import EventInbox


@dataclass(frozen=True, slots=True)
class CallbackDelivery:
    """How callback legs reach the PBX (from ``[callbacks]``)."""

    trunk: str  # PJSIP/{number}@trunk
    caller_id: str  # the centre's, to the customer
    originate_timeout_s: float = 20.0
    ring_timeout_s: float = 30.0


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """Whom a callback calls: the number in international form, how the trunk dials it."""

    number: str
    dial_number: str
    name: str = ""


class CallbackCalls(OriginatedCalls[CallbackLeg]):
    """``ReservedLegs`` for callbacks; ``handle_session`` serves FastAGI ``callback``."""

    kind = "callback"
    originating = CallbackPhase.ORIGINATING
    ended = CallbackPhase.ENDED

    def __init__(
        self,
        inbox: EventInbox,
        delivery: CallbackDelivery,
        target_of: Callable[[str], CallbackTarget | None],
        ami: AmiClient | None = None,
    ) -> None:
        super().__init__(inbox, ami)
        self.delivery = delivery
        self._target_of = target_of
        # With several PBXs: the AMI of the box an advisor's endpoint is on (their phone is
        # originated there); None: the shell's own AMI.
        self.ami_for: Callable[[str], AmiClient | None] | None = None

    def reserve_agent(self, command: ReserveAgent) -> None:
        """The engine reserved an advisor for a callback: originate the advisor's leg."""
        target = self._target_of(command.call_id)
        if target is None or command.call_id in self._attempts:
            self._refuse(command.call_id, known=target is not None)
            return
        d = self.delivery
        leg = CallbackLeg(
            CallbackSpec(
                call_id=command.call_id,
                agent_id=command.agent_id,
                number=target.number,
                dial_string=d.trunk.replace("{number}", target.dial_number),
                caller_id=d.caller_id,
                ring_timeout_s=d.ring_timeout_s,
            )
        )
        call_id = command.call_id
        shown = (target.name or target.number).replace('"', "")
        target_fields = into_dialplan("callback", call_id)
        fields: dict[str, FieldValue] = {
            "Channel": command.endpoint,
            **target_fields,
            # The advisor's phone shows whom they call back.
            "CallerID": f'"{shown}" <{target.number}>',
            "Timeout": str(int(d.originate_timeout_s * 1000)),
            "Variable": [f"ACD_CALLBACK_ID={call_id}", *target_fields["Variable"]],
            "Async": "true",
        }
        via = self.ami_for(command.endpoint) if self.ami_for is not None else None
        self._start(leg, fields, via=via, endpoint=command.endpoint)
