"""Dead letters: a row that can never be stored is set aside with the reason; the others flow.

Two ways a row ends here: ``row_defect`` finds, before any write, a value no column can hold (an
integer beyond the column's range, text too long or with a NUL, a time that is not finite: the
database would refuse it, or the driver raise, and a replay would fail on it forever); or the
database refuses the row itself (a constraint) when it is written alone. Letters go to the
``dead_letters`` table; while the database cannot be reached, to ``dead-letters.jsonl`` next to
the spool (fsynced), moved into the table once the database is back. ``acd db dead-letters``
lists them; ``acd_recorder_dead_letters`` counts them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from acd.storage import rows as r
from acd.storage.tables import (
    agent_sessions,
    agent_states,
    call_events,
    callbacks,
    calls,
    daemon_runs,
    dead_letters,
)

DEAD_LETTER_FILE = "dead-letters.jsonl"
REASON_MAX_LEN = 300

# PostgreSQL's INTEGER (SQLite's is 64-bit, but the schema must hold on both).
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

_TABLES: dict[str, sa.Table] = {
    r.CALL_EVENT: call_events,
    r.CALL: calls,
    r.FALLBACK_CALL: calls,
    r.AGENT_STATE: agent_states,
    r.CALLBACK: callbacks,
    r.DAEMON_RUN: daemon_runs,
}
_SESSION_COLUMNS = {"agent_id": sa.String(64), "at": sa.Double()}


def _text_defect(value: str, length: int | None) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    if length is not None and len(value) > length:
        return f"is {len(value)} characters long (at most {length})"
    return None


def _json_defect(value: Any) -> str | None:
    if isinstance(value, str):
        return _text_defect(value, None)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if -(2**63) <= value < 2**63 else "holds an integer beyond 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else "holds a number that is not finite"
    if isinstance(value, dict):
        for key, item in value.items():
            if (defect := _json_defect(key) or _json_defect(item)) is not None:
                return defect
        return None
    if isinstance(value, list | tuple):
        for item in value:
            if (defect := _json_defect(item)) is not None:
                return defect
        return None
    return f"holds a {type(value).__name__}, not JSON"


def _value_defect(value: Any, column_type: sa.types.TypeEngine[Any]) -> str | None:
    if value is None:
        return None
    if isinstance(column_type, sa.Boolean):
        return None if isinstance(value, bool) else f"is {type(value).__name__}, not a boolean"
    if isinstance(column_type, sa.Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"is {type(value).__name__}, not an integer"
        return None if _INT_MIN <= value <= _INT_MAX else "is beyond the column's integer range"
    if isinstance(column_type, sa.Double | sa.Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"is {type(value).__name__}, not a number"
        return None if math.isfinite(value) else "is not a finite number"
    if isinstance(column_type, sa.String):
        if not isinstance(value, str):
            return f"is {type(value).__name__}, not text"
        return _text_defect(value, column_type.length)
    if isinstance(column_type, sa.JSON):
        return _json_defect(value)
    return None


def row_defect(row: r.Row) -> str | None:
    """Why no database could store ``row`` ("calls.priority is beyond ..."), None when it can."""
    name = row.get("table")
    if name in (r.SESSION_OPENED, r.SESSION_CLOSED):
        columns: dict[str, sa.types.TypeEngine[Any]] = dict(_SESSION_COLUMNS)
        table_name = agent_sessions.name
    elif isinstance(name, str) and name in _TABLES:
        table = _TABLES[name]
        columns = {c.name: c.type for c in table.columns}
        table_name = table.name
    else:
        return f"unknown table {name!r}"
    for key, value in row.items():
        if key == "table":
            continue
        column_type = columns.get(key)
        if column_type is None:
            return f"{table_name}.{key} is not a column"
        if (defect := _value_defect(value, column_type)) is not None:
            return f"{table_name}.{key} {defect}"
    return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A row set aside: when, why, and the row itself (JSON text: NULs survive as ``\\u0000``)."""

    set_aside_at: float
    row_table: str
    call_id: str | None
    agent_id: str | None
    reason: str
    row: str

    @classmethod
    def of(cls, row: r.Row, reason: str, at: float) -> DeadLetter:
        """The letter for ``row``; ids are cut so that the letter itself can always be stored."""
        call_id = row.get("call_id")
        agent_id = row.get("agent_id")
        return cls(
            set_aside_at=at,
            row_table=str(row.get("table"))[:32],
            call_id=_printable(call_id, 160) if isinstance(call_id, str) else None,
            agent_id=_printable(agent_id, 64) if isinstance(agent_id, str) else None,
            reason=_printable(reason, REASON_MAX_LEN) or "refused",
            row=json.dumps(row, default=repr, allow_nan=True),
        )

    def columns(self) -> dict[str, Any]:
        """The ``dead_letters`` columns."""
        return {
            "set_aside_at": self.set_aside_at,
            "row_table": self.row_table,
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "reason": self.reason,
            "row": self.row,
        }


def _printable(text: str, length: int) -> str:
    return text.replace("\x00", "")[:length]


async def insert_letters(conn: AsyncConnection, letters: Sequence[DeadLetter]) -> None:
    """Insert ``letters`` in the connection's transaction (the caller commits)."""
    if letters:
        await conn.execute(sa.insert(dead_letters), [letter.columns() for letter in letters])


def append_to_file(directory: Path, letters: Sequence[DeadLetter]) -> None:
    """Keep ``letters`` in the dead-letter file (fsynced) until the database takes them."""
    if not letters:
        return
    path = directory / DEAD_LETTER_FILE
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        for letter in letters:
            f.write(json.dumps(letter.columns()) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_file(directory: Path) -> list[DeadLetter]:
    """The letters waiting in the dead-letter file (lines that do not parse are skipped)."""
    path = directory / DEAD_LETTER_FILE
    letters: list[DeadLetter] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return letters
    for line in lines:
        try:
            fields = json.loads(line)
            letters.append(DeadLetter(**fields))
        except (ValueError, TypeError):
            continue
    return letters


async def list_letters(conn: AsyncConnection, limit: int = 100) -> list[DeadLetter]:
    """The latest ``limit`` letters of the table, newest first."""
    result = await conn.execute(
        sa.select(
            dead_letters.c.set_aside_at,
            dead_letters.c.row_table,
            dead_letters.c.call_id,
            dead_letters.c.agent_id,
            dead_letters.c.reason,
            dead_letters.c.row,
        )
        .order_by(dead_letters.c.id.desc())
        .limit(limit)
    )
    return [DeadLetter(float(a), t, c, g, reason, row) for a, t, c, g, reason, row in result]


async def count_letters(conn: AsyncConnection) -> int:
    """How many letters the table holds."""
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(dead_letters)) or 0)
