"""What an inbound FastAGI request may carry into the engine and the records: checked at the edge.

A dialplan passes ``priority`` in the AGI URL and Asterisk passes the caller's number and name as
they came from the network: any of them can be absurd (a priority of 2^70 once made every later
record fail). Here each value is clamped or cleaned, with a warning naming the field, or the request
is refused when no sensible value exists. Pure functions: no I/O, so they move with the call leg.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from acd.core.config import PRIORITY_MAX, PRIORITY_MIN

# Asterisk's AST_MAX_UNIQUEID: a longer Uniqueid did not come from Asterisk.
UNIQUEID_MAX_LEN = 150
CALLER_NUMBER_MAX_LEN = 64
CALLER_NAME_MAX_LEN = 128
# C0 controls and DEL: NUL ends a string in C and PostgreSQL refuses it in text; none is a name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PRIORITY = re.compile(r"[+-]?\d{1,40}")


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """The checked values of one inbound request; ``warnings`` name each value changed."""

    priority: int | None
    caller_number: str
    caller_name: str
    warnings: tuple[str, ...] = ()


class InboundRequestRefusedError(ValueError):
    """The request cannot be routed as it is (the dialplan's fallback takes the caller)."""


def caller_text(text: str, max_len: int) -> str:
    """``text`` without control characters, cut to ``max_len``."""
    return _CONTROL.sub("", text)[:max_len]


def checked_priority(text: str) -> tuple[int | None, str | None]:
    """(priority, warning): clamped into the allowed range; None (the queue's) when not a number."""
    stripped = text.strip()
    if not _PRIORITY.fullmatch(stripped):
        return None, f"priority {text[:40]!r} is not an integer: the queue's priority is used"
    value = int(stripped)
    clamped = min(PRIORITY_MAX, max(PRIORITY_MIN, value))
    if clamped != value:
        shown = stripped if len(stripped) <= 24 else stripped[:21] + "..."
        return clamped, (
            f"priority {shown} is outside {PRIORITY_MIN}..{PRIORITY_MAX}: clamped to {clamped}"
        )
    return value, None


def checked_inbound(
    uniqueid: str, params: Mapping[str, str], caller_number: str, caller_name: str
) -> InboundRequest:
    """The request's values, checked; ``InboundRequestRefusedError`` for an impossible Uniqueid."""
    if not uniqueid or len(uniqueid) > UNIQUEID_MAX_LEN or _CONTROL.search(uniqueid):
        raise InboundRequestRefusedError(
            f"agi_uniqueid must be 1 to {UNIQUEID_MAX_LEN} printable characters "
            f"(got {len(uniqueid)} characters)"
        )
    warnings: list[str] = []
    priority: int | None = None
    if "priority" in params:
        priority, warning = checked_priority(params["priority"])
        if warning:
            warnings.append(warning)
    number = "" if caller_number == "unknown" else caller_number
    name = "" if caller_name == "unknown" else caller_name
    clean_number = caller_text(number, CALLER_NUMBER_MAX_LEN)
    clean_name = caller_text(name, CALLER_NAME_MAX_LEN)
    if clean_number != number:
        warnings.append("caller number had control characters or was too long: cleaned")
    if clean_name != name:
        warnings.append("caller name had control characters or was too long: cleaned")
    return InboundRequest(priority, clean_number, clean_name, tuple(warnings))
