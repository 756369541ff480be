"""The inbound request's values checked at the edge: clamped, cleaned or refused, with a reason."""

from __future__ import annotations

import pytest

from acd.asterisk.inbound_request import (
    InboundRequestRefusedError,
    checked_inbound,
    checked_priority,
)


@pytest.mark.parametrize(
    ("text", "priority", "warned"),
    [
        ("5", 5, False),
        ("-3", -3, False),
        (str(2**70), 1_000_000, True),
        (str(-(2**70)), -1_000_000, True),
        ("9" * 400, None, True),
        ("high", None, True),
        ("", None, True),
    ],
)
def test_priority_is_clamped_into_range_or_left_to_the_queue(
    text: str, priority: int | None, warned: bool
) -> None:
    """An integer outside the range is clamped; a non-integer falls back to the queue's priority."""
    value, warning = checked_priority(text)
    assert value == priority
    assert (warning is not None) == warned


def test_caller_ids_lose_control_characters_and_excess_length_with_a_warning() -> None:
    """NUL and other control characters are removed, lengths cut, each change warned about."""
    request = checked_inbound("1700000000.1", {}, "06\x0012", "N" * 300 + "\x00")
    assert request.caller_number == "0612"
    assert request.caller_name == "N" * 128
    assert len(request.warnings) == 2


def test_unknown_caller_ids_are_empty_without_warning() -> None:
    """Asterisk's "unknown" is no caller id at all, not a value to correct."""
    request = checked_inbound("1700000000.1", {"priority": "2"}, "unknown", "unknown")
    assert (request.priority, request.caller_number, request.caller_name) == (2, "", "")
    assert request.warnings == ()


@pytest.mark.parametrize("uniqueid", ["", "x" * 151, "1700000000.1\x00"])
def test_a_uniqueid_asterisk_cannot_send_is_refused(uniqueid: str) -> None:
    """Empty, beyond Asterisk's 150 characters, or with a control character: refused."""
    with pytest.raises(InboundRequestRefusedError, match="agi_uniqueid"):
        checked_inbound(uniqueid, {}, "", "")
