"""Reading a scenario from TOML, and real arrivals from CSV. Errors name the file and the field.

Times of day are ``"HH:MM"`` / ``"HH:MM:SS"`` strings or seconds since midnight. See
``docs/simulate.md`` for the format, and ``examples/scenarios/`` for complete files.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acd.sim.distributions import Constant, Distribution, DistributionError, parse_distribution
from acd.sim.scenario import Arrival, Break, QueueDemand, Scenario, ScenarioError, Shift

_SCENARIO_KEYS = {
    "name",
    "open",
    "close",
    "interval_minutes",
    "seed",
    "warmup_minutes",
    "target_service_level",
    "ring_delay_s",
    "no_answer_probability",
    "prompt_s",
    "no_answer_pause_s",
    "max_drain_minutes",
}
_QUEUE_KEYS = {"calls_per_hour", "handle_s", "patience_s", "wrap_up_s", "priority"}
_SHIFT_KEYS = {"agents", "start", "end", "breaks"}
_DEFAULT_HANDLE = {"distribution": "exponential", "mean": 180.0}
_CSV_COLUMNS = (
    "time",
    "queue",
    "priority",
    "handle_s",
    "patience_s",
    "wrap_up_s",
    # Who calls (the customer directory's view): repeat callers share a customer id.
    "customer_id",
    "vip",
    "preferred_agent",
    "language",
)
_DATA_COLUMNS = ("customer_id", "vip", "preferred_agent", "language")


def parse_time(field: str, value: object) -> float:
    """``"08:30"``, ``"08:30:15"`` or a number of seconds since midnight."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 0:
            raise ScenarioError(field, f"must be >= 0 seconds, got {value!r}")
        return float(value)
    if isinstance(value, str):
        parts = value.strip().split(":")
        if 2 <= len(parts) <= 3 and all(p.strip().replace(".", "", 1).isdigit() for p in parts):
            hours, minutes = int(parts[0]), int(parts[1])
            seconds = float(parts[2]) if len(parts) == 3 else 0.0
            if minutes < 60 and seconds < 60:
                return hours * 3600.0 + minutes * 60.0 + seconds
        try:
            return parse_time(field, float(value))
        except ValueError:
            pass
    raise ScenarioError(field, f"expected HH:MM[:SS] or seconds, got {value!r}")


def _number(field: str, value: object, *, integer: bool = False) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        raise ScenarioError(field, f"expected {'an integer' if integer else 'a number'}: {value!r}")
    assert isinstance(value, int | float)
    return float(value)


def _unknown(field: str, data: Mapping[str, Any], known: set[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise ScenarioError(field, f"unknown key(s) {extra}; known: {sorted(known)}")


def _distribution(field: str, value: object) -> Distribution:
    try:
        return parse_distribution(field, value)
    except DistributionError as exc:
        raise ScenarioError(exc.field, exc.message) from None


def _table(field: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(field, "expected a table")
    return value


def scenario_from_data(data: Mapping[str, Any], base_dir: Path | None = None) -> Scenario:
    """Build a ``Scenario`` from parsed TOML; ``base_dir`` resolves a relative arrivals CSV."""
    _unknown("", data, {"scenario", "queues", "arrivals", "roster"})
    head = _table("scenario", data.get("scenario", {}))
    _unknown("scenario", head, _SCENARIO_KEYS)
    if "open" not in head or "close" not in head:
        raise ScenarioError("scenario", 'needs open and close (e.g. open = "08:00")')
    open_s = parse_time("scenario.open", head["open"])
    close_s = parse_time("scenario.close", head["close"])
    queues_data = _table("queues", data.get("queues", {}))
    demands = []
    for name, raw in queues_data.items():
        q = _table(f"queues.{name}", raw)
        _unknown(f"queues.{name}", q, _QUEUE_KEYS)
        rate = q.get("calls_per_hour", 0)
        if isinstance(rate, list):
            profile = []
            for i, point in enumerate(rate):
                where = f"queues.{name}.calls_per_hour[{i}]"
                if not isinstance(point, list) or len(point) != 2:
                    raise ScenarioError(where, 'expected ["HH:MM", calls per hour]')
                profile.append((parse_time(where, point[0]), _number(where, point[1])))
        else:
            profile = [(open_s, _number(f"queues.{name}.calls_per_hour", rate))]
        priority = q.get("priority")
        demands.append(
            QueueDemand(
                queue=name,
                profile=tuple(profile),
                handle_s=_distribution(
                    f"queues.{name}.handle_s", q.get("handle_s", _DEFAULT_HANDLE)
                ),
                patience_s=_distribution(f"queues.{name}.patience_s", q.get("patience_s", "never")),
                wrap_up_s=_distribution(f"queues.{name}.wrap_up_s", q["wrap_up_s"])
                if "wrap_up_s" in q
                else None,
                priority=int(_number(f"queues.{name}.priority", priority, integer=True))
                if priority is not None
                else None,
            )
        )
    arrivals = None
    if "arrivals" in data:
        arr = _table("arrivals", data["arrivals"])
        _unknown("arrivals", arr, {"csv"})
        if not isinstance(arr.get("csv"), str):
            raise ScenarioError("arrivals.csv", "expected the path of a CSV file")
        path = Path(arr["csv"])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        arrivals = tuple(read_arrivals_csv(path))
    roster = None
    if "roster" in data:
        if not isinstance(data["roster"], list):
            raise ScenarioError("roster", "expected [[roster]] tables")
        roster = tuple(_shift(f"roster[{i}]", s) for i, s in enumerate(data["roster"]))
    ring = head.get("ring_delay_s")
    return Scenario(
        open_s=open_s,
        close_s=close_s,
        queues=tuple(demands),
        name=str(head.get("name", "scenario")),
        interval_s=_number("scenario.interval_minutes", head.get("interval_minutes", 30)) * 60,
        arrivals=arrivals,
        roster=roster,
        ring_delay_s=_distribution("scenario.ring_delay_s", ring)
        if ring is not None
        else Constant(3.0),
        no_answer_probability=_number(
            "scenario.no_answer_probability", head.get("no_answer_probability", 0.0)
        ),
        prompt_s=_number("scenario.prompt_s", head.get("prompt_s", 8.0)),
        no_answer_pause_s=_number("scenario.no_answer_pause_s", head.get("no_answer_pause_s", 60)),
        max_drain_s=_number("scenario.max_drain_minutes", head.get("max_drain_minutes", 240)) * 60,
        warmup_s=_number("scenario.warmup_minutes", head.get("warmup_minutes", 0)) * 60,
        target_service_level=_number(
            "scenario.target_service_level", head.get("target_service_level", 0.8)
        ),
        seed=int(_number("scenario.seed", head.get("seed", 1), integer=True)),
    )


def _shift(field: str, raw: object) -> Shift:
    s = _table(field, raw)
    _unknown(field, s, _SHIFT_KEYS)
    agents = s.get("agents", ["*"])
    if isinstance(agents, str):
        agents = [agents]
    if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
        raise ScenarioError(f"{field}.agents", "expected a list of advisor ids or patterns")
    breaks = []
    for i, b in enumerate(s.get("breaks", [])):
        bt = _table(f"{field}.breaks[{i}]", b)
        _unknown(f"{field}.breaks[{i}]", bt, {"at", "minutes"})
        if "at" not in bt or "minutes" not in bt:
            raise ScenarioError(f"{field}.breaks[{i}]", "needs at and minutes")
        minutes = _number(f"{field}.breaks[{i}].minutes", bt["minutes"])
        if minutes <= 0:
            raise ScenarioError(f"{field}.breaks[{i}].minutes", "must be > 0")
        breaks.append(Break(parse_time(f"{field}.breaks[{i}].at", bt["at"]), minutes * 60))
    if "start" not in s:
        raise ScenarioError(field, "needs start")
    try:
        return Shift(
            agents=tuple(agents),
            start=parse_time(f"{field}.start", s["start"]),
            end=parse_time(f"{field}.end", s["end"]) if "end" in s else None,
            breaks=tuple(breaks),
        )
    except ScenarioError as exc:
        raise ScenarioError(f"{field}.{exc.field.removeprefix('roster.')}", exc.message) from None


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file; ``ScenarioError`` names the file and the field on a bad value."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), f"not valid TOML: {exc}") from None
    try:
        return scenario_from_data(data, path.parent)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc.field}", exc.message) from None


def read_arrivals_csv(path: Path) -> list[Arrival]:
    """Real arrivals: a header row, then ``time,queue[,priority][,handle_s][,patience_s]
    [,wrap_up_s][,customer_id][,vip][,preferred_agent][,language]``; empty optional cells are
    drawn from the queue's distributions (or, for the customer columns, left out)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), "arrivals file not found") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in ("time", "queue") if c not in header]
    if missing:
        raise ScenarioError(f"{path}:1", f"missing column(s) {missing}; columns: {_CSV_COLUMNS}")
    unknown = [c for c in header if c not in _CSV_COLUMNS]
    if unknown:
        raise ScenarioError(f"{path}:1", f"unknown column(s) {unknown}; columns: {_CSV_COLUMNS}")
    arrivals = []
    for line, row in enumerate(reader, start=2):
        where = f"{path}:{line}"

        def optional(column: str, where: str = where, row: dict[str, str] = row) -> float | None:
            cell = (row.get(column) or "").strip()
            if not cell:
                return None
            try:
                value = float(cell)
            except ValueError:
                raise ScenarioError(f"{where}.{column}", f"not a number: {cell!r}") from None
            if not (value >= 0):
                raise ScenarioError(f"{where}.{column}", f"must be >= 0: {cell!r}")
            return value

        queue = (row.get("queue") or "").strip()
        if not queue:
            raise ScenarioError(f"{where}.queue", "empty")
        priority = optional("priority")
        arrivals.append(
            Arrival(
                at=parse_time(f"{where}.time", (row.get("time") or "").strip()),
                queue=queue,
                priority=int(priority) if priority is not None else None,
                handle_s=optional("handle_s"),
                patience_s=optional("patience_s"),
                wrap_up_s=optional("wrap_up_s"),
                data=tuple(
                    (column, cell)
                    for column in _DATA_COLUMNS
                    if (cell := (row.get(column) or "").strip())
                ),
            )
        )
    arrivals.sort(key=lambda a: a.at)
    return arrivals
