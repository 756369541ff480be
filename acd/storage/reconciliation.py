"""What a restart finds in the records of the previous run, and how it closes them.

A clean stop writes every call's summary (wrap-ups cut, waiting callers handed back). A crash
(kill -9, power loss) leaves calls with events but no ``calls`` row, advisors' sessions open and
a time during which the dialplan's fallback served callers without acd. At restart, before this
run's first event, ``reconcile_previous_run`` (one transaction, idempotent):

* closes each call left open from its event log: ``answered`` (ended at the last event the
  previous run recorded) when an advisor had answered it, else ``fallback``: the dialplan's
  fallback queue took the caller when the AGI session died; reason ``acd_restarted``;
* closes the sessions left open at that last event, so logged-in time stops when acd stopped
  knowing (the restart logs the advisors back in with a new session);
* writes a ``service_gaps`` row "down from <last event> to <this start>" for reports;
* closes the supervisor's desk rows left open (``close_desk_rows``): a listening ends at that
  last event with outcome ``acd_restarted`` (whether the supervisor's phone stayed in ChanSpy
  after is unknown), a recording at its file's last write (Asterisk went on recording without
  acd) or, without a file, at that last event, with an ``acd_restarted`` line in its log and the
  file's size; the file is made private (0600) as at a call's normal end.

"The last event" is the latest of the previous run's call events, advisor states and heartbeats
(``daemon_runs``, every few seconds): a quiet centre's run ends where it was last known alive,
not at its last call.

Then the daemon asks Asterisk (``account_gap``): the callers its fallback queues hold now are
recorded one by one, and the gap row gets the number of calls the fallback queues took while acd
was down (``gap_counts``: QueueStatus's completed + abandoned, against the previous run's last
reading) and how many of them have their own row.

The daemon reads the advisors to restore (``logged_in_advisors``) before calling it. The pure part
(``closing_rows``) builds the rows from events, so other callers (a standby taking over after a
failover) can use the same rules.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from acd.storage import rows as r
from acd.storage.tables import (
    agent_sessions,
    agent_states,
    call_events,
    calls,
    daemon_runs,
    listenings,
    recording_log,
    recordings,
    service_gaps,
)
from acd.storage.writer import write_rows

# How often a running daemon says it is alive (``daemon_runs``), and how old its last word may be
# before it counts as stopped (a heartbeat reaches the database or the spool within 1 s).
HEARTBEAT_S = 5.0
ALIVE_STALE_S = 3 * HEARTBEAT_S
# A call still open after this long is no concern of a restart (and the query stays on the index).
OPEN_CALL_LOOKBACK_S = 86_400.0
RESTART_REASON = "acd_restarted"
# Closed while an advisor's phone rang: answered or sent to the fallback, nobody knows which
# (the answer, if any, was in the last instant before the crash). Still bridged at the restart:
# answered (``answered_after_all``).
RINGING_REASON = "acd_restarted_ringing"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """What a restart closed: the previous run's last event, calls and sessions closed, the calls
    closed as ``fallback`` and the fallback queues' count at the previous run's last reading."""

    last_seen: float | None
    calls_closed: int
    sessions_closed: int
    fallback_call_ids: frozenset[str] = frozenset()
    fallback_calls_before: int | None = None
    fallback_counted_at: float | None = None
    listenings_closed: int = 0
    recordings_closed: int = 0


def gap_counts(
    before: int | None, now: int | None, arrived_live: int, closed_gone: int
) -> tuple[int | None, int]:
    """``(calls_reported, calls_recovered)`` for a gap row.

    ``before``/``now``: the fallback queues' completed + abandoned calls at the previous run's last
    reading and now (None: AMI could not say). The difference is the calls that left a fallback
    queue meanwhile; ``arrived_live`` callers still in a fallback queue came during the gap (each
    now has its row), and ``closed_gone`` calls of the previous run, closed as ``fallback`` from the
    event log and no longer in Asterisk, are among the difference (they have their row too). A
    count that went down (Asterisk restarted, QueueReset) is unknown: None.
    """
    if before is None or now is None or now < before:
        return None, arrived_live
    left = now - before
    return left + arrived_live, arrived_live + min(left, closed_gone)


@dataclass(frozen=True, slots=True)
class CallEventRow:
    """One stored call event, as reconciliation reads it."""

    call_id: str
    seq: int
    kind: str
    at: float
    queue: str
    agent_id: str | None
    data: dict[str, Any]


def closing_rows(events: Sequence[CallEventRow], ended_at: float) -> list[r.Row]:
    """The ``calls`` rows (never replacing a summary) of the calls whose events are given."""
    by_call: dict[str, list[CallEventRow]] = {}
    for event in sorted(events, key=lambda e: (e.call_id, e.seq)):
        by_call.setdefault(event.call_id, []).append(event)
    out: list[r.Row] = []
    for call_id, story in by_call.items():
        first = story[0]
        offered_at = first.at
        presented = [e for e in story if e.kind == "presented"]
        ringing = story[-1].kind == "presented"
        answered = next((e for e in story if e.kind == "answered"), None)
        end = max(ended_at, story[-1].at)
        priority = first.data.get("priority", 0)
        out.append(
            {
                "table": r.FALLBACK_CALL,
                "call_id": call_id,
                "linked_id": "",
                "queue": story[-1].queue,
                "first_queue": first.queue,
                "priority": priority if isinstance(priority, int) else 0,
                "caller_number": str(first.data.get("caller_number") or ""),
                "caller_name": r.clip(str(first.data.get("caller_name") or ""), 128),
                "offered_at": offered_at,
                "presented_at": presented[0].at if presented else None,
                "answered_at": answered.at if answered else None,
                "ended_at": end,
                "agent_id": answered.agent_id if answered else None,
                "agents_tried": r.clip(
                    ",".join(dict.fromkeys(e.agent_id for e in presented if e.agent_id)), 1024
                ),
                "outcome": "answered" if answered else "fallback",
                "reason": RINGING_REASON if ringing and not answered else RESTART_REASON,
                "wait_s": max(0.0, (answered.at if answered else end) - offered_at),
                "talk_s": max(0.0, end - answered.at) if answered else 0.0,
                "wrap_up_s": 0.0,
                "disposition": None,
                "transferred_to": None,
                "overflow_target": None,
                "answered_within_sl": False,
            }
        )
    return out


async def reconcile_previous_run(conn: AsyncConnection, started_at: float) -> Reconciliation:
    """Close what the run before ``started_at`` left open (see the module docstring)."""
    last_event = await conn.scalar(
        sa.select(sa.func.max(call_events.c.at)).where(call_events.c.at < started_at)
    )
    last_state = await conn.scalar(
        sa.select(sa.func.max(agent_states.c.at)).where(agent_states.c.at < started_at)
    )
    last_beat = await conn.execute(
        sa.select(
            daemon_runs.c.last_seen_at,
            daemon_runs.c.fallback_calls,
            daemon_runs.c.fallback_counted_at,
        )
        .where(daemon_runs.c.started_at < started_at)
        .order_by(daemon_runs.c.last_seen_at.desc())
        .limit(1)
    )
    beat = last_beat.first()
    fallback_before = None if beat is None or beat[1] is None else int(beat[1])
    counted_at = None if beat is None or beat[2] is None else float(beat[2])
    alive = None if beat is None else beat[0]
    seen = [float(x) for x in (last_event, last_state, alive) if x is not None]
    if not seen:
        return Reconciliation(None, 0, 0)
    last_seen = max(seen)
    open_events = await conn.execute(
        sa.select(
            call_events.c.call_id,
            call_events.c.seq,
            call_events.c.kind,
            call_events.c.at,
            call_events.c.queue,
            call_events.c.agent_id,
            call_events.c.data,
        )
        .select_from(call_events.outerjoin(calls, calls.c.call_id == call_events.c.call_id))
        .where(
            calls.c.call_id.is_(None),
            call_events.c.at < started_at,
            call_events.c.at >= started_at - OPEN_CALL_LOOKBACK_S,
        )
    )
    events = [
        CallEventRow(c, int(s), k, float(a), q, g, d if isinstance(d, dict) else {})
        for c, s, k, a, q, g, d in open_events
    ]
    rows = closing_rows(events, last_seen)
    if rows:
        await write_rows(conn, rows)
    closed = await conn.execute(
        sa.update(agent_sessions)
        .where(agent_sessions.c.logout_at.is_(None), agent_sessions.c.login_at < started_at)
        .values(logout_at=_later(conn, agent_sessions.c.login_at, last_seen))
    )
    gap_exists = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(service_gaps)
        .where(service_gaps.c.started_at == last_seen)
    )
    if not gap_exists:
        await conn.execute(
            sa.insert(service_gaps).values(
                started_at=last_seen,
                ended_at=started_at,
                calls_reported=None,
                calls_recovered=0,
                detail=f"acd down; {len(rows)} calls left open closed from the event log",
            )
        )
    listenings_closed, recordings_closed = await close_desk_rows(conn, started_at, last_seen)
    return Reconciliation(
        last_seen,
        len(rows),
        int(closed.rowcount or 0),
        frozenset(row["call_id"] for row in rows if row["outcome"] == "fallback"),
        fallback_before,
        counted_at,
        listenings_closed,
        recordings_closed,
    )


def _later(conn: AsyncConnection, column: Any, at: float) -> Any:
    """The later of ``column`` and ``at`` in SQL (SQLite's two-argument max, else greatest)."""
    if conn.dialect.name == "sqlite":
        return sa.func.max(column, at)
    return sa.func.greatest(column, at)


def _file_end(path: str) -> tuple[float, int] | None:
    """A recording file's last write and size, made private; None when it cannot be read."""
    try:
        seen = os.stat(path)
        os.chmod(path, 0o600)
    except OSError:
        return None
    return seen.st_mtime, seen.st_size


async def close_desk_rows(
    conn: AsyncConnection, started_at: float, last_seen: float
) -> tuple[int, int]:
    """Close the listenings and recordings a run before ``started_at`` left open (a stop writes
    their last rows; a crash does not). Returns how many of each."""
    c = listenings.c
    closed = await conn.execute(
        sa.update(listenings)
        .where(c.ended_at.is_(None), c.requested_at < started_at)
        .values(
            ended_at=_later(conn, sa.func.coalesce(c.started_at, c.requested_at), last_seen),
            outcome=RESTART_REASON,
        )
    )
    listenings_closed = int(closed.rowcount or 0)
    rc = recordings.c
    open_recordings = await conn.execute(
        sa.select(rc.call_id, rc.path, rc.started_at).where(
            rc.ended_at.is_(None), rc.started_at < started_at
        )
    )
    recordings_closed = 0
    for call_id, path, began in open_recordings.all():
        found = _file_end(path) if path else None
        ended_at = max(float(began), found[0] if found else last_seen)
        await conn.execute(
            sa.update(recordings)
            .where(rc.call_id == call_id)
            .values(ended_at=ended_at, size_bytes=found[1] if found else None)
        )
        await conn.execute(
            sa.insert(recording_log).values(
                call_id=call_id, at=ended_at, actor="acd", action=RESTART_REASON
            )
        )
        recordings_closed += 1
    return listenings_closed, recordings_closed


async def answered_after_all(
    conn: AsyncConnection, call_id: str, agent_id: str | None, ringing_since: float, at: float
) -> bool:
    """A call the event log closed as ``fallback`` is, at ``at``, still bridged with an advisor
    (its answer was in the last instants before the crash, never stored): ``answered``, talking
    until at least ``at``. False when the call has no such row (an engine summary stays)."""
    found = await conn.execute(
        sa.select(calls.c.offered_at).where(
            calls.c.call_id == call_id,
            calls.c.reason.in_((RESTART_REASON, RINGING_REASON)),
            calls.c.outcome == "fallback",
        )
    )
    row = found.first()
    if row is None:
        return False
    offered_at = float(row[0])
    answered_at = min(max(offered_at, ringing_since), at)
    await conn.execute(
        sa.update(calls)
        .where(calls.c.call_id == call_id)
        .values(
            outcome="answered",
            reason=RESTART_REASON,
            agent_id=agent_id,
            answered_at=answered_at,
            ended_at=at,
            wait_s=answered_at - offered_at,
            talk_s=at - answered_at,
        )
    )
    return True


async def fell_back_between(
    conn: AsyncConnection, since: float, until: float, live: Collection[str]
) -> int:
    """Calls recorded as ``fallback`` (closed by a restart, or handed back at a stop) that ended
    in ``[since, until]`` and that Asterisk no longer has: they left a fallback queue meanwhile,
    so they are among the calls its counters report, and each has its row. Calls closed while an
    advisor's phone rang are left out: they may never have reached the fallback."""
    result = await conn.execute(
        sa.select(calls.c.call_id).where(
            calls.c.outcome == "fallback",
            calls.c.reason != RINGING_REASON,
            calls.c.ended_at >= since,
            calls.c.ended_at <= until,
        )
    )
    return sum(1 for (call_id,) in result if call_id not in live)


# Rows a restart wrote (closed from the event log, or recorded from Asterisk) or the fallback
# queue's event did: the only ones following a call in Asterisk may correct; an engine summary
# is never touched.
RECORDED_AT_RESTART = (RESTART_REASON, RINGING_REASON, "acd_down", "fallback_queue")


async def calls_over(conn: AsyncConnection, ended: Mapping[str, float]) -> int:
    """Calls a restart closed or recorded while Asterisk still had them, now gone: each ends at
    the instant given (talk up to then when answered). Returns the rows changed."""
    changed = 0
    for call_id, at in ended.items():
        found = await conn.execute(
            sa.select(calls.c.answered_at).where(
                calls.c.call_id == call_id,
                calls.c.reason.in_(RECORDED_AT_RESTART),
                calls.c.ended_at <= at,
            )
        )
        row = found.first()
        if row is None:
            continue
        values: dict[str, Any] = {"ended_at": at}
        if row[0] is not None:
            values["talk_s"] = max(0.0, at - float(row[0]))
        await conn.execute(sa.update(calls).where(calls.c.call_id == call_id).values(**values))
        changed += 1
    return changed


async def calls_seen(
    conn: AsyncConnection, call_ids: Collection[str], before: float
) -> frozenset[str]:
    """Which of ``call_ids`` an earlier run of acd knew: it routed them (events of its own, not
    just the ``fell_back`` event a restart writes for a caller it finds in the fallback), or an
    earlier restart recorded them from Asterisk (a row that ended before ``before``)."""
    if not call_ids:
        return frozenset()
    wanted = list(call_ids)
    routed = await conn.execute(
        sa.select(call_events.c.call_id)
        .where(call_events.c.call_id.in_(wanted), call_events.c.seq < r.FALLBACK_SEQ)
        .distinct()
    )
    recorded = await conn.execute(
        sa.select(calls.c.call_id).where(calls.c.call_id.in_(wanted), calls.c.ended_at < before)
    )
    return frozenset(call_id for (call_id,) in [*routed, *recorded])


async def account_gap(
    conn: AsyncConnection,
    gap_started_at: float,
    read_at: float,
    calls_reported: int | None,
    calls_recovered: int,
) -> None:
    """Set what Asterisk said at ``read_at`` of the gap that began at ``gap_started_at``
    (``gap_counts``); the gap lasts at least until then (calls went to the fallback until
    FastAGI opened, right after Asterisk was read)."""
    await conn.execute(
        sa.update(service_gaps)
        .where(service_gaps.c.started_at == gap_started_at)
        .values(
            calls_reported=calls_reported,
            calls_recovered=calls_recovered,
            ended_at=sa.case(
                (service_gaps.c.ended_at < read_at, read_at), else_=service_gaps.c.ended_at
            ),
        )
    )


async def unattended_spans(
    conn: AsyncConnection, stop: float, now: float
) -> list[tuple[float, float]]:
    """The times before ``stop`` no run of acd was alive: between a run's last heartbeat and the
    next run's start, and after the last run's last heartbeat when it is older than
    ``ALIVE_STALE_S`` (acd stopped or killed, not restarted). Nobody is logged in to acd then.
    Before the first run ever recorded nothing is known: no span."""
    result = await conn.execute(
        sa.select(daemon_runs.c.started_at, daemon_runs.c.last_seen_at)
        .where(daemon_runs.c.started_at < stop)
        .order_by(daemon_runs.c.started_at)
    )
    runs = [(float(a), float(b)) for a, b in result]
    spans = [
        (seen, next_start)
        for (_, seen), (next_start, _) in itertools.pairwise(runs)
        if next_start > seen
    ]
    if runs and now - runs[-1][1] > ALIVE_STALE_S:
        spans.append((runs[-1][1], max(now, stop)))
    return spans


async def service_gaps_between(
    conn: AsyncConnection, start: float, end: float
) -> list[tuple[float, float, int | None, int]]:
    """The gaps overlapping ``[start, end)``: (down from, down to, calls Asterisk reported, how
    many of them have a row)."""
    result = await conn.execute(
        sa.select(
            service_gaps.c.started_at,
            service_gaps.c.ended_at,
            service_gaps.c.calls_reported,
            service_gaps.c.calls_recovered,
        )
        .where(service_gaps.c.ended_at > start, service_gaps.c.started_at < end)
        .order_by(service_gaps.c.started_at)
    )
    return [(float(a), float(b), n, int(k or 0)) for a, b, n, k in result]
