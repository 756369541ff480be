"""AMI records → what routing cares about: leg inputs keyed by the caller's Uniqueid, and advisors'
phone states as engine events. Pure: no I/O, no clock (the caller stamps the events).

acd asks Asterisk for ``AMI_EVENTS`` only (its ``Filter`` action) and drops any other event unread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from acd.asterisk.ami_events import (
    AmiEvent,
    AttendedTransfer,
    BlindTransfer,
    DeviceState,
    DeviceStateChange,
    DialEnd,
    DialStatus,
    DtmfEnd,
)
from acd.asterisk.call_leg import CallerTransferred, DialAnswered, KeyHeard, endpoint_of_channel
from acd.core.events import PhoneStateChanged
from acd.core.states import PhoneState

# The AMI events `translate` acts on, as Asterisk names them (for its Filter action), and in
# lower case (AmiSettings.event_names). OriginateResponse and ChanSpyStart/Stop are read by the
# supervisor's desk (acd.asterisk.chanspy), not by routing: an OriginateResponse is an event, so
# the server-side filter would drop it although it carries our ActionID.
AMI_EVENTS = (
    "DeviceStateChange",
    "DialEnd",
    "BlindTransfer",
    "AttendedTransfer",
    "DTMFEnd",
    "OriginateResponse",
    "ChanSpyStart",
    "ChanSpyStop",
    # Read by the daemon, not by routing: a caller the dialplan's fallback Queue() took while acd
    # runs (its FastAGI refused or unreachable for that call) is recorded from it.
    "QueueCallerJoin",
)
AMI_EVENTS_USED = frozenset(name.lower() for name in AMI_EVENTS)

_DEVICE_TO_PHONE = {
    DeviceState.NOT_INUSE: PhoneState.IDLE,
    DeviceState.INUSE: PhoneState.IN_USE,
    DeviceState.BUSY: PhoneState.IN_USE,
    DeviceState.ONHOLD: PhoneState.IN_USE,
    DeviceState.RINGINUSE: PhoneState.IN_USE,
    DeviceState.RINGING: PhoneState.RINGING,
    DeviceState.UNAVAILABLE: PhoneState.UNREACHABLE,
    DeviceState.INVALID: PhoneState.UNREACHABLE,
}


@dataclass(frozen=True, slots=True)
class ForLeg:
    """An input for the leg of the caller channel ``uniqueid``."""

    uniqueid: str
    input: DialAnswered | CallerTransferred | KeyHeard


@dataclass(frozen=True, slots=True)
class PhoneChanged:
    """An advisor's phone changed state (the engine's ``PhoneStateChanged`` once stamped)."""

    agent_id: str
    phone: PhoneState

    def event(self, at: float) -> PhoneStateChanged:
        return PhoneStateChanged(at=at, agent_id=self.agent_id, phone=self.phone)


Translated = ForLeg | PhoneChanged


def translate(event: AmiEvent, agents_by_endpoint: Mapping[str, str]) -> Translated | None:
    """What an AMI event means to routing; None for everything else (other advisors' devices,
    dials that are not ours, unknown channels)."""
    match event:
        case DeviceStateChange(device=device, state=state):
            return phone_changed(device, state, agents_by_endpoint)
        case DialEnd(channel=caller, dest=dest, status=DialStatus.ANSWER) if caller is not None:
            agent_id = agents_by_endpoint.get(endpoint_of_channel(dest.channel))
            if agent_id is None:
                return None
            return ForLeg(caller.uniqueid, DialAnswered(agent_id))
        case BlindTransfer(transferee=transferee, transferer=transferer) if transferee:
            agent_id = agents_by_endpoint.get(endpoint_of_channel(transferer.channel))
            if agent_id is None:
                return None
            target = f"{event.extension}@{event.context}"
            return ForLeg(transferee.uniqueid, CallerTransferred(agent_id, target))
        case AttendedTransfer(transferee=transferee) if transferee is not None:
            agent_id = agents_by_endpoint.get(endpoint_of_channel(event.orig_transferer.channel))
            if agent_id is None:
                return None
            target = event.transfer_target.channel if event.transfer_target else "bridge"
            return ForLeg(transferee.uniqueid, CallerTransferred(agent_id, target))
        case DtmfEnd(channel=channel, digit=digit, direction="Received"):
            # Keys on any channel; only a caller's leg (by Uniqueid) takes them.
            return ForLeg(channel.uniqueid, KeyHeard(digit))
        case _:
            return None


def phone_changed(
    device: str, state: DeviceState, agents_by_endpoint: Mapping[str, str]
) -> PhoneChanged | None:
    """An advisor's device state as a phone state; None for other devices and unmapped states."""
    agent_id = agents_by_endpoint.get(device)
    phone = _DEVICE_TO_PHONE.get(state)
    if agent_id is None or phone is None:
        return None
    return PhoneChanged(agent_id, phone)
