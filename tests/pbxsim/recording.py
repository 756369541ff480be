"""Trace loader, id normaliser and per-channel comparer for conformance against the lab recordings.

docs/architecture.md's rule: per channel, the same sequence of call-control events, the same header
names, the same values of state/cause/status headers, after a one-to-one renaming of ids and channel
suffixes.
Channels are renamed ``<endpoint>#<n>`` (n-th channel of that endpoint, in creation order); Uniqueid
and Linkedid become the renamed channel they belong to; bridges ``bridge#<n>`` in creation order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

TRACES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk-traces"

Headers = list[tuple[str, str]]

CALL_CONTROL = frozenset(
    {
        "Newchannel",
        "Newstate",
        "NewCallerid",
        "NewConnectedLine",
        "DialBegin",
        "DialState",
        "DialEnd",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "HangupRequest",
        "SoftHangupRequest",
        "Hangup",
        "DeviceStateChange",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "AGIExecStart",
        "AGIExecEnd",
        "OriginateResponse",
    }
)
QUEUE_EVENTS = frozenset(
    {
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "QueueMemberStatus",
        "QueueMemberPause",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
    }
)
REGISTRATION_EVENTS = frozenset({"ContactStatus", "PeerStatus"})

# Headers whose values must match exactly (state, cause, status, outcome).
COMPARED_VALUES = frozenset(
    {
        "ChannelState",
        "ChannelStateDesc",
        "DestChannelState",
        "DestChannelStateDesc",
        "Cause",
        "Cause-txt",
        "DialStatus",
        "State",
        "Status",
        "Paused",
        "PausedReason",
        "ResultCode",
        "Result",
        "Response",
        "Reason",
        "Class",
        "Command",
        "ContactStatus",
        "PeerStatus",
        "Queue",
        "Interface",
        "Position",
        "Count",
        "Digit",
        "Direction",
        "DurationMs",
    }
)

# Values issue 18 asked to match beyond the call-control ones: the event class, the dial string,
# where each channel is in the dialplan, connected lines, the queue member's figures. (HoldTime,
# TalkTime and RingTime are not: app_queue subtracts whole-second wall clocks.)
COMPARED_VALUES = COMPARED_VALUES | {
    "Privilege",
    "DialString",
    "Context",
    "Exten",
    "Priority",
    "DestContext",
    "DestExten",
    "DestPriority",
    "ConnectedLineNum",
    "ConnectedLineName",
    "DestConnectedLineNum",
    "DestConnectedLineName",
    "InCall",
    "CallsTaken",
    "PausedReason",
    "OriginalPosition",
}


@dataclass(frozen=True)
class Record:
    """One JSONL record of a lab recording."""

    seq: int
    t: float
    conn: str
    direction: str
    kind: str
    raw: str
    headers: list[tuple[str, str]]
    note: str = ""


def load(relative: str) -> list[Record]:
    """Load ``<scenario>/ami.jsonl`` or ``agi.jsonl`` from the copied fixtures."""
    records = []
    with (TRACES / relative).open(encoding="utf-8") as handle:
        for line in handle:
            data = json.loads(line)
            headers = [(k, v if v is not None else "") for k, v in data.get("headers") or []]
            records.append(
                Record(
                    seq=data["seq"],
                    t=data["t"],
                    conn=data["conn"],
                    direction=data["direction"],
                    kind=data["kind"],
                    raw=data.get("raw", ""),
                    headers=headers,
                    note=data.get("note", ""),
                )
            )
    return records


def recorded_events(records: list[Record], conn: str = "ami1") -> list[Headers]:
    """The events Asterisk sent on one AMI connection, in order."""
    return [
        r.headers for r in records if r.conn == conn and r.direction == "rx" and r.kind == "event"
    ]


def parse_messages(raw: bytes) -> list[Headers]:
    """Split a captured AMI byte stream into messages (the banner line is skipped)."""
    text = raw.decode("utf-8")
    if text.startswith("Asterisk Call Manager"):
        text = text.split("\r\n", 1)[1]
    messages = []
    for block in text.split("\r\n\r\n"):
        if not block:
            continue
        headers = []
        for line in block.split("\r\n"):
            key, _, value = line.partition(": ")
            headers.append((key, value))
        messages.append(headers)
    return messages


def get(headers: Headers, name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


class Renamer:
    """One-to-one renaming of channel names, uniqueids and bridge ids, by per-stream order."""

    def __init__(self) -> None:
        self.channels: dict[str, str] = {}
        self.uniqueids: dict[str, str] = {}
        self.bridges: dict[str, str] = {}
        self._per_endpoint: dict[str, int] = {}

    def channel(self, name: str) -> str:
        if name in self.channels:
            return self.channels[name]
        match = re.fullmatch(r"(PJSIP/.+)-[0-9a-f]{8}", name)
        if match is None:
            # A dial string such as ``PJSIP/agent4`` (OriginateResponse on failure) is kept.
            return name
        endpoint = match.group(1)
        count = self._per_endpoint.get(endpoint, 0) + 1
        self._per_endpoint[endpoint] = count
        renamed = f"{endpoint}#{count}"
        self.channels[name] = renamed
        return renamed

    def uniqueid(self, value: str, channel: str | None = None) -> str:
        if value in self.uniqueids:
            return self.uniqueids[value]
        if channel is None:
            return value if value == "<unknown>" else f"uid?{value}"
        renamed = f"uid({self.channel(channel)})"
        self.uniqueids[value] = renamed
        return renamed

    def bridge(self, value: str) -> str:
        if value not in self.bridges:
            self.bridges[value] = f"bridge#{len(self.bridges) + 1}"
        return self.bridges[value]


@dataclass(frozen=True)
class Step:
    """One normalised event of a per-channel stream."""

    event: str
    header_names: tuple[str, ...]
    values: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.values)
        return f"{self.event} {shown}"


def stream_key(headers: Headers, renamer: Renamer) -> str:
    event = get(headers, "Event") or ""
    if event in ("QueueMemberStatus", "QueueMemberPause"):
        return f"member {get(headers, 'Queue')} {get(headers, 'Interface')}"
    if event in ("ContactStatus", "PeerStatus"):
        return f"registration {get(headers, 'AOR') or get(headers, 'Peer')}"
    channel = get(headers, "Channel") or get(headers, "DestChannel")
    if channel is not None:
        return renamer.channel(channel)
    device = get(headers, "Device")
    if device is not None:
        return f"device {device}"
    bridge = get(headers, "BridgeUniqueid")
    if bridge is not None:
        return renamer.bridge(bridge)
    return f"other {event}"


def normalise(
    events: list[Headers],
    wanted: frozenset[str],
    *,
    skip_devices: tuple[str, ...] = ("Queue:",),
    races: frozenset[tuple[str, str]] = frozenset(),
) -> dict[str, list[Step]]:
    """Group wanted events per channel/device/bridge stream and rename ids.

    ``races`` lists (event, header) values that Asterisk itself does not fix (they differ between
    runs of the same scenario); their header names are still compared.
    """
    renamer = Renamer()
    streams: dict[str, list[Step]] = {}
    for headers in events:
        event = get(headers, "Event") or ""
        if event not in wanted:
            continue
        device = get(headers, "Device")
        if device is not None and device.startswith(skip_devices):
            continue
        if event == "DeviceStateChange" and get(headers, "ActionID") is not None:
            continue  # a DeviceStateList item, not a change
        if event == "Newchannel":
            renamer.uniqueid(get(headers, "Uniqueid") or "", get(headers, "Channel") or "")
        key = stream_key(headers, renamer)
        values: list[tuple[str, str]] = []
        for name, value in headers:
            if (event, name) in races:
                continue
            if name in COMPARED_VALUES:
                values.append((name, value))
            elif name in ("Channel", "DestChannel"):
                values.append((name, renamer.channel(value)))
            elif name in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"):
                values.append((name, renamer.uniqueid(value)))
            elif name == "BridgeUniqueid":
                values.append((name, renamer.bridge(value)))
        names = tuple(name for name, _ in headers if name != "ActionID")
        streams.setdefault(key, []).append(Step(event, names, tuple(values)))
    return streams


def compare_streams(recorded: dict[str, list[Step]], simulated: dict[str, list[Step]]) -> list[str]:
    """Differences between two normalised captures, as readable lines (empty when equal)."""
    problems: list[str] = []
    for key in sorted(set(recorded) | set(simulated)):
        want = recorded.get(key, [])
        got = simulated.get(key, [])
        if [s.event for s in want] != [s.event for s in got]:
            problems.append(
                f"{key}: events differ\n  recorded:  {[s.event for s in want]}\n"
                f"  simulated: {[s.event for s in got]}"
            )
            continue
        for index, (a, b) in enumerate(zip(want, got, strict=True)):
            if a.header_names != b.header_names:
                problems.append(
                    f"{key}[{index}] {a.event}: header names differ\n"
                    f"  recorded:  {a.header_names}\n  simulated: {b.header_names}"
                )
            if a.values != b.values:
                problems.append(f"{key}[{index}] {a.event}: values differ: {_value_diff(a, b)}")
    return problems


def _value_diff(recorded: Step, simulated: Step) -> str:
    """The headers whose values differ, ``name: recorded != simulated``."""
    want = dict(recorded.values)
    got = dict(simulated.values)
    return "; ".join(
        f"{name}: {want.get(name)!r} != {got.get(name)!r}"
        for name in dict.fromkeys([*want, *got])
        if want.get(name) != got.get(name)
    )
