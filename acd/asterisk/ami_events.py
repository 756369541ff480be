"""AMI events -> typed, validated records. Pure functions over `AmiFrame`, no I/O.

`translate_event(frame)` never raises: a frame for an event the ACD does not use becomes
`IgnoredEvent` (VarSet, Cdr, CEL, Newexten, RTCP... about 60 % of a PBX's volume), and a known
event with a missing or out-of-range header becomes `MalformedEvent` with the reason, so the
caller can log it with its ids and drop it.

Record classes carry the AMI event names (`DialEnd`, `Hangup`...) so a reader can match them to
Asterisk's documentation and to the recordings; the translation to core events happens later,
outside this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from acd.asterisk.ami_codec import AmiFrame, FrameKind


class DeviceState(Enum):
    """Asterisk device states (`DeviceStateChange State:` tokens)."""

    UNKNOWN = "UNKNOWN"
    NOT_INUSE = "NOT_INUSE"
    INUSE = "INUSE"
    BUSY = "BUSY"
    INVALID = "INVALID"
    UNAVAILABLE = "UNAVAILABLE"
    RINGING = "RINGING"
    RINGINUSE = "RINGINUSE"
    ONHOLD = "ONHOLD"


# PJSIPShowEndpoints' EndpointList spells device states as words (ast_devstate_str), not tokens.
_DEVICE_STATE_WORDS = {
    "Unknown": DeviceState.UNKNOWN,
    "Not in use": DeviceState.NOT_INUSE,
    "In use": DeviceState.INUSE,
    "Busy": DeviceState.BUSY,
    "Invalid": DeviceState.INVALID,
    "Unavailable": DeviceState.UNAVAILABLE,
    "Ringing": DeviceState.RINGING,
    "Ring+Inuse": DeviceState.RINGINUSE,
    "On Hold": DeviceState.ONHOLD,
}


class DialStatus(Enum):
    """`DialStatus:` of DialEnd (final) and DialState (progress), as app_dial reports them."""

    ANSWER = "ANSWER"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CANCEL = "CANCEL"
    CONGESTION = "CONGESTION"
    CHANUNAVAIL = "CHANUNAVAIL"
    DONTCALL = "DONTCALL"
    TORTURE = "TORTURE"
    INVALIDARGS = "INVALIDARGS"
    RINGING = "RINGING"
    PROCEEDING = "PROCEEDING"
    PROGRESS = "PROGRESS"


class ContactState(Enum):
    """res_pjsip contact status (ContactStatus events and ContactList items)."""

    CREATED = "Created"
    NON_QUALIFIED = "NonQualified"
    REACHABLE = "Reachable"
    UNREACHABLE = "Unreachable"
    REMOVED = "Removed"
    UPDATED = "Updated"
    UNKNOWN = "Unknown"


class PeerState(Enum):
    """`PeerStatus:` values (chan_pjsip sends Reachable/Unreachable; the rest are historical)."""

    REACHABLE = "Reachable"
    UNREACHABLE = "Unreachable"
    REGISTERED = "Registered"
    UNREGISTERED = "Unregistered"
    REJECTED = "Rejected"
    LAGGED = "Lagged"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class ChannelSnapshot:
    """The channel block every channel event repeats (ast_manager_build_channel_state)."""

    channel: str
    uniqueid: str
    linkedid: str
    state: int
    state_desc: str
    caller_id_num: str
    caller_id_name: str
    connected_line_num: str
    connected_line_name: str
    context: str
    exten: str
    priority: int


@dataclass(frozen=True, slots=True)
class DeviceStateChange:
    """A device's aggregate state; also a DeviceStateList item (then `action_id` is set)."""

    device: str
    state: DeviceState
    action_id: str | None


@dataclass(frozen=True, slots=True)
class ContactStatus:
    """A PJSIP contact changed (registered, qualified, unreachable, removed)."""

    uri: str
    status: ContactState
    aor: str
    endpoint: str
    roundtrip_usec: int | None


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """An endpoint became reachable or unreachable (`Peer: PJSIP/reg1`)."""

    channel_type: str
    peer: str
    status: PeerState


@dataclass(frozen=True, slots=True)
class Newchannel:
    """A channel was created."""

    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class Newstate:
    """A channel changed state (Ringing, Up...)."""

    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class DialBegin:
    """`channel` started dialing `dest` (the agent leg) with `dial_string`."""

    channel: ChannelSnapshot | None
    dest: ChannelSnapshot
    dial_string: str


@dataclass(frozen=True, slots=True)
class DialState:
    """Dial progress on the agent leg (RINGING, PROCEEDING, PROGRESS)."""

    channel: ChannelSnapshot | None
    dest: ChannelSnapshot
    status: DialStatus


@dataclass(frozen=True, slots=True)
class DialEnd:
    """A dial attempt ended: ANSWER, NOANSWER, BUSY, CANCEL, ..."""

    channel: ChannelSnapshot | None
    dest: ChannelSnapshot
    status: DialStatus


@dataclass(frozen=True, slots=True)
class BridgeEnter:
    """A channel entered a bridge."""

    bridge_id: str
    bridge_channels: int
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class BridgeLeave:
    """A channel left a bridge."""

    bridge_id: str
    bridge_channels: int
    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class DtmfEnd:
    """A key's end on `channel` (S14): RFC 2833 sends DTMFBegin first, SIP INFO only this one.

    `direction` is `Received` for a key the channel's person pressed, `Sent` for one Asterisk
    played to them."""

    channel: ChannelSnapshot
    digit: str
    duration_ms: int | None
    direction: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """A channel is gone; `cause` is the Q.850 cause (16 normal, 17 busy, 0 unknown...)."""

    channel: ChannelSnapshot
    cause: int
    cause_txt: str


@dataclass(frozen=True, slots=True)
class BlindTransfer:
    """A blind transfer (SIP REFER): the transferee continues at `context`/`extension`."""

    result: str
    transferer: ChannelSnapshot
    transferee: ChannelSnapshot | None
    bridge_id: str
    is_external: bool
    context: str
    extension: str


@dataclass(frozen=True, slots=True)
class AttendedTransfer:
    """An attended transfer; the caller (transferee) now talks to `transfer_target`."""

    result: str
    orig_transferer: ChannelSnapshot
    second_transferer: ChannelSnapshot
    transferee: ChannelSnapshot | None
    transfer_target: ChannelSnapshot | None
    is_external: bool
    dest_type: str
    dest_bridge_id: str | None


@dataclass(frozen=True, slots=True)
class Hold:
    """A channel put its peer on hold."""

    channel: ChannelSnapshot
    music_class: str


@dataclass(frozen=True, slots=True)
class Unhold:
    """A channel took its peer off hold."""

    channel: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class AgiExecStart:
    """An AGI command started on a channel (AMI event AGIExecStart)."""

    channel: ChannelSnapshot
    command_id: str
    command: str


@dataclass(frozen=True, slots=True)
class AgiExecEnd:
    """An AGI command finished (AMI event AGIExecEnd); `result_code` 200/510/511/520."""

    channel: ChannelSnapshot
    command_id: str
    command: str
    result_code: int
    result: str


@dataclass(frozen=True, slots=True)
class OriginateResponse:
    """Outcome of an async Originate (`response` Success/Failure, `reason` 4 = answered)."""

    action_id: str | None
    response: str
    channel: str
    reason: int
    uniqueid: str


@dataclass(frozen=True, slots=True)
class ChanSpyStart:
    """A ChanSpy attached the spyer (a supervisor's phone) to the spyee (an advisor), S15."""

    spyer: ChannelSnapshot
    spyee: ChannelSnapshot


@dataclass(frozen=True, slots=True)
class ChanSpyStop:
    """The spying ended; the spyer's Hangup follows (S15: Cause 0 however it ends)."""

    spyer: ChannelSnapshot
    spyee: ChannelSnapshot | None


@dataclass(frozen=True, slots=True)
class FullyBooted:
    """Sent right after login with `Events: on` (and when Asterisk finishes booting)."""

    status: str
    uptime: int | None


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Asterisk is stopping; it closes the AMI socket right after."""

    shutdown: str
    restart: bool


@dataclass(frozen=True, slots=True)
class CoreShowChannel:
    """A CoreShowChannels list item."""

    action_id: str | None
    channel: ChannelSnapshot
    application: str
    application_data: str
    duration: str
    bridge_id: str


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """A Status list item: one channel, how long it has existed and the variables asked for
    (``Variables: A,B``; an unset variable reads '')."""

    action_id: str | None
    channel: ChannelSnapshot
    application: str
    bridge_id: str
    seconds: int
    variables: tuple[tuple[str, str], ...]

    def variable(self, name: str) -> str:
        return next((value for key, value in self.variables if key == name), "")


@dataclass(frozen=True, slots=True)
class QueueCallerJoin:
    """A caller entered an app_queue queue: with acd, the dialplan's fallback ``Queue()``."""

    channel: ChannelSnapshot
    queue: str


@dataclass(frozen=True, slots=True)
class QueueParams:
    """A QueueStatus list item: one app_queue queue's counters since Asterisk started (or since a
    QueueReset). ``completed`` and ``abandoned`` count calls that left the queue."""

    action_id: str | None
    queue: str
    calls: int
    completed: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class EndpointList:
    """A PJSIPShowEndpoints list item; `contacts` without the trailing comma Asterisk adds."""

    action_id: str | None
    endpoint: str
    aor: str
    contacts: tuple[str, ...]
    device_state: DeviceState
    active_channels: int


@dataclass(frozen=True, slots=True)
class ContactList:
    """A PJSIPShowContacts list item (registered contacts only; static AOR contacts are absent)."""

    action_id: str | None
    endpoint: str
    aor: str
    uri: str
    status: ContactState
    roundtrip_usec: int | None
    expiration_time: int | None


@dataclass(frozen=True, slots=True)
class ListComplete:
    """The `...Complete` event closing a list action."""

    name: str
    action_id: str | None
    list_items: int


@dataclass(frozen=True, slots=True)
class IgnoredEvent:
    """An event the ACD does not use (VarSet, Cdr, CEL, Newexten, Queue*, ...)."""

    name: str


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """A known event with a missing or invalid header, or a frame that is not an event."""

    name: str
    reason: str
    frame: AmiFrame


AmiEvent = (
    DeviceStateChange
    | ContactStatus
    | PeerStatus
    | Newchannel
    | Newstate
    | DialBegin
    | DialState
    | DialEnd
    | BridgeEnter
    | BridgeLeave
    | Hangup
    | DtmfEnd
    | BlindTransfer
    | AttendedTransfer
    | Hold
    | Unhold
    | AgiExecStart
    | AgiExecEnd
    | OriginateResponse
    | ChanSpyStart
    | ChanSpyStop
    | FullyBooted
    | Shutdown
    | CoreShowChannel
    | QueueParams
    | QueueCallerJoin
    | ChannelStatus
    | EndpointList
    | ContactList
    | ListComplete
    | IgnoredEvent
    | MalformedEvent
)


_E = TypeVar("_E", bound=Enum)


class _InvalidHeaderError(Exception):
    """A header is missing or out of range; becomes MalformedEvent.reason."""


class _Fields:
    """Header access with validation; a failed check raises _InvalidHeaderError naming it."""

    def __init__(self, frame: AmiFrame) -> None:
        # One pass over the headers; first occurrence wins, like AmiFrame.get (a channel event
        # has ~20 headers and is read ~15 times).
        self._index: dict[str, str] = {}
        self._frame = frame
        for key, value in frame.headers:
            self._index.setdefault(key.lower(), value)

    def text(self, name: str) -> str:
        value = self._index.get(name.lower())
        if value is None:
            raise _InvalidHeaderError(f"missing header {name}")
        return value

    def optional(self, name: str) -> str | None:
        return self._index.get(name.lower())

    def every(self, name: str) -> list[str]:
        """Each value of a header that may repeat (``Variable:``), in order."""
        wanted = name.lower()
        return [value for key, value in self._frame.headers if key.lower() == wanted]

    def integer(self, name: str) -> int:
        value = self.text(name)
        try:
            return int(value)
        except ValueError:
            raise _InvalidHeaderError(f"header {name} is not an integer: {value!r}") from None

    def optional_integer(self, name: str) -> int | None:
        value = self._index.get(name.lower())
        if value is None or value in ("", "N/A"):
            return None
        try:
            return int(value)
        except ValueError:
            raise _InvalidHeaderError(f"header {name} is not an integer: {value!r}") from None

    def enum(self, name: str, kind: type[_E]) -> _E:
        value = self.text(name)
        try:
            return kind(value)
        except ValueError:
            raise _InvalidHeaderError(f"header {name} has unknown value {value!r}") from None

    def yes_no(self, name: str) -> bool:
        value = self.text(name)
        if value.lower() in ("yes", "true"):
            return True
        if value.lower() in ("no", "false"):
            return False
        raise _InvalidHeaderError(f"header {name} is not yes/no: {value!r}")

    def channel(self, prefix: str = "") -> ChannelSnapshot:
        return ChannelSnapshot(
            channel=self.text(f"{prefix}Channel"),
            uniqueid=self.text(f"{prefix}Uniqueid"),
            linkedid=self.text(f"{prefix}Linkedid"),
            state=self.integer(f"{prefix}ChannelState"),
            state_desc=self.text(f"{prefix}ChannelStateDesc"),
            caller_id_num=self.text(f"{prefix}CallerIDNum"),
            caller_id_name=self.text(f"{prefix}CallerIDName"),
            connected_line_num=self.text(f"{prefix}ConnectedLineNum"),
            connected_line_name=self.text(f"{prefix}ConnectedLineName"),
            context=self.text(f"{prefix}Context"),
            exten=self.text(f"{prefix}Exten"),
            priority=self.integer(f"{prefix}Priority"),
        )

    def optional_channel(self, prefix: str) -> ChannelSnapshot | None:
        # Dial events from an Originate and transfers to/from nothing omit one side entirely.
        if self._index.get(f"{prefix}Channel".lower()) is None:
            return None
        return self.channel(prefix)


def _device_state_change(f: _Fields) -> DeviceStateChange:
    return DeviceStateChange(
        device=f.text("Device"),
        state=f.enum("State", DeviceState),
        action_id=f.optional("ActionID"),
    )


def _contact_status(f: _Fields) -> ContactStatus:
    return ContactStatus(
        uri=f.text("URI"),
        status=f.enum("ContactStatus", ContactState),
        aor=f.text("AOR"),
        endpoint=f.text("EndpointName"),
        roundtrip_usec=f.optional_integer("RoundtripUsec"),
    )


def _peer_status(f: _Fields) -> PeerStatus:
    return PeerStatus(
        channel_type=f.text("ChannelType"),
        peer=f.text("Peer"),
        status=f.enum("PeerStatus", PeerState),
    )


def _dial_begin(f: _Fields) -> DialBegin:
    return DialBegin(
        channel=f.optional_channel(""),
        dest=f.channel("Dest"),
        dial_string=f.text("DialString"),
    )


def _dial_state(f: _Fields) -> DialState:
    return DialState(
        channel=f.optional_channel(""),
        dest=f.channel("Dest"),
        status=f.enum("DialStatus", DialStatus),
    )


def _dial_end(f: _Fields) -> DialEnd:
    return DialEnd(
        channel=f.optional_channel(""),
        dest=f.channel("Dest"),
        status=f.enum("DialStatus", DialStatus),
    )


def _bridge_enter(f: _Fields) -> BridgeEnter:
    return BridgeEnter(
        bridge_id=f.text("BridgeUniqueid"),
        bridge_channels=f.integer("BridgeNumChannels"),
        channel=f.channel(),
    )


def _bridge_leave(f: _Fields) -> BridgeLeave:
    return BridgeLeave(
        bridge_id=f.text("BridgeUniqueid"),
        bridge_channels=f.integer("BridgeNumChannels"),
        channel=f.channel(),
    )


def _hangup(f: _Fields) -> Hangup:
    return Hangup(channel=f.channel(), cause=f.integer("Cause"), cause_txt=f.text("Cause-txt"))


def _blind_transfer(f: _Fields) -> BlindTransfer:
    return BlindTransfer(
        result=f.text("Result"),
        transferer=f.channel("Transferer"),
        transferee=f.optional_channel("Transferee"),
        bridge_id=f.text("BridgeUniqueid"),
        is_external=f.yes_no("IsExternal"),
        context=f.text("Context"),
        extension=f.text("Extension"),
    )


def _attended_transfer(f: _Fields) -> AttendedTransfer:
    return AttendedTransfer(
        result=f.text("Result"),
        orig_transferer=f.channel("OrigTransferer"),
        second_transferer=f.channel("SecondTransferer"),
        transferee=f.optional_channel("Transferee"),
        transfer_target=f.optional_channel("TransferTarget"),
        is_external=f.yes_no("IsExternal"),
        dest_type=f.text("DestType"),
        dest_bridge_id=f.optional("DestBridgeUniqueid"),
    )


def _agi_exec_start(f: _Fields) -> AgiExecStart:
    return AgiExecStart(
        channel=f.channel(), command_id=f.text("CommandId"), command=f.text("Command")
    )


def _agi_exec_end(f: _Fields) -> AgiExecEnd:
    return AgiExecEnd(
        channel=f.channel(),
        command_id=f.text("CommandId"),
        command=f.text("Command"),
        result_code=f.integer("ResultCode"),
        result=f.text("Result"),
    )


def _originate_response(f: _Fields) -> OriginateResponse:
    return OriginateResponse(
        action_id=f.optional("ActionID"),
        response=f.text("Response"),
        channel=f.text("Channel"),
        reason=f.integer("Reason"),
        uniqueid=f.text("Uniqueid"),
    )


def _core_show_channel(f: _Fields) -> CoreShowChannel:
    return CoreShowChannel(
        action_id=f.optional("ActionID"),
        channel=f.channel(),
        application=f.text("Application"),
        application_data=f.text("ApplicationData"),
        duration=f.text("Duration"),
        bridge_id=f.optional("BridgeId") or "",
    )


def _channel_status(f: _Fields) -> ChannelStatus:
    variables = []
    for text in f.every("Variable"):
        name, _, value = text.partition("=")
        variables.append((name, value))
    return ChannelStatus(
        action_id=f.optional("ActionID"),
        channel=f.channel(),
        application=f.optional("Application") or "",
        bridge_id=f.optional("BridgeID") or "",
        seconds=f.optional_integer("Seconds") or 0,
        variables=tuple(variables),
    )


def _queue_params(f: _Fields) -> QueueParams:
    return QueueParams(
        action_id=f.optional("ActionID"),
        queue=f.text("Queue"),
        calls=f.integer("Calls"),
        completed=f.integer("Completed"),
        abandoned=f.integer("Abandoned"),
    )


def _endpoint_list(f: _Fields) -> EndpointList:
    word = f.text("DeviceState")
    state = _DEVICE_STATE_WORDS.get(word)
    if state is None:
        raise _InvalidHeaderError(f"header DeviceState has unknown value {word!r}")
    return EndpointList(
        action_id=f.optional("ActionID"),
        endpoint=f.text("ObjectName"),
        aor=f.text("Aor"),
        # An endpoint without an AOR has no Contacts header at all (S5 `callers`).
        contacts=tuple(c for c in (f.optional("Contacts") or "").split(",") if c),
        device_state=state,
        active_channels=f.integer("ActiveChannels"),
    )


def _contact_list(f: _Fields) -> ContactList:
    return ContactList(
        action_id=f.optional("ActionID"),
        endpoint=f.text("Endpoint"),
        aor=f.text("ObjectName").split(";@", 1)[0],
        uri=f.text("Uri"),
        status=f.enum("Status", ContactState),
        roundtrip_usec=f.optional_integer("RoundtripUsec"),
        expiration_time=f.optional_integer("ExpirationTime"),
    )


_TRANSLATORS: dict[str, Callable[[_Fields], AmiEvent]] = {
    "devicestatechange": _device_state_change,
    "contactstatus": _contact_status,
    "peerstatus": _peer_status,
    "newchannel": lambda f: Newchannel(channel=f.channel()),
    "newstate": lambda f: Newstate(channel=f.channel()),
    "dialbegin": _dial_begin,
    "dialstate": _dial_state,
    "dialend": _dial_end,
    "bridgeenter": _bridge_enter,
    "bridgeleave": _bridge_leave,
    "hangup": _hangup,
    "dtmfend": lambda f: DtmfEnd(
        channel=f.channel(),
        digit=f.text("Digit"),
        duration_ms=f.optional_integer("DurationMs"),
        direction=f.text("Direction"),
    ),
    "blindtransfer": _blind_transfer,
    "attendedtransfer": _attended_transfer,
    "hold": lambda f: Hold(channel=f.channel(), music_class=f.optional("MusicClass") or ""),
    "unhold": lambda f: Unhold(channel=f.channel()),
    "agiexecstart": _agi_exec_start,
    "agiexecend": _agi_exec_end,
    "originateresponse": _originate_response,
    "chanspystart": lambda f: ChanSpyStart(spyer=f.channel("Spyer"), spyee=f.channel("Spyee")),
    # A spyee already gone may be missing from the stop (chan_spy publishes what it still has).
    "chanspystop": lambda f: ChanSpyStop(
        spyer=f.channel("Spyer"), spyee=f.optional_channel("Spyee")
    ),
    "fullybooted": lambda f: FullyBooted(
        status=f.text("Status"), uptime=f.optional_integer("Uptime")
    ),
    "shutdown": lambda f: Shutdown(shutdown=f.text("Shutdown"), restart=f.yes_no("Restart")),
    "coreshowchannel": _core_show_channel,
    "queueparams": _queue_params,
    "queuecallerjoin": lambda f: QueueCallerJoin(channel=f.channel(), queue=f.text("Queue")),
    "status": _channel_status,
    "endpointlist": _endpoint_list,
    "contactlist": _contact_list,
}

# Names the ACD translates; everything else is IgnoredEvent. Exposed for docs and tests.
TRANSLATED_EVENTS = frozenset(_TRANSLATORS)


def translate_event(frame: AmiFrame) -> AmiEvent:
    """Turn one AMI frame into a typed record; never raises (see module docstring)."""
    if frame.kind is not FrameKind.EVENT:
        return MalformedEvent(name=frame.name, reason="frame is not an event", frame=frame)
    name = frame.name
    fields = _Fields(frame)
    key = name.lower()
    if key.endswith("complete") and (frame.get("EventList") or "").lower() == "complete":
        try:
            return ListComplete(
                name=name,
                action_id=frame.action_id,
                list_items=fields.optional_integer("ListItems") or 0,
            )
        except _InvalidHeaderError as invalid:
            return MalformedEvent(name=name, reason=str(invalid), frame=frame)
    translator = _TRANSLATORS.get(key)
    if translator is None:
        return IgnoredEvent(name=name)
    try:
        return translator(fields)
    except _InvalidHeaderError as invalid:
        return MalformedEvent(name=name, reason=str(invalid), frame=frame)
