"""Advisor commands received over MQTT, validated like any external input.

A command is a JSON object on ``{prefix}/agents/{id}/commands``::

    {"action": "pause", "reason": "lunch", "request_id": "r-42"}

``action`` is one of ``ACTIONS``; ``reason`` is required for ``pause`` and optional for ``login``
(logs in paused); ``request_id`` (optional) is echoed in the result. Anything else is refused with
``invalid_command`` before it reaches the engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from acd.core.errors import (
    CoreError,
    IllegalTransitionError,
    UnknownAgentError,
    WorkloadLimitError,
)
from acd.core.events import ADVISOR_ACTIONS, Event, advisor_event

ACTIONS: Final = ADVISOR_ACTIONS
MAX_PAYLOAD_BYTES: Final = 4096
_LABEL = re.compile(r"^[\w][\w .:/-]{0,39}$")
_REQUEST_ID = re.compile(r"^[\w.:-]{1,64}$")


class InvalidCommandError(ValueError):
    """The message is not a valid command; nothing was submitted."""


@dataclass(frozen=True, slots=True)
class AdvisorCommand:
    """A validated command for one advisor."""

    agent_id: str
    action: str
    reason: str | None = None
    request_id: str | None = None

    def to_event(self, at: float) -> Event:
        return advisor_event(self.action, self.agent_id, at, self.reason)


def request_id_of(payload: bytes) -> str | None:
    """The ``request_id`` of a message, if one can be read (to answer even an invalid command)."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    value = body.get("request_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and _REQUEST_ID.match(value) else None


def parse_command(agent_id: str, payload: bytes) -> AdvisorCommand:
    """Validate one command message; ``InvalidCommandError`` says what is wrong."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidCommandError(f"payload over {MAX_PAYLOAD_BYTES} bytes")
    try:
        body: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCommandError("payload is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidCommandError("payload must be a JSON object")
    unknown = set(body) - {"action", "reason", "request_id"}
    if unknown:
        raise InvalidCommandError(f"unknown fields: {', '.join(sorted(unknown))}")
    action = body.get("action")
    if action not in ACTIONS:
        raise InvalidCommandError(f"action must be one of {', '.join(ACTIONS)}")
    request_id = body.get("request_id")
    if request_id is not None and not (
        isinstance(request_id, str) and _REQUEST_ID.match(request_id)
    ):
        raise InvalidCommandError("request_id: 1-64 letters, digits or ._:-")
    reason = body.get("reason")
    if reason is not None:
        if not (isinstance(reason, str) and _LABEL.match(reason.strip())):
            raise InvalidCommandError("reason: 1-40 letters, digits, spaces or ._:/-")
        reason = reason.strip()
        if action not in ("pause", "login"):
            raise InvalidCommandError(f"{action} takes no reason")
    if action == "pause" and reason is None:
        raise InvalidCommandError("pause needs a reason")
    return AdvisorCommand(agent_id, action, reason, request_id)


@dataclass(frozen=True, slots=True)
class CallbackBookingCommand:
    """A validated callback booking: ``{"number", "name"?, "at"?, "priority"?, "request_id"?}``
    on ``{prefix}/queues/{queue}/callbacks/commands``."""

    queue: str
    number: str
    name: str = ""
    at: float | None = None
    priority: int | None = None
    request_id: str | None = None


def parse_callback_booking(queue: str, payload: bytes) -> CallbackBookingCommand:
    """Validate one booking message; ``InvalidCommandError`` says what is wrong."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InvalidCommandError(f"payload over {MAX_PAYLOAD_BYTES} bytes")
    try:
        body: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCommandError("payload is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidCommandError("payload must be a JSON object")
    unknown = set(body) - {"number", "name", "at", "priority", "request_id"}
    if unknown:
        raise InvalidCommandError(f"unknown fields: {', '.join(sorted(unknown))}")
    number, name, at, priority = (body.get(k) for k in ("number", "name", "at", "priority"))
    if not (isinstance(number, str) and 1 <= len(number) <= 32):
        raise InvalidCommandError("number: 1-32 characters")
    if name is not None and not (isinstance(name, str) and len(name) <= 128):
        raise InvalidCommandError("name: at most 128 characters")
    if at is not None and (isinstance(at, bool) or not isinstance(at, int | float)):
        raise InvalidCommandError("at: epoch seconds, or absent for as soon as possible")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 1_000_000
    ):
        raise InvalidCommandError("priority: an integer")
    request_id = body.get("request_id")
    if request_id is not None and not (
        isinstance(request_id, str) and _REQUEST_ID.match(request_id)
    ):
        raise InvalidCommandError("request_id: 1-64 letters, digits or ._:-")
    return CallbackBookingCommand(
        queue, number, name or "", float(at) if at is not None else None, priority, request_id
    )


def error_code(exc: CoreError) -> str:
    """The stable code of an engine refusal (the same codes as the HTTP API)."""
    if isinstance(exc, UnknownAgentError):
        return "unknown_agent"
    if isinstance(exc, IllegalTransitionError):
        return "illegal_transition"
    if isinstance(exc, WorkloadLimitError):
        return "workload_limit"
    return "refused"
