"""Loading the Asterisk 22.10.1 recordings copied into tests/fixtures/asterisk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk"


@dataclass(frozen=True)
class Record:
    """One JSONL record: see tests/fixtures/asterisk/README.md."""

    seq: int
    conn: str
    direction: str
    kind: str
    raw: str
    headers: list[list[str | None]]


def load(relative: str) -> list[Record]:
    records = []
    with (FIXTURES / relative).open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            records.append(
                Record(
                    seq=item["seq"],
                    conn=item["conn"],
                    direction=item["direction"],
                    kind=item["kind"],
                    raw=item["raw"],
                    headers=item.get("headers") or [],
                )
            )
    return records


def ami_recordings() -> list[str]:
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("ami.jsonl"))


def agi_recordings() -> list[str]:
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("agi.jsonl"))


def rx_stream(records: list[Record], conn: str) -> bytes:
    """The exact bytes Asterisk sent on one connection."""
    return "".join(r.raw for r in records if r.conn == conn and r.direction == "rx").encode()


def first_rx(relative: str, predicate_raw: str) -> Record:
    """First record Asterisk sent whose raw text contains `predicate_raw`."""
    for record in load(relative):
        if record.direction == "rx" and predicate_raw in record.raw:
            return record
    raise LookupError(f"{predicate_raw!r} not in {relative}")
