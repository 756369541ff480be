"""Channels, bridges and the headers Asterisk 22 prints for them (as in every recorded event)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

DOWN, RING, RINGING, UP = 0, 4, 5, 6
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up"}

CAUSE_TEXT = {
    0: "Unknown",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    18: "No user responding",
    21: "Call Rejected",
}

Headers = list[tuple[str, str]]


@dataclass(eq=False)
class Channel:
    """One Asterisk channel. ``soft_hangup`` is set when anything asks it to hang up."""

    name: str
    uniqueid: str
    linkedid: str
    endpoint: str
    caller_num: str
    caller_name: str
    context: str
    exten: str
    priority: int = 1
    state: int = DOWN
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    variables: dict[str, str] = field(default_factory=dict)
    bridge: Bridge | None = None
    moh_class: str | None = None
    application: str = ""
    application_data: str = ""
    created_at: float = 0.0
    answered_at: float | None = None
    hangup_cause: int | None = None
    # The SIP status behind the cause (486 busy, 404 no contact); Hangup reports it as TechCause.
    tech_cause: str | None = None
    # Who ended it: "remote" (the phone sent BYE/CANCEL), "local" (AMI/dialplan), None while alive.
    hangup_origin: str | None = None
    destroyed: bool = False
    soft_hangup: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    on_hold: bool = False
    # Digits the person on this channel keys when a prompt asks for them (GET DATA), '#' ends.
    dtmf: str = ""
    # Set on entering a bridge: a caller's own talk-time clock starts there.
    bridged: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by AMI ControlPlayback ``stop``: ends the CONTROL STREAM FILE being played.
    stop_playback: asyncio.Event = field(default_factory=asyncio.Event)
    redirect_to: tuple[str, str, int] | None = None
    # The number originally dialed; it survives transfers (agi_dnid in S12 d's second session).
    # None for an originated channel: res_agi then prints ``unknown`` (S13).
    dnid: str | None = ""
    # The other half of a Local channel pair (``;1`` ↔ ``;2``).
    local_peer: Channel | None = None
    # Set on every state change (ringing, answer): an originate waits on it.
    progressed: asyncio.Event = field(default_factory=asyncio.Event)
    # Keys (DTMF) reach a command only while one listens (STREAM FILE, WAIT FOR DIGIT, GET
    # DATA, ChanSpy): a key pressed otherwise shows on AMI and is lost (S14).
    listening: bool = False
    pending_keys: list[str] = field(default_factory=list)
    key_pressed: asyncio.Event = field(default_factory=asyncio.Event)
    # SoftHangupRequest already published (AGI HANGUP): the final hang-up adds no second one.
    soft_hangup_published: bool = False
    # The far end sends audio: Asterisk's answer completes at its first frame (a few ms);
    # a silent one (SIPp without RTP) keeps the answer waiting 0.5 s (Timings).
    sends_audio: bool = True
    # Set by the FastAGI session running on this channel: an AMI Bridge calls it to pull the
    # channel out of the session (ast_bridge_add_channel yanks a channel out of its PBX).
    pull_from_agi: Callable[[], None] | None = None
    # Set when an AMI Bridge pulled the channel out of its application: once the bridge ends,
    # the channel continues in the dialplan after that application (bridge after-goto).
    pulled_out: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when app_dial tells this (calling) channel its callee rings.
    alerted: asyncio.Event = field(default_factory=asyncio.Event)
    # Set on leaving a bridge, cleared on entering one.
    left_bridge: asyncio.Event = field(default_factory=asyncio.Event)

    def stand_in(self) -> Channel:
        """The dead channel a yanked session keeps talking to: res_agi still holds the
        original after the masquerade, hung up, with the variables it had."""
        ghost = Channel(
            name=self.name,
            uniqueid=self.uniqueid,
            linkedid=self.linkedid,
            endpoint=self.endpoint,
            caller_num=self.caller_num,
            caller_name=self.caller_name,
            context=self.context,
            exten=self.exten,
            priority=self.priority,
            state=self.state,
            variables=dict(self.variables),
        )
        ghost.destroyed = True
        ghost.soft_hangup.set()
        return ghost

    def listen_for_keys(self) -> None:
        self.listening = True
        self.pending_keys.clear()
        self.key_pressed.clear()

    def stop_listening(self) -> None:
        self.listening = False
        self.pending_keys.clear()
        self.key_pressed.clear()

    def take_keys(self) -> list[str]:
        keys, self.pending_keys = self.pending_keys, []
        self.key_pressed.clear()
        return keys

    def take_key(self, accepted: str | None = None) -> str | None:
        """The first key pressed since the last call that is in ``accepted`` (any if None);
        the others are dropped, as a playback ignores keys that are not escape digits."""
        for key in self.take_keys():
            if accepted is None or key in accepted:
                return key
        return None

    @property
    def technology(self) -> str:
        return self.name.partition("/")[0]

    @property
    def dead(self) -> bool:
        return self.soft_hangup.is_set()

    def headers(self, prefix: str = "") -> Headers:
        return [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_DESC[self.state]),
            (f"{prefix}CallerIDNum", self.caller_num),
            (f"{prefix}CallerIDName", self.caller_name),
            (f"{prefix}ConnectedLineNum", self.connected_num),
            (f"{prefix}ConnectedLineName", self.connected_name),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]


@dataclass(eq=False)
class Bridge:
    """A basic two-party bridge; ``by_dial`` marks app_dial bridges (their BYE carries Cause 16)."""

    uniqueid: str = field(default_factory=lambda: str(uuid.uuid4()))
    channels: list[Channel] = field(default_factory=list)
    technology: str = "simple_bridge"
    by_dial: bool = True

    def headers(self, prefix: str = "") -> Headers:
        return [
            (f"{prefix}BridgeUniqueid", self.uniqueid),
            (f"{prefix}BridgeType", "basic"),
            (f"{prefix}BridgeTechnology", self.technology),
            (f"{prefix}BridgeCreator", "<unknown>"),
            (f"{prefix}BridgeName", "<unknown>"),
            (f"{prefix}BridgeNumChannels", str(len(self.channels))),
            (f"{prefix}BridgeVideoSourceMode", "none"),
        ]
