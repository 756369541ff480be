"""Writing rows to the database: idempotent statements, one transaction per batch.

Call events and advisor states are inserted with ON CONFLICT DO NOTHING on their natural keys; a
call's summary is upserted (the engine's summary replaces an earlier fallback row, never the
reverse); sessions open only when the advisor has no open session (a restart's re-login keeps the
session that was open) and close the open one. So writing a batch twice leaves the tables as after
the first time: the spool's replay relies on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from acd.storage import rows as r
from acd.storage.tables import (
    agent_sessions,
    agent_states,
    call_events,
    callbacks,
    calls,
    daemon_runs,
)

_CALL_COLUMNS = [c.name for c in calls.columns]
_CALLBACK_COLUMNS = [c.name for c in callbacks.columns]


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _columns(row: r.Row) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "table"}


async def write_rows(conn: AsyncConnection, batch: Sequence[r.Row]) -> None:
    """Write ``batch`` in the connection's transaction (the caller commits)."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    sessions: list[r.Row] = []
    for row in batch:
        table = row["table"]
        if table in (r.SESSION_OPENED, r.SESSION_CLOSED):
            sessions.append(row)
        else:
            by_table.setdefault(table, []).append(_columns(row))
    if rows := by_table.get(r.CALL_EVENT):
        await conn.execute(_insert(conn, call_events).on_conflict_do_nothing(), rows)
    if rows := by_table.get(r.AGENT_STATE):
        await conn.execute(_insert(conn, agent_states).on_conflict_do_nothing(), rows)
    if rows := by_table.get(r.CALL):
        stmt = _insert(conn, calls)
        stmt = stmt.on_conflict_do_update(
            index_elements=[calls.c.call_id],
            set_={name: stmt.excluded[name] for name in _CALL_COLUMNS if name != "call_id"},
        )
        await conn.execute(stmt, rows)
    if rows := by_table.get(r.FALLBACK_CALL):
        await conn.execute(_insert(conn, calls).on_conflict_do_nothing(), rows)
    if rows := by_table.get(r.CALLBACK):
        await _write_callbacks(conn, rows)
    if rows := by_table.get(r.DAEMON_RUN):
        for beat in rows:
            stmt = _insert(conn, daemon_runs).values(beat)
            # A heartbeat without AMI's count keeps the last count AMI gave.
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[daemon_runs.c.started_at],
                    set_={
                        "last_seen_at": stmt.excluded.last_seen_at,
                        "fallback_calls": sa.func.coalesce(
                            stmt.excluded.fallback_calls, daemon_runs.c.fallback_calls
                        ),
                        "fallback_counted_at": sa.func.coalesce(
                            stmt.excluded.fallback_counted_at, daemon_runs.c.fallback_counted_at
                        ),
                    },
                )
            )
    for row in sessions:
        if row["table"] == r.SESSION_OPENED:
            await _open_session(conn, row["agent_id"], row["at"])
        else:
            await _close_session(conn, row["agent_id"], row["at"])


async def _write_callbacks(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Each callback's latest row wins: one row per id per statement (PostgreSQL refuses to
    update a row twice in one INSERT), and an older row replayed later never overwrites a newer
    one. ``connected_at`` is kept once set."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        known = latest.get(row["callback_id"])
        kept = known["connected_at"] if known is not None else None
        latest[row["callback_id"]] = {**row, "connected_at": row["connected_at"] or kept}
    stmt = _insert(conn, callbacks)
    update = {name: stmt.excluded[name] for name in _CALLBACK_COLUMNS if name != "callback_id"}
    update["connected_at"] = sa.func.coalesce(stmt.excluded.connected_at, callbacks.c.connected_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[callbacks.c.callback_id],
        set_=update,
        where=callbacks.c.updated_at <= stmt.excluded.updated_at,
    )
    await conn.execute(stmt, list(latest.values()))


async def _open_session(conn: AsyncConnection, agent_id: str, at: float) -> None:
    open_session = await conn.scalar(
        sa.select(agent_sessions.c.login_at)
        .where(agent_sessions.c.agent_id == agent_id, agent_sessions.c.logout_at.is_(None))
        .limit(1)
    )
    if open_session is not None:
        return
    await conn.execute(
        _insert(conn, agent_sessions).on_conflict_do_nothing(),
        [{"agent_id": agent_id, "login_at": at, "logout_at": None}],
    )


async def _close_session(conn: AsyncConnection, agent_id: str, at: float) -> None:
    await conn.execute(
        sa.update(agent_sessions)
        .where(
            agent_sessions.c.agent_id == agent_id,
            agent_sessions.c.logout_at.is_(None),
            agent_sessions.c.login_at <= at,
        )
        .values(logout_at=at)
    )
