"""Scenario files: an incident written down in TOML and replayed by ``acd pbxsim --scenario``.

The file names the phones and how each behaves, the callers (at fixed times, or Poisson per
queue as in ``acd simulate``'s scenarios: ``calls_per_hour``, ``patience_s``, ``handle_s``) and
the fallback queues. docs/pbxsim.md describes every key; ``examples/scenarios/pbxsim-*.toml``
are examples. Everything is validated here: a bad file is refused with the key at fault.
"""

from __future__ import annotations

import asyncio
import math
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acd.pbxsim.config import (
    AmiUser,
    AnswerMode,
    DialplanConfig,
    PbxConfig,
    PhoneConfig,
    QueueConfig,
    Timings,
)
from acd.pbxsim.dialplan import CallRecord
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim

# What a phone does when rung: the file's words for PhoneBehaviour's modes.
PHONE_MODES: dict[str, AnswerMode] = {
    "answer": "answer",
    "busy": "busy",
    "never": "no_answer",
    "silent": "silent",
}


class ScenarioError(ValueError):
    """The scenario file is not valid; the message names the key at fault."""


@dataclass(frozen=True)
class Key:
    """A key pressed ``at`` seconds after the answer."""

    at: float
    digit: str


@dataclass(frozen=True)
class ScriptedCaller:
    """One caller of ``[[callers]]``."""

    at: float
    number: str
    queue: str | None
    caller_num: str
    caller_name: str | None
    patience: float | None
    hangs_up_after_answer: float | None
    talk_time: float | None
    keys: tuple[Key, ...]
    dtmf_mode: str
    sends_audio: bool | None


@dataclass(frozen=True)
class QueueArrivals:
    """Poisson callers of one queue: ``(start s, calls per hour)`` steps, as ``acd simulate``."""

    queue: str
    number: str
    steps: tuple[tuple[float, float], ...]
    patience: Distribution
    handle: Distribution


@dataclass(frozen=True)
class Distribution:
    """A number, ``"never"``, or a table as in acd simulate: exponential (mean), lognormal and
    gamma (mean, sd), uniform (low, high), constant (value)."""

    kind: str
    a: float = 0.0
    b: float = 0.0

    def draw(self, rng: random.Random) -> float | None:
        if self.kind == "never":
            return None
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.a)
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "lognormal":
            # a = mean, b = sd of the variable itself, as acd simulate reads them.
            sigma2 = math.log(1 + (self.b / self.a) ** 2)
            return rng.lognormvariate(math.log(self.a) - sigma2 / 2, math.sqrt(sigma2))
        if self.kind == "gamma":
            return rng.gammavariate((self.a / self.b) ** 2, self.b**2 / self.a)
        return self.a


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario: the PBX to start, what each phone does, who calls when."""

    name: str
    config: PbxConfig
    behaviours: dict[str, PhoneBehaviour]
    phone_keys: dict[str, tuple[Key, ...]]
    callers: tuple[ScriptedCaller, ...]
    arrivals: tuple[QueueArrivals, ...]
    duration: float | None
    records: list[CallRecord] = field(default_factory=list)


def load_scenario(path: Path, base: PbxConfig | None = None) -> Scenario:
    """Read and validate a scenario file; ``base`` gives what the file leaves out (ports...)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{path}: {error}") from error
    return parse_scenario(data, base or PbxConfig())


def parse_scenario(data: dict[str, Any], base: PbxConfig) -> Scenario:
    known = {"scenario", "pbx", "endpoints", "queues", "callers"}
    _no_unknown(data, known, "the file")
    head = _table(data, "scenario")
    _no_unknown(head, {"name", "seed", "duration_s", "time_scale"}, "[scenario]")
    pbx = _table(data, "pbx")
    _no_unknown(
        pbx,
        {
            "agi_url",
            "ami_port",
            "ami_user",
            "ami_secret",
            "answer_s",
            "callers_send_audio",
            "fallback_queue",
            "fallback_prompt",
            "fallback_timeout_s",
        },
        "[pbx]",
    )
    phones: list[PhoneConfig] = []
    behaviours: dict[str, PhoneBehaviour] = {}
    phone_keys: dict[str, tuple[Key, ...]] = {}
    for index, (name, table) in enumerate(_table(data, "endpoints").items()):
        where = f"[endpoints.{name}]"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where} must be a table")
        _no_unknown(
            table,
            {"number", "name", "answer", "ring_s", "answer_after_s", "talk_s", "keys", "context"},
            where,
        )
        answer = _str(table, "answer", where, "answer")
        unreachable = answer == "unreachable"
        if not unreachable and answer not in PHONE_MODES:
            raise ScenarioError(
                f"{where} answer must be one of answer, busy, never, silent, "
                f"unreachable, not {answer!r}"
            )
        try:
            phones.append(
                PhoneConfig(
                    name,
                    _str(table, "number", where, str(6001 + index)),
                    _str(table, "name", where, name),
                    registered=not unreachable,
                    context=_str(table, "context", where, "acd-agents"),
                )
            )
        except ValueError as error:
            raise ScenarioError(f"{where}: {error}") from error
        behaviours[name] = PhoneBehaviour(
            mode=PHONE_MODES.get(answer, "answer"),
            ring_delay=_seconds(table, "ring_s", where, 0.0) or 0.0,
            answer_delay=_seconds(table, "answer_after_s", where, 1.0) or 0.0,
            talk_time=_seconds(table, "talk_s", where, None),
        )
        phone_keys[name] = _keys(table, where)
    queues = []
    arrivals = []
    for name, table in _table(data, "queues").items():
        where = f"[queues.{name}]"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where} must be a table")
        _no_unknown(
            table,
            {
                "members",
                "ring_timeout_s",
                "retry_s",
                "autopause",
                "autofill",
                "number",
                "calls_per_hour",
                "patience_s",
                "handle_s",
            },
            where,
        )
        members = table.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ScenarioError(f"{where} members must be a list of endpoint names")
        try:
            queues.append(
                QueueConfig(
                    name,
                    tuple(members),
                    member_ring_timeout=_seconds(table, "ring_timeout_s", where, 5.0) or 5.0,
                    retry=_seconds(table, "retry_s", where, 1.0) or 0.0,
                    autopause=_bool(table, "autopause", where, True),
                    autofill=_bool(table, "autofill", where, True),
                )
            )
        except ValueError as error:
            raise ScenarioError(f"{where}: {error}") from error
        patience = _distribution(table.get("patience_s", "never"), f"{where} patience_s")
        handle = _distribution(table.get("handle_s", "never"), f"{where} handle_s")
        number = _str(table, "number", where, "400")
        if "calls_per_hour" in table:
            steps = _rate_steps(table["calls_per_hour"], f"{where} calls_per_hour")
            arrivals.append(QueueArrivals(name, number, steps, patience, handle))
    known_queues = {q.name for q in queues}
    callers = []
    raw_callers = data.get("callers", [])
    if not isinstance(raw_callers, list):
        raise ScenarioError("[[callers]] must be an array of tables")
    for index, table in enumerate(raw_callers):
        where = f"[[callers]] #{index + 1}"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where} must be a table")
        _no_unknown(
            table,
            {
                "at_s",
                "number",
                "queue",
                "caller_num",
                "caller_name",
                "patience_s",
                "hangs_up_after_s",
                "talk_s",
                "keys",
                "dtmf_mode",
                "sends_audio",
            },
            where,
        )
        dtmf_mode = _str(table, "dtmf_mode", where, "rfc2833")
        if dtmf_mode not in ("rfc2833", "info"):
            raise ScenarioError(f"{where} dtmf_mode must be rfc2833 or info")
        queue = table.get("queue")
        if queue is not None and (not isinstance(queue, str) or queue not in known_queues):
            raise ScenarioError(f"{where} queue {queue!r} is not a [queues] table")
        sends_audio = table.get("sends_audio")
        if sends_audio is not None and not isinstance(sends_audio, bool):
            raise ScenarioError(f"{where} sends_audio must be true or false")
        callers.append(
            ScriptedCaller(
                at=_seconds(table, "at_s", where, 0.0) or 0.0,
                number=_str(table, "number", where, "400"),
                queue=queue,
                caller_num=_str(table, "caller_num", where, f"55510{index:02d}"),
                caller_name=table.get("caller_name") if "caller_name" in table else None,
                patience=_seconds(table, "patience_s", where, None),
                hangs_up_after_answer=_seconds(table, "hangs_up_after_s", where, None),
                talk_time=_seconds(table, "talk_s", where, None),
                keys=_keys(table, where),
                dtmf_mode=dtmf_mode,
                sends_audio=sends_audio,
            )
        )
    for name, queue_config in ((q.name, q) for q in queues):
        for member in queue_config.members:
            if member.split("/")[-1] not in behaviours:
                raise ScenarioError(
                    f"[queues.{name}] member {member!r} is not an [endpoints] table"
                )
    fallback = pbx.get("fallback_queue", queues[0].name if queues else None)
    if fallback is not None and fallback not in known_queues:
        raise ScenarioError(f"[pbx] fallback_queue {fallback!r} is not a [queues] table")
    users = base.ami_users
    if "ami_user" in pbx or "ami_secret" in pbx:
        users = (
            AmiUser(
                _str(pbx, "ami_user", "[pbx]", "acd"), _str(pbx, "ami_secret", "[pbx]", "acdsecret")
            ),
        )
    ami_port = pbx.get("ami_port", base.ami_port)
    if not isinstance(ami_port, int) or not 0 <= ami_port < 65536:
        raise ScenarioError("[pbx] ami_port must be a port number")
    time_scale = _seconds(head, "time_scale", "[scenario]", base.timings.time_scale)
    if not time_scale:
        raise ScenarioError("[scenario] time_scale must be > 0")
    timings = Timings(
        answer=_seconds(pbx, "answer_s", "[pbx]", base.timings.answer) or 0.0,
        callers_send_audio=_bool(pbx, "callers_send_audio", "[pbx]", True),
        agi_command=base.timings.agi_command,
        time_scale=time_scale,
    )
    seed = head.get("seed", base.seed)
    if not isinstance(seed, int):
        raise ScenarioError("[scenario] seed must be an integer")
    config = PbxConfig(
        ami_host=base.ami_host,
        ami_port=ami_port,
        agi_url=_str(pbx, "agi_url", "[pbx]", base.agi_url),
        ami_users=users,
        phones=tuple(phones),
        queues=tuple(queues),
        dialplan=DialplanConfig(
            fallback_queue=fallback,
            fallback_prompt=pbx.get("fallback_prompt"),
            fallback_timeout=_seconds(pbx, "fallback_timeout_s", "[pbx]", 120.0),
        ),
        timings=timings,
        seed=seed,
    )
    return Scenario(
        name=_str(head, "name", "[scenario]", "scenario"),
        config=config,
        behaviours=behaviours,
        phone_keys=phone_keys,
        callers=tuple(callers),
        arrivals=tuple(arrivals),
        duration=_seconds(head, "duration_s", "[scenario]", None),
    )


async def play(scenario: Scenario, sim: PbxSim) -> list[CallRecord]:
    """Apply the phones' behaviours, place every caller at its time (× time scale) until the
    scenario's duration, and return the calls placed once every one of them has ended."""
    scale = scenario.config.timings.time_scale
    for name, behaviour in scenario.behaviours.items():
        sim.phone(name).behaviour = behaviour
    unsubscribe = sim.subscribe(_phone_keys(sim, scenario.phone_keys, scale))
    rng = random.Random(scenario.config.seed)
    plan: list[tuple[float, ScriptedCaller]] = [(c.at, c) for c in scenario.callers]
    for stream in scenario.arrivals:
        plan += _poisson(stream, scenario.duration, rng)
    plan.sort(key=lambda item: item[0])
    loop = asyncio.get_running_loop()
    started = loop.time()
    records = scenario.records
    try:
        for at, caller in plan:
            await asyncio.sleep(max(started + at * scale - loop.time(), 0.0))
            records.append(
                sim.place_call(
                    number=caller.number,
                    queue=caller.queue,
                    caller_num=caller.caller_num,
                    caller_name=caller.caller_name,
                    patience=_scaled(caller.patience, scale),
                    hangs_up_after_answer=_scaled(caller.hangs_up_after_answer, scale),
                    talk_time=_scaled(caller.talk_time, scale),
                    keys=tuple((k.at * scale, k.digit) for k in caller.keys),
                    dtmf_mode=caller.dtmf_mode,
                    sends_audio=caller.sends_audio,
                )
            )
        if scenario.duration is not None:
            await asyncio.sleep(max(started + scenario.duration * scale - loop.time(), 0.0))
        await asyncio.gather(*(record.done.wait() for record in records))
    finally:
        unsubscribe()
    return records


def _phone_keys(sim: PbxSim, keys: dict[str, tuple[Key, ...]], scale: float) -> Any:
    """Press each phone's keys at their times after each of its answers."""
    pressing: set[asyncio.Task[None]] = set()

    async def press(channel: str, phone_keys: tuple[Key, ...]) -> None:
        loop = asyncio.get_running_loop()
        answered_at = loop.time()
        for key in sorted(phone_keys, key=lambda k: k.at):
            await asyncio.sleep(max(answered_at + key.at * scale - loop.time(), 0.0))
            if not sim.press_key(channel, key.digit):
                return

    def on_event(event: AmiEvent) -> None:
        if event.name != "Newstate":
            return
        headers = dict(event.headers)
        if headers.get("ChannelState") != "6":
            return
        endpoint = headers.get("Channel", "").partition("/")[2].rpartition("-")[0]
        if keys.get(endpoint):
            task = asyncio.get_running_loop().create_task(press(headers["Channel"], keys[endpoint]))
            pressing.add(task)
            task.add_done_callback(pressing.discard)

    return on_event


def _poisson(
    stream: QueueArrivals, duration: float | None, rng: random.Random
) -> list[tuple[float, ScriptedCaller]]:
    if duration is None:
        raise ScenarioError(f"[queues.{stream.queue}] calls_per_hour needs [scenario] duration_s")
    plan = []
    t = 0.0
    steps = stream.steps
    while True:
        rate = next((r for start, r in reversed(steps) if start <= t), 0.0) / 3600
        later = [start for start, _ in steps if start > t]
        if rate <= 0:
            if not later:
                break
            t = later[0]
            continue
        step = rng.expovariate(rate)
        if later and t + step > later[0]:
            t = later[0]  # memoryless: start afresh at the next step's rate
            continue
        t += step
        if t >= duration:
            break
        plan.append(
            (
                t,
                ScriptedCaller(
                    at=t,
                    number=stream.number,
                    queue=stream.queue,
                    caller_num=f"+336{rng.randrange(10**8):08d}",
                    caller_name=None,
                    patience=stream.patience.draw(rng),
                    hangs_up_after_answer=None,
                    talk_time=stream.handle.draw(rng),
                    keys=(),
                    dtmf_mode="rfc2833",
                    sends_audio=None,
                ),
            )
        )
    return plan


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"[{key}] must be a table")
    return value


def _no_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _str(table: dict[str, Any], key: str, where: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ScenarioError(f"{where} {key} must be a string")
    return value


def _bool(table: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{where} {key} must be true or false")
    return value


def _seconds(table: dict[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = table.get(key, default)
    if value is None or value == "never":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScenarioError(f'{where} {key} must be a number of seconds >= 0 (or "never")')
    return float(value)


def _keys(table: dict[str, Any], where: str) -> tuple[Key, ...]:
    raw = table.get("keys", [])
    keys = []
    if not isinstance(raw, list):
        raise ScenarioError(f"{where} keys must be a list of [seconds, digit]")
    for item in raw:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or isinstance(item[0], bool)
            or not isinstance(item[0], int | float)
            or item[0] < 0
            or not isinstance(item[1], str)
            or len(item[1]) != 1
            or item[1] not in "0123456789*#ABCD"
        ):
            raise ScenarioError(f"{where} keys must be [seconds, digit] pairs, not {item!r}")
        keys.append(Key(float(item[0]), item[1]))
    return tuple(keys)


def _time(value: Any, where: str) -> float:
    """Seconds from the start: a number, or ``"HH:MM"`` / ``"HH:MM:SS"`` (acd simulate's
    notation, counted here from the start of the run instead of midnight)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        parts = value.split(":")
        if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
            hours, minutes, *seconds = (int(p) for p in parts)
            return hours * 3600.0 + minutes * 60.0 + sum(seconds)
    raise ScenarioError(f'{where}: {value!r} is not seconds nor "HH:MM"/"HH:MM:SS"')


def _rate_steps(value: Any, where: str) -> tuple[tuple[float, float], ...]:
    """``calls_per_hour``: one number, or ``[[time, rate], ...]`` as in acd simulate."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return ((0.0, float(value)),)
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"{where} must be a number or a list of [time, calls per hour]")
    steps = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise ScenarioError(f"{where}: {item!r} is not [time, calls per hour]")
        rate = item[1]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
            raise ScenarioError(f"{where}: {rate!r} is not a rate >= 0")
        steps.append((_time(item[0], where), float(rate)))
    return tuple(sorted(steps))


def _distribution(value: Any, where: str) -> Distribution:
    """A number, ``"never"``, or a table like acd simulate's (exponential/constant/uniform)."""
    if value == "never":
        return Distribution("never")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return Distribution("constant", float(value))
    if isinstance(value, dict):
        kind = value.get("distribution")
        numbers = {k: v for k, v in value.items() if k != "distribution"}
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            for v in numbers.values()
        ):
            raise ScenarioError(f"{where}: parameters must be numbers >= 0")
        if kind == "exponential" and set(numbers) == {"mean"} and numbers["mean"] > 0:
            return Distribution("exponential", float(numbers["mean"]))
        if (
            kind in ("lognormal", "gamma")
            and set(numbers) == {"mean", "sd"}
            and numbers["mean"] > 0
            and numbers["sd"] > 0
        ):
            return Distribution(str(kind), float(numbers["mean"]), float(numbers["sd"]))
        if kind == "constant" and set(numbers) == {"value"}:
            return Distribution("constant", float(numbers["value"]))
        if (
            kind == "uniform"
            and set(numbers) == {"low", "high"}
            and numbers["low"] <= numbers["high"]
        ):
            return Distribution("uniform", float(numbers["low"]), float(numbers["high"]))
    raise ScenarioError(
        f'{where}: a number, "never", or {{distribution = "exponential" (mean) | '
        f'"lognormal"/"gamma" (mean, sd) | "constant" (value) | "uniform" (low, high)}}'
    )
