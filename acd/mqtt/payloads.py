"""JSON payloads: built from the engine's views and commands, in the publisher task (never in the
dispatcher's). Times are epoch seconds; durations end in ``_s``. Field names match the HTTP API's.
"""

from __future__ import annotations

import json
from typing import Any

from acd.core.commands import CallCompleted, RecordCallEvent
from acd.core.snapshots import AgentView, QueueView


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def agent_state(view: AgentView) -> dict[str, Any]:
    """Retained on ``agents/{id}/state``; no ``at``, so it changes only when the state does."""
    return {
        "agent_id": view.agent_id,
        "name": view.name or view.agent_id,
        "presence": view.presence.value,
        "phone": view.phone.value,
        "activity": view.activity.value,
        "reason": view.reason,
        "since": view.since,
        "routable": view.routable,
        "pending_pause": view.pending_pause,
        "calls_since_login": view.calls_since_login,
        "queues": list(view.queues),
    }


def queue_stats(view: QueueView, at: float) -> dict[str, Any]:
    """Retained on ``queues/{name}/stats``."""
    waiting = [c for c in view.waiting if c.position is not None]
    return {
        "queue": view.name,
        "at": at,
        "waiting": len(waiting),
        "presented": view.presented,
        "longest_wait_s": round(view.longest_wait_s, 3),
        "oldest_offered_at": min((c.offered_at for c in view.waiting), default=None),
        "routable_agents": view.routable_agents,
        "logged_in_agents": view.logged_in_agents,
        "offered": view.offered,
        "answered": view.answered,
        "abandoned": view.abandoned,
        "short_abandons": view.short_abandons,
        "answered_within_sl": view.answered_within_sl,
        "service_level": view.service_level,
        "rejected": view.rejected,
        "overflowed_in": view.overflowed_in,
        "overflowed_out": view.overflowed_out,
        "breather_hold": view.breather_hold,
        "hours": queue_hours(view),
    }


def queue_hours(view: QueueView) -> dict[str, Any]:
    """Open or closed to new callers, why and the next change (epoch), as ``acd hours`` says it."""
    hours = view.hours
    return {
        "open": hours.open,
        "reason": hours.reason.value,
        "detail": hours.detail,
        "next_change": hours.next_change,
        "next_open": hours.next_open,
    }


def call_event(command: RecordCallEvent) -> dict[str, Any]:
    """One line of a call's story, on ``calls/events`` (``(call_id, seq)`` is unique)."""
    return {
        "call_id": command.call_id,
        "seq": command.seq,
        "kind": command.kind,
        "at": command.at,
        "queue": command.queue,
        "agent_id": command.agent_id,
        "data": dict(command.data),
    }


def call_completed(command: CallCompleted) -> dict[str, Any]:
    """A finished call's summary, on ``calls/completed`` (carries the caller's number)."""
    return {
        "call_id": command.call_id,
        "queue": command.queue,
        "first_queue": command.first_queue,
        "outcome": command.outcome.value,
        "reason": command.reason,
        "agent_id": command.agent_id,
        "agents_tried": list(command.agents_tried),
        "caller_number": command.caller_number,
        "caller_name": command.caller_name,
        "offered_at": command.offered_at,
        "answered_at": command.answered_at,
        "ended_at": command.ended_at,
        "wait_s": round(command.wait_s, 3),
        "talk_s": round(command.talk_s, 3),
        "wrap_up_s": round(command.wrap_up_s, 3),
        "disposition": command.disposition,
        "answered_within_sl": command.answered_within_sl,
    }
