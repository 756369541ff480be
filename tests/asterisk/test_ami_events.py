"""AMI event translation against every event in the recordings."""

from __future__ import annotations

import collections

import pytest

from acd.asterisk.ami_codec import AmiFrame, frame_from_pairs
from acd.asterisk.ami_events import (
    AgiExecEnd,
    AttendedTransfer,
    BlindTransfer,
    BridgeEnter,
    ContactList,
    ContactState,
    ContactStatus,
    CoreShowChannel,
    DeviceState,
    DeviceStateChange,
    DialEnd,
    DialStatus,
    EndpointList,
    FullyBooted,
    Hangup,
    Hold,
    IgnoredEvent,
    ListComplete,
    MalformedEvent,
    OriginateResponse,
    PeerState,
    PeerStatus,
    Shutdown,
    translate_event,
)
from tests.asterisk.recordings import ami_recordings, first_rx, load


def _translate(record_headers: list[list[str | None]]) -> object:
    return translate_event(frame_from_pairs(record_headers))


def test_every_recorded_event_translates_without_error() -> None:
    """All recorded events become typed records; none is malformed; the ACD's types all occur."""
    seen: collections.Counter[str] = collections.Counter()
    for recording in ami_recordings():
        for record in load(recording):
            if record.direction == "rx" and record.kind == "event":
                event = _translate(record.headers)
                assert not isinstance(event, MalformedEvent), (recording, record.seq, event)
                seen[type(event).__name__] += 1
    for name in [
        "DeviceStateChange", "ContactStatus", "PeerStatus", "Newchannel", "Newstate",
        "DialBegin", "DialState", "DialEnd", "BridgeEnter", "BridgeLeave", "Hangup",
        "BlindTransfer", "AttendedTransfer", "Hold", "Unhold", "AgiExecStart", "AgiExecEnd",
        "OriginateResponse", "FullyBooted", "Shutdown", "CoreShowChannel", "EndpointList",
        "ContactList", "ListComplete", "IgnoredEvent",
    ]:  # fmt: skip
        assert seen[name] > 0, name


def test_dial_end_answer_on_the_agi_caller_channel() -> None:
    """S9a DialEnd: caller channel, agent leg and ANSWER status are read."""
    record = first_rx("S9-agi-acd-flows/a/ami.jsonl", "DialStatus: ANSWER")
    event = _translate(record.headers)
    assert isinstance(event, DialEnd)
    assert event.status is DialStatus.ANSWER
    assert event.channel is not None
    assert event.channel.channel == "PJSIP/callers-00000000"
    assert event.dest.channel == "PJSIP/agent1-00000001"
    assert event.dest.linkedid == event.channel.uniqueid


def test_hangup_carries_the_q850_cause() -> None:
    """A busy agent leg hangs up with cause 17 "User busy" (S5)."""
    record = first_rx("S5-ami-actions/ami.jsonl", "Cause-txt: User busy")
    event = _translate(record.headers)
    assert isinstance(event, Hangup)
    assert (event.cause, event.cause_txt) == (17, "User busy")


def test_blind_transfer_names_target_context_and_extension() -> None:
    """S12a BlindTransfer: transferer, transferee, external flag and REFER target."""
    record = first_rx("S12-transfers/a/ami.jsonl", "Event: BlindTransfer")
    event = _translate(record.headers)
    assert isinstance(event, BlindTransfer)
    assert event.is_external is True
    assert (event.context, event.extension) == ("lab-agents", "7002")
    assert event.transferer.channel == "PJSIP/agent1-00000001"
    assert event.transferee is not None
    assert event.transferee.channel == "PJSIP/callers-00000000"


def test_attended_transfer_names_the_new_agent() -> None:
    """S12b AttendedTransfer: the caller now talks to the transfer target, into a bridge."""
    record = first_rx("S12-transfers/b/ami.jsonl", "Event: AttendedTransfer")
    event = _translate(record.headers)
    assert isinstance(event, AttendedTransfer)
    assert event.is_external is False
    assert event.dest_type == "Bridge"
    assert event.transfer_target is not None
    assert event.transfer_target.channel == "PJSIP/agent2-00000003"


def test_hold_registration_and_device_events() -> None:
    """Hold, ContactStatus NonQualified, PeerStatus Reachable and DeviceStateChange are typed."""
    hold = _translate(first_rx("S12-transfers/b/ami.jsonl", "Event: Hold").headers)
    assert isinstance(hold, Hold)
    assert hold.music_class == "default"
    contact = _translate(first_rx("S11-registration/a/ami.jsonl", "Event: ContactStatus\r").headers)
    assert isinstance(contact, ContactStatus)
    assert (contact.status, contact.endpoint) == (ContactState.NON_QUALIFIED, "reg1")
    peer = _translate(first_rx("S11-registration/a/ami.jsonl", "Event: PeerStatus").headers)
    assert isinstance(peer, PeerStatus)
    assert (peer.peer, peer.status) == ("PJSIP/reg1", PeerState.REACHABLE)
    device = _translate(
        first_rx("S9-agi-acd-flows/a/ami.jsonl", "Device: PJSIP/agent1\r\nState: RINGING").headers
    )
    assert device == DeviceStateChange("PJSIP/agent1", DeviceState.RINGING, None)


def test_list_items_keep_their_action_id() -> None:
    """CoreShowChannel, EndpointList, ContactList and DeviceStateList items carry the ActionID."""
    channel = _translate(
        first_rx("S6-ami-protocol-edge-cases/ami.jsonl", "CoreShowChannel\r").headers
    )
    assert isinstance(channel, CoreShowChannel)
    assert channel.action_id == "r2-002"
    assert channel.application == "MusicOnHold"
    endpoint = _translate(first_rx("S11-registration/a/ami.jsonl", "ObjectName: agent1").headers)
    assert isinstance(endpoint, EndpointList)
    assert endpoint.contacts == ("agent1/sip:agent1@127.0.0.1:5071",)
    assert endpoint.device_state is DeviceState.NOT_INUSE
    contact = _translate(first_rx("S11-registration/a/ami.jsonl", "Event: ContactList").headers)
    assert isinstance(contact, ContactList)
    assert (contact.aor, contact.status, contact.roundtrip_usec) == (
        "reg1",
        ContactState.REACHABLE,
        325,
    )
    listed = _translate(
        first_rx("S5-ami-actions/ami.jsonl", "DeviceStateChange\r\nActionID").headers
    )
    assert isinstance(listed, DeviceStateChange)
    assert listed.action_id is not None
    complete = _translate(first_rx("S5-ami-actions/ami.jsonl", "DeviceStateListComplete").headers)
    assert isinstance(complete, ListComplete)
    assert complete.list_items > 0


def test_agi_exec_originate_fully_booted_and_shutdown() -> None:
    """AGIExecEnd, OriginateResponse failure, FullyBooted and Shutdown are typed."""
    agi = _translate(first_rx("S9-agi-acd-flows/a/ami.jsonl", "Event: AGIExecEnd").headers)
    assert isinstance(agi, AgiExecEnd)
    assert (agi.command, agi.result_code, agi.result) == ("ANSWER", 200, "Success")
    failure = _translate(first_rx("S5-ami-actions/ami.jsonl", "Uniqueid: <unknown>").headers)
    assert isinstance(failure, OriginateResponse)
    assert (failure.response, failure.reason, failure.channel) == ("Failure", 0, "PJSIP/agent4")
    booted = _translate(first_rx("S5-ami-actions/ami.jsonl", "Event: FullyBooted").headers)
    assert isinstance(booted, FullyBooted)
    shutdown = _translate(
        first_rx("S6-ami-protocol-edge-cases/ami.jsonl", "Event: Shutdown").headers
    )
    assert shutdown == Shutdown(shutdown="Cleanly", restart=False)


def test_bridge_enter_reads_bridge_and_channel() -> None:
    """BridgeEnter gives the bridge id, its size and the entering channel."""
    event = _translate(first_rx("S9-agi-acd-flows/a/ami.jsonl", "Event: BridgeEnter").headers)
    assert isinstance(event, BridgeEnter)
    assert event.bridge_channels == 1
    assert event.channel.channel == "PJSIP/agent1-00000001"


@pytest.mark.parametrize(
    ("pairs", "reason"),
    [
        ([["Event", "DeviceStateChange"], ["Device", "PJSIP/a"]], "missing header State"),
        (
            [["Event", "DeviceStateChange"], ["Device", "PJSIP/a"], ["State", "ASLEEP"]],
            "unknown value 'ASLEEP'",
        ),
        ([["Event", "Hangup"], ["Channel", "PJSIP/a-1"]], "missing header Uniqueid"),
        ([["Response", "Success"]], "not an event"),
    ],
)
def test_malformed_frames_become_malformed_event_with_a_reason(
    pairs: list[list[str | None]], reason: str
) -> None:
    """A missing header, an unknown enum value or a non-event frame gives MalformedEvent."""
    event = translate_event(frame_from_pairs(pairs))
    assert isinstance(event, MalformedEvent)
    assert reason in event.reason


def test_events_the_acd_does_not_use_are_ignored() -> None:
    """VarSet, Cdr, CEL and friends become IgnoredEvent (no parsing, no error)."""
    frame = AmiFrame(headers=(("Event", "VarSet"), ("Variable", "X")))
    assert translate_event(frame) == IgnoredEvent(name="VarSet")
