"""Record commands -> table rows: plain JSON-able dicts, the unit the recorder batches and spools.

Each row carries its table's natural key, so the same row written twice (a replay after an outage)
changes nothing: ``(call_id, seq)`` for call events, ``call_id`` for calls, ``(agent_id, dimension,
at, ordinal)`` for advisor states and ``(agent_id, login_at)`` for sessions. Rows are built when a
command is recorded (not when it is written), so what the spool holds is exactly what the database
gets.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

import phonenumbers

from acd.core.commands import CallCompleted, RecordAgentState, RecordCallback, RecordCallEvent

Row = dict[str, Any]
"""One row: ``{"table": ..., <columns>}``; session rows use the pseudo-tables below."""

CALL_EVENT: Final = "call_events"
CALL: Final = "calls"
FALLBACK_CALL: Final = "fallback_calls"  # a calls row that never replaces the engine's own
AGENT_STATE: Final = "agent_states"
CALLBACK: Final = "callbacks"
SESSION_OPENED: Final = "session_opened"
SESSION_CLOSED: Final = "session_closed"
DAEMON_RUN: Final = "daemon_runs"  # a run's heartbeat: upserted on ``started_at``
# A phone row cancelled before it was written (the phone came back to where it was): skipped.
COALESCED: Final = "coalesced"
# Phone changes closer than this to the previous one still waiting in the backlog are merged
# into it: below a second, a phone's state says nothing a report could use.
PHONE_COALESCE_S: Final = 1.0

# The fallback event gets a sequence number the engine never reaches for one call.
FALLBACK_SEQ: Final = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFellBack:
    """The dialplan took the call away from acd (to its fallback ``Queue()``).

    The engine never sees this: the daemon records it (e.g. after a restart, for calls that were
    waiting when it stopped) through ``Recorder.record_fallback``. ``offered_at`` None = ``at``.
    """

    call_id: str
    at: float
    queue: str
    reason: str = "daemon_unavailable"
    offered_at: float | None = None
    priority: int = 0
    caller_number: str = ""
    caller_name: str = ""
    linked_id: str = ""


def clip(text: str | None, length: int) -> str | None:
    """Free text cut to its column's length (PostgreSQL refuses longer values; SQLite would not)
    and without NUL characters (PostgreSQL refuses them in text)."""
    return None if text is None else text.replace("\x00", "")[:length]


@functools.lru_cache(maxsize=4096)
def normalise_number(number: str, country: str) -> str:
    """E.164 (``+33612345678``) when ``number`` is a possible number for ``country``, else as is.

    Extensions, ``anonymous`` and other non-numbers are kept unchanged: they are still worth seeing.
    """
    text = number.replace("\x00", "").strip()
    if not text:
        return ""
    try:
        parsed = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        return text[:64]
    if not phonenumbers.is_possible_number(parsed):
        return text[:64]
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class RowStream:
    """Turns the dispatcher's stream of record commands into rows, in order.

    It remembers, per advisor and dimension, when the last change happened: that gives each state
    row the duration of the state it ends, and an ordinal for changes sharing one instant.

    Phone rows are coalesced while they wait to be written: a phone that changes again less than
    ``PHONE_COALESCE_S`` after its previous change, that change still in the backlog, updates that
    row's new state (or cancels it when the phone is back where it was), so a device flapping a
    thousand times a second costs one row per flush, not one per event. ``seal`` marks the rows
    taken by the writer as final.
    """

    def __init__(self, country: str = "FR") -> None:
        self.country = country
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        # advisor -> (its phone row still in the backlog, the last change before that row)
        self._open_phone: dict[str, tuple[Row, tuple[float, int] | None]] = {}

    def seal(self) -> None:
        """The rows queued so far are being written: later changes get rows of their own."""
        self._open_phone.clear()

    def seed(self, last_changes: dict[tuple[str, str], float]) -> None:
        """Start from the last change times already in the database (after a restart)."""
        for key, at in last_changes.items():
            # A change at exactly that instant after a restart must not reuse a stored key.
            self._last.setdefault(key, (at, 1_000))

    def rows(
        self, command: RecordCallEvent | RecordAgentState | CallCompleted | RecordCallback
    ) -> list[Row]:
        """The rows one record command becomes."""
        if isinstance(command, RecordCallEvent):
            return [self._call_event(command)]
        if isinstance(command, RecordAgentState):
            return self._agent_state(command)
        if isinstance(command, CallCompleted):
            return [self._call(command)]
        if isinstance(command, RecordCallback):
            return [self._callback(command)]
        raise TypeError(f"not a record command: {command!r}")

    def fallback_rows(self, record: CallFellBack) -> list[Row]:
        """The rows of a call the dialplan took away: a ``fell_back`` event and its calls row."""
        offered_at = record.at if record.offered_at is None else record.offered_at
        return [
            {
                "table": CALL_EVENT,
                "call_id": record.call_id,
                "seq": FALLBACK_SEQ,
                "kind": "fell_back",
                "at": record.at,
                "queue": record.queue,
                "agent_id": None,
                "data": {"reason": record.reason},
            },
            {
                "table": FALLBACK_CALL,
                "call_id": record.call_id,
                "linked_id": record.linked_id,
                "queue": record.queue,
                "first_queue": record.queue,
                "priority": record.priority,
                "caller_number": normalise_number(record.caller_number, self.country),
                "caller_name": clip(record.caller_name, 128),
                "offered_at": offered_at,
                "presented_at": None,
                "answered_at": None,
                "ended_at": record.at,
                "agent_id": None,
                "agents_tried": "",
                "outcome": "fallback",
                "reason": clip(record.reason, 64),
                "wait_s": max(0.0, record.at - offered_at),
                "talk_s": 0.0,
                "wrap_up_s": 0.0,
                "disposition": None,
                "transferred_to": None,
                "overflow_target": None,
                "answered_within_sl": False,
            },
        ]

    def _call_event(self, c: RecordCallEvent) -> Row:
        data = dict(c.data)
        number = data.get("caller_number")
        if isinstance(number, str):
            data["caller_number"] = normalise_number(number, self.country)
        return {
            "table": CALL_EVENT,
            "call_id": c.call_id,
            "seq": c.seq,
            "kind": c.kind,
            "at": c.at,
            "queue": c.queue,
            "agent_id": c.agent_id,
            "data": data,
        }

    def _agent_state(self, c: RecordAgentState) -> list[Row]:
        key = (c.agent_id, c.dimension)
        pending = self._open_phone.get(c.agent_id) if c.dimension == "phone" else None
        if pending is not None and c.at - pending[0]["at"] < PHONE_COALESCE_S:
            row, before = pending
            if row["table"] == COALESCED:
                # Cancelled earlier in this window and changing again: the same row comes back
                # (one row per advisor and window, however many events).
                row["table"] = AGENT_STATE
                row["new"] = str(c.new)
                self._last[key] = (row["at"], row["ordinal"])
            elif row["old"] == str(c.new):
                row["table"] = COALESCED
                if before is None:
                    self._last.pop(key, None)
                else:
                    self._last[key] = before
            else:
                row["new"] = str(c.new)
            return []
        last = self._last.get(key)
        duration = None if last is None else max(0.0, c.at - last[0])
        ordinal = last[1] + 1 if last is not None and last[0] == c.at else 0
        self._last[key] = (c.at, ordinal)
        rows: list[Row] = [
            {
                "table": AGENT_STATE,
                "agent_id": c.agent_id,
                "dimension": c.dimension,
                "at": c.at,
                "ordinal": ordinal,
                "old": str(c.old),
                "new": str(c.new),
                "reason": clip(c.reason, 64),
                "duration_s": duration,
            }
        ]
        if c.dimension == "phone":
            self._open_phone[c.agent_id] = (rows[0], last)
        if c.dimension == "presence" and c.new == "logged_in":
            rows.append({"table": SESSION_OPENED, "agent_id": c.agent_id, "at": c.at})
        elif c.dimension == "presence" and c.new == "logged_out":
            rows.append({"table": SESSION_CLOSED, "agent_id": c.agent_id, "at": c.at})
        return rows

    def _call(self, c: CallCompleted) -> Row:
        return {
            "table": CALL,
            "call_id": c.call_id,
            "linked_id": c.linked_id,
            "queue": c.queue,
            "first_queue": c.first_queue,
            "priority": c.priority,
            "caller_number": normalise_number(c.caller_number, self.country),
            "caller_name": clip(c.caller_name, 128),
            "offered_at": c.offered_at,
            "presented_at": c.presented_at,
            "answered_at": c.answered_at,
            "ended_at": c.ended_at,
            "agent_id": c.agent_id,
            "agents_tried": clip(",".join(c.agents_tried), 1024),
            "outcome": str(c.outcome),
            "reason": clip(c.reason, 64),
            "wait_s": c.wait_s,
            "talk_s": c.talk_s,
            "wrap_up_s": c.wrap_up_s,
            "disposition": clip(c.disposition, 64),
            "transferred_to": clip(c.transferred_to, 128),
            "overflow_target": clip(c.overflow_target, 128),
            "answered_within_sl": c.answered_within_sl,
        }

    def _callback(self, c: RecordCallback) -> Row:
        return {
            "table": CALLBACK,
            "callback_id": c.callback_id,
            "queue": c.queue,
            "state": c.state,
            "priority": c.priority,
            # Already international (acd.core.callbacks.check_number): kept exactly, it is dialed.
            "number": clip(c.number, 64),
            "name": clip(c.name, 128),
            "requested_at": c.requested_at,
            "arrived_at": c.arrived_at,
            "due_at": c.due_at,
            "give_up_at": c.give_up_at,
            "attempts": c.attempts,
            "from_call_id": c.from_call_id,
            "agent_id": c.agent_id,
            "reason": clip(c.reason, 64),
            "connected_at": c.at if c.state == "connected" else None,
            "updated_at": c.at,
            "data": {str(k): str(v) for k, v in c.data.items()},
        }
