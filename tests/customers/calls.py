"""Call rows written straight into the records tables, as the recorder would have."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from acd.storage.database import create_engine
from acd.storage.tables import call_events, calls


def call_row(call_id: str, number: str, offered_at: float, **values: Any) -> dict[str, Any]:
    """An answered call from ``number`` (E.164) with plausible times."""
    row: dict[str, Any] = {
        "call_id": call_id,
        "linked_id": call_id,
        "queue": "support",
        "first_queue": "support",
        "priority": 0,
        "caller_number": number,
        "caller_name": "Caller",
        "offered_at": offered_at,
        "presented_at": offered_at + 5,
        "answered_at": offered_at + 8,
        "ended_at": offered_at + 120,
        "agent_id": "alice",
        "agents_tried": "alice",
        "outcome": "answered",
        "reason": "",
        "wait_s": 8.0,
        "talk_s": 112.0,
        "wrap_up_s": 10.0,
        "disposition": None,
        "transferred_to": None,
        "overflow_target": None,
        "answered_within_sl": True,
    }
    row.update(values)
    return row


async def insert_calls(url: str, rows: list[dict[str, Any]]) -> None:
    """Write the calls and their "offered" events (which repeat the caller's number)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(calls), rows)
            await conn.execute(
                sa.insert(call_events),
                [
                    {
                        "call_id": row["call_id"],
                        "seq": 1,
                        "kind": "offered",
                        "at": row["offered_at"],
                        "queue": row["queue"],
                        "agent_id": None,
                        "data": {
                            "priority": 0,
                            "caller_number": row["caller_number"],
                            "caller_name": row["caller_name"],
                        },
                    }
                    for row in rows
                ],
            )
    finally:
        await engine.dispose()


async def read_all(url: str, table: sa.Table) -> list[sa.Row[Any]]:
    """Every row of a table."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.select(table)))
    finally:
        await engine.dispose()
