"""The map of the centre's boxes: whose FastAGI session, how a phone on another box is dialled,
and AMI reporting a phone on the wrong box (the configuration wins)."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from acd.asterisk.agi_calls import AgiCalls
from acd.asterisk.ami_events import DeviceState, DeviceStateChange
from acd.asterisk.boxes import Box, Boxes, SessionBoxError
from acd.core.events import PhoneStateChanged
from acd.core.states import PhoneState

BOXES = Boxes(
    {
        "a": Box.of("a", ("10.0.1.0/24",), "pbx-a"),
        "b": Box.of("b", ("10.0.2.5",), "pbx-b"),
        "lab": Box.of("lab", (), "pbx-lab"),
    },
    {"PJSIP/1001": "a", "PJSIP/2001": "b"},
)


def test_session_box_by_address_or_by_the_url() -> None:
    """A session is its address's box; the URL's pbx= picks one among boxes sharing an address
    (the first box needs none), and is refused from an address that box does not send from."""
    two = Boxes({"a": Box.of("a", ("10.0.1.0/24",)), "b": Box.of("b", ("10.0.2.5",))})
    assert two.session_box("10.0.1.7", None) == "a"
    assert two.session_box("10.0.2.5", None) == "b"
    assert BOXES.session_box("10.0.2.5", "lab") == "lab"
    assert BOXES.session_box("10.0.1.7", None) == "a"  # a and lab may: the first box
    with pytest.raises(SessionBoxError):
        BOXES.session_box("10.0.2.5", None)  # b and lab (any address) both may
    with pytest.raises(SessionBoxError):
        two.session_box("10.0.1.7", "b")
    with pytest.raises(SessionBoxError):
        two.session_box("10.0.1.7", "nowhere")
    assert Boxes({"default": Box("default")}).session_box("192.0.2.1", None) == "default"


def test_dial_target_is_the_trunk_of_the_advisors_box() -> None:
    """Same box: the endpoint itself; another box: PJSIP/<advisor>@<that box's trunk>."""
    assert BOXES.dial_target("PJSIP/1001", "a") == "PJSIP/1001"
    assert BOXES.dial_target("PJSIP/1001", "b") == "PJSIP/1001@pbx-a"
    assert BOXES.dial_target("PJSIP/2001", "lab") == "PJSIP/2001@pbx-b"
    assert BOXES.trunk_box("PJSIP/pbx-b-0000002a") == "b"
    assert BOXES.trunk_box("PJSIP/1001-0000002a") is None


class Inbox:
    def __init__(self) -> None:
        self.posted: list[Any] = []

    def now(self) -> float:
        return 100.0

    def post(self, event: Any) -> None:
        self.posted.append(event)

    async def submit(self, event: Any) -> list[Any]:
        self.posted.append(event)
        return []


def test_a_phone_reported_by_another_box_is_a_logged_mismatch_and_ignored() -> None:
    """Box B's AMI telling 1001 (an advisor of box A) is in use changes nothing and is logged
    once; box A's own report is taken."""
    inbox = Inbox()
    calls = AgiCalls(
        inbox,
        queues={},
        agents_by_endpoint={"PJSIP/1001": "anna", "PJSIP/2001": "bruno"},
        boxes=BOXES,
    )
    event = DeviceStateChange(device="PJSIP/1001", state=DeviceState.INUSE, action_id=None)
    with structlog.testing.capture_logs() as entries:
        calls.on_ami_event(event, "b")
        calls.on_ami_event(event, "b")
        calls.device_states({"PJSIP/1001": DeviceState.NOT_INUSE}, "b")
    assert inbox.posted == []
    mismatches = [e for e in entries if e["event"] == "advisor_pbx_mismatch"]
    assert len(mismatches) == 1
    assert mismatches[0]["configured_pbx"] == "a"
    assert mismatches[0]["reported_by"] == "b"
    calls.on_ami_event(event, "a")
    assert inbox.posted == [PhoneStateChanged(at=100.0, agent_id="anna", phone=PhoneState.IN_USE)]


def test_a_lost_box_sets_its_advisors_aside() -> None:
    """Box A lost: its advisors' phones read unreachable; box B's are left alone."""
    inbox = Inbox()
    calls = AgiCalls(
        inbox,
        queues={},
        agents_by_endpoint={"PJSIP/1001": "anna", "PJSIP/2001": "bruno"},
        boxes=BOXES,
    )
    assert calls.box_lost("a") == 0
    assert inbox.posted == [
        PhoneStateChanged(at=100.0, agent_id="anna", phone=PhoneState.UNREACHABLE)
    ]


def test_the_centres_calls_are_every_boxs_and_the_count_needs_them_all() -> None:
    """Two boxes' answers at a restart: channels and callers together, counts summed; with a box
    that did not answer the count is unknown."""
    from acd.asterisk.fallback_calls import AsteriskCalls, FallbackCaller, centre_calls

    def caller(call_id: str) -> FallbackCaller:
        return FallbackCaller(call_id, call_id, "support", "0612345678", "", 3.0)

    a = AsteriskCalls(10.0, frozenset({"pbx-a-1.1"}), (caller("pbx-a-1.1"),), 4)
    b = AsteriskCalls(10.5, frozenset({"pbx-b-1.1", "pbx-b-1.2"}), (caller("pbx-b-1.2"),), 2)
    both = centre_calls([a, b], complete=True)
    assert both.at == 10.5
    assert both.live_ids == {"pbx-a-1.1", "pbx-b-1.1", "pbx-b-1.2"}
    assert [c.call_id for c in both.fallback] == ["pbx-a-1.1", "pbx-b-1.2"]
    assert both.fallback_left == 6
    assert centre_calls([a], complete=False).fallback_left is None
    assert centre_calls([a], complete=True) is a
