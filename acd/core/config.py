"""Engine configuration: frozen, self-validating value objects.

The settings layer builds these from TOML; every check lives here so an invalid configuration never
exists, and each ``ConfigError`` names the field (``queues[sales].steps[1].expression``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from acd.core.calendar import Schedule
from acd.core.callbacks import CallbackPolicy
from acd.core.customers import CustomerRouting
from acd.core.errors import ConfigError, SkillExpressionError
from acd.core.skills import (
    MAX_LEVEL,
    MIN_LEVEL,
    SKILL_NAME_RE,
    SkillExpr,
    is_satisfiable,
    parse_skill_expression,
)

ID_MAX_LEN: Final = 64
# Call priorities: Asterisk's QUEUE_PRIO is a C int; a much narrower range is plenty for a
# centre and every database column and index holds it (a priority of 2^70 once stopped recording).
PRIORITY_MIN: Final = -1_000_000
PRIORITY_MAX: Final = 1_000_000
# Every duration of the configuration is at most a year: beyond, a value is a typo, and instants
# computed from it (now + 1e300) overflow dates, pages and logs.
MAX_DURATION_S: Final = 366 * 86_400.0
# Queue weights and other ratios: a bound far above any sensible value, for the same reason.
MAX_WEIGHT: Final = 1_000_000.0


class Policy(StrEnum):
    """How a queue picks among several routable, eligible advisors for one call."""

    LONGEST_IDLE = "longest_idle"
    BEST_SKILL = "best_skill"
    LEAST_OCCUPIED = "least_occupied"
    FEWEST_CALLS = "fewest_calls"
    ROUND_ROBIN = "round_robin"


class EmptyPolicy(StrEnum):
    """When a queue counts as empty for join-when-empty / leave-when-empty.

    ``never``: never. ``no_logged_in``: no advisor of the queue is logged in. ``no_staffed``: no
    advisor of the queue is logged in, reachable and not paused (advisors on a call, in wrap-up,
    breather or recovery still staff the queue: they will be back). Only advisors who satisfy the
    caller's routing step or a later one count: an advisor who could never take the caller does
    not make the queue non-empty for them.
    """

    NEVER = "never"
    NO_LOGGED_IN = "no_logged_in"
    NO_STAFFED = "no_staffed"


class AtClose(StrEnum):
    """What happens to callers still waiting when their queue's opening hours end."""

    SERVE = "serve"  # they stay in line and are served (advisors are not forced out)
    OVERFLOW = "overflow"  # they leave for the queue's overflow target (else its closed action)


class TargetKind(StrEnum):
    """Where an overflowing call goes."""

    QUEUE = "queue"  # another queue of this engine: the caller stays in the same session
    EXTENSION = "extension"  # a dialplan target (``context,exten,priority`` or ``exten@context``)
    HANGUP = "hangup"  # say goodbye and hang up
    # Closed queues only: say when it opens and offer a callback then (else goodbye).
    CALLBACK = "callback"


def _check_id(field_name: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(field_name, "must be a non-empty string")
    if len(value) > ID_MAX_LEN:
        raise ConfigError(field_name, f"must be at most {ID_MAX_LEN} characters")
    if any(c.isspace() or c in ",;|" for c in value):
        raise ConfigError(field_name, f"must not contain spaces, ',', ';' or '|': {value!r}")


def _check_duration(field_name: str, value: float, *, allow_zero: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(field_name, f"must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(field_name, f"must be {bound} seconds, got {value!r}")
    if value > MAX_DURATION_S:
        raise ConfigError(
            field_name, f"must be at most {MAX_DURATION_S:.0f} seconds (a year), got {value!r}"
        )


@dataclass(frozen=True, slots=True)
class OverflowTarget:
    """Where a call goes when it waited too long (or its queue is empty).

    Build from text with ``OverflowTarget.parse``: ``queue:NAME``, ``extension:TARGET``, ``hangup``.
    """

    kind: TargetKind
    value: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, TargetKind):
            raise ConfigError("target.kind", f"must be one of {[k.value for k in TargetKind]}")
        if self.kind is TargetKind.HANGUP or self.kind is TargetKind.CALLBACK:
            if self.value:
                raise ConfigError("target.value", f"{self.kind.value} takes no value")
        elif not self.value or any(c.isspace() for c in self.value):
            raise ConfigError("target.value", f"{self.kind.value} needs a value without spaces")

    @classmethod
    def parse(cls, text: str) -> OverflowTarget:
        """``queue:billing`` | ``extension:voicemail@support`` | ``hangup`` | ``callback`` (a
        closed queue's callback offer)."""
        if text == "hangup":
            return cls(TargetKind.HANGUP)
        if text == "callback":
            return cls(TargetKind.CALLBACK)
        kind, sep, value = text.partition(":")
        if not sep or kind not in {k.value for k in TargetKind}:
            raise ConfigError(
                "target",
                f"expected queue:NAME, extension:TARGET, hangup or callback: {text!r}",
            )
        return cls(TargetKind(kind), value)

    def __str__(self) -> str:
        if self.kind is TargetKind.HANGUP or self.kind is TargetKind.CALLBACK:
            return self.kind.value
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class RoutingStep:
    """One step of a queue's routing: a skill expression, held for ``expires_after_s`` seconds.

    The last step of a queue never expires (``expires_after_s=None``); every other step must.
    """

    expression: str = "any"
    expires_after_s: float | None = None
    parsed: SkillExpr = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            parsed = parse_skill_expression(self.expression)
        except SkillExpressionError as exc:
            raise ConfigError("expression", str(exc)) from exc
        if self.expires_after_s is not None:
            _check_duration("expires_after_s", self.expires_after_s, allow_zero=False)
        if not is_satisfiable(parsed):
            raise ConfigError("expression", f"no advisor can ever satisfy {self.expression!r}")
        object.__setattr__(self, "parsed", parsed)


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue: routing steps, selection policy, weight, limits, prompts and wrap-up."""

    name: str
    steps: tuple[RoutingStep, ...] = (RoutingStep(),)
    policy: Policy = Policy.LONGEST_IDLE
    # Weight multiplies waiting time when an advisor compares calls of different queues (after
    # priority): a weight-2 call that waited 20 s beats a weight-1 call that waited 30 s.
    weight: float = 1.0
    priority: int = 0  # default priority of calls that arrive without one
    max_wait_s: float | None = None
    overflow: OverflowTarget | None = None
    join_when_empty: EmptyPolicy = EmptyPolicy.NEVER
    leave_when_empty: EmptyPolicy = EmptyPolicy.NEVER
    announce_interval_s: float | None = 30.0  # position / expected wait prompts; None = off
    service_level_s: float = 20.0
    wrap_up_s: float = 10.0
    ring_timeout_s: float = 15.0
    expected_handle_s: float = 180.0  # seeds the expected-wait estimate before calls complete
    # No-answer cooldown (app_queue's ``retry``): after an advisor lets a caller's ring run out,
    # that advisor is not offered that caller again for this long; 0 offers them again at once.
    retry_s: float = 5.0
    # Priority ageing: a waiting caller's effective priority rises one level per this many seconds
    # since first arrival, so no caller waits unboundedly behind higher priorities; 0 turns it off.
    priority_ageing_s: float = 60.0
    # A routing step that no staffed advisor satisfies is skipped at once (not waited out).
    skip_unstaffed_steps: bool = False
    # A caller waiting this long (since first arrival) is taken by an eligible advisor in a
    # breather: the breather yields (None: breathers never yield).
    breather_yield_after_s: float | None = None
    schedule: str | None = None  # opening hours (a Schedule of AcdConfig); None = always open
    last_entry_before_close_s: float = 0.0  # new callers turned away this long before closing
    at_close: AtClose = AtClose.SERVE
    # Where a caller who rings while the queue is closed goes; None: a message saying when the
    # queue opens again (SAY DATETIME in the queue's language), then goodbye.
    closed: OverflowTarget | None = None
    # Callback offer to waiting callers: after this long in the queue, and/or as soon as the
    # expected wait exceeds ``callback_offer_wait_s``; None: not offered that way. The caller
    # accepts with ``callback_key`` (during the offer, or during music).
    callback_offer_after_s: float | None = None
    callback_offer_wait_s: float | None = None
    callback_key: str = "1"

    def __post_init__(self) -> None:
        f = f"queues[{self.name}]"
        _check_id("queues[].name", self.name)
        if not isinstance(self.steps, tuple) or not self.steps:
            raise ConfigError(f"{f}.steps", "must be a non-empty tuple of RoutingStep")
        for i, step in enumerate(self.steps):
            if not isinstance(step, RoutingStep):
                raise ConfigError(f"{f}.steps[{i}]", "must be a RoutingStep")
            last = i == len(self.steps) - 1
            if last and step.expires_after_s is not None:
                raise ConfigError(f"{f}.steps[{i}].expires_after_s", "the last step never expires")
            if not last and step.expires_after_s is None:
                raise ConfigError(f"{f}.steps[{i}].expires_after_s", "required (not the last step)")
        for name in ("policy",):
            if not isinstance(self.policy, Policy):
                raise ConfigError(f"{f}.{name}", f"must be one of {[p.value for p in Policy]}")
        for name in ("join_when_empty", "leave_when_empty"):
            if not isinstance(getattr(self, name), EmptyPolicy):
                raise ConfigError(f"{f}.{name}", f"must be one of {[p.value for p in EmptyPolicy]}")
        if (
            isinstance(self.weight, bool)
            or not isinstance(self.weight, int | float)
            or not math.isfinite(self.weight)
            or not 0 < self.weight <= MAX_WEIGHT
        ):
            raise ConfigError(
                f"{f}.weight", f"must be a number > 0 and <= {MAX_WEIGHT:.0f}, got {self.weight!r}"
            )
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ConfigError(f"{f}.priority", f"must be an integer, got {self.priority!r}")
        if not PRIORITY_MIN <= self.priority <= PRIORITY_MAX:
            raise ConfigError(
                f"{f}.priority",
                f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}, got {self.priority}",
            )
        if self.max_wait_s is not None:
            _check_duration(f"{f}.max_wait_s", self.max_wait_s, allow_zero=False)
        if self.overflow is not None and not isinstance(self.overflow, OverflowTarget):
            raise ConfigError(f"{f}.overflow", "must be an OverflowTarget")
        if self.overflow is not None and self.overflow.kind is TargetKind.CALLBACK:
            raise ConfigError(f"{f}.overflow", "callback is a closed action only (closed)")
        if (
            self.overflow is not None
            and self.overflow.kind is TargetKind.QUEUE
            and self.overflow.value == self.name
        ):
            raise ConfigError(f"{f}.overflow", "a queue cannot overflow to itself")
        if self.max_wait_s is not None and self.overflow is None:
            raise ConfigError(f"{f}.overflow", "max_wait_s needs an overflow target")
        if self.announce_interval_s is not None:
            _check_duration(f"{f}.announce_interval_s", self.announce_interval_s, allow_zero=False)
        _check_duration(f"{f}.service_level_s", self.service_level_s)
        _check_duration(f"{f}.wrap_up_s", self.wrap_up_s)
        _check_duration(f"{f}.retry_s", self.retry_s)
        _check_duration(f"{f}.priority_ageing_s", self.priority_ageing_s)
        if not isinstance(self.skip_unstaffed_steps, bool):
            raise ConfigError(f"{f}.skip_unstaffed_steps", "must be true or false")
        if self.breather_yield_after_s is not None:
            _check_duration(f"{f}.breather_yield_after_s", self.breather_yield_after_s)
        _check_duration(f"{f}.ring_timeout_s", self.ring_timeout_s, allow_zero=False)
        _check_duration(f"{f}.expected_handle_s", self.expected_handle_s, allow_zero=False)
        _check_duration(f"{f}.last_entry_before_close_s", self.last_entry_before_close_s)
        if not isinstance(self.at_close, AtClose):
            raise ConfigError(f"{f}.at_close", f"must be one of {[a.value for a in AtClose]}")
        for name in ("callback_offer_after_s", "callback_offer_wait_s"):
            if getattr(self, name) is not None:
                _check_duration(f"{f}.{name}", getattr(self, name))
        if (
            not isinstance(self.callback_key, str)
            or self.callback_key not in "0123456789*#"
            or len(self.callback_key) != 1
        ):
            raise ConfigError(f"{f}.callback_key", "must be one key: 0-9, * or #")
        if self.closed is not None and not isinstance(self.closed, OverflowTarget):
            raise ConfigError(f"{f}.closed", "must be an OverflowTarget")
        if (
            self.closed is not None
            and self.closed.kind is TargetKind.QUEUE
            and self.closed.value == self.name
        ):
            raise ConfigError(f"{f}.closed", "a closed queue cannot send callers to itself")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """An advisor: endpoint, skills (levels 1–5), queues served, own wrap-up, miss limit."""

    id: str
    name: str = ""
    endpoint: str = ""  # e.g. PJSIP/1001; defaults to PJSIP/<id>
    skills: Mapping[str, int] = field(default_factory=dict)
    queues: tuple[str, ...] = ()
    wrap_up_s: float | None = None  # wins over the queue's value when set
    max_missed: int = 3  # consecutive presentations not answered before a no_answer pause

    def __post_init__(self) -> None:
        _check_id("agents[].id", self.id)
        f = f"agents[{self.id}]"
        if not isinstance(self.name, str):
            raise ConfigError(f"{f}.name", "must be a string")
        if not self.endpoint:
            object.__setattr__(self, "endpoint", f"PJSIP/{self.id}")
        elif not isinstance(self.endpoint, str) or "/" not in self.endpoint:
            raise ConfigError(f"{f}.endpoint", f"must look like TECH/RESOURCE: {self.endpoint!r}")
        if not isinstance(self.skills, Mapping):
            raise ConfigError(f"{f}.skills", "must be a mapping of skill name to level")
        for skill, level in self.skills.items():
            if not isinstance(skill, str) or SKILL_NAME_RE.match(skill) is None:
                raise ConfigError(f"{f}.skills", f"invalid skill name {skill!r}")
            if isinstance(level, bool) or not isinstance(level, int):
                raise ConfigError(f"{f}.skills.{skill}", f"level must be an integer: {level!r}")
            if not MIN_LEVEL <= level <= MAX_LEVEL:
                raise ConfigError(
                    f"{f}.skills.{skill}", f"level must be {MIN_LEVEL}..{MAX_LEVEL}, got {level}"
                )
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        if not isinstance(self.queues, tuple) or not all(isinstance(q, str) for q in self.queues):
            raise ConfigError(f"{f}.queues", "must be a tuple of queue names")
        if len(set(self.queues)) != len(self.queues):
            raise ConfigError(f"{f}.queues", "lists a queue twice")
        if self.wrap_up_s is not None:
            _check_duration(f"{f}.wrap_up_s", self.wrap_up_s)
        if isinstance(self.max_missed, bool) or not isinstance(self.max_missed, int):
            raise ConfigError(f"{f}.max_missed", "must be an integer")
        if self.max_missed < 1:
            raise ConfigError(f"{f}.max_missed", f"must be >= 1, got {self.max_missed}")


@dataclass(frozen=True, slots=True)
class WorkloadPolicy:
    """Workload limits; on by default (the founding brief's concern).

    Occupancy is handle time over staffed time, as call centres measure it: busy seconds (talk +
    wrap-up) in the last ``window_s`` seconds ÷ max(staffed seconds in that window,
    ``min_basis_s``), counted in ``bucket_s`` buckets. Staffed time is time logged in and
    available, reserved (ringing), on a call, in wrap-up or in a breather; pauses, recovery
    pauses and logged-out time are not staffed, so they neither dilute nor raise occupancy.
    ``min_basis_s`` is capped at ``window_s`` (``min(min_basis_s, window_s)`` is used).

    An advisor over ``occupancy_cap`` when freed takes a ``breather_s`` breather (repeated while
    still over the cap). Wrap-up lasts at least ``min_wrap_up_s``. A recovery pause lasts at most
    ``recovery_max_s``; at most ``recovery_per_window`` of them start within one window.
    """

    enabled: bool = True
    occupancy_cap: float = 0.85
    window_s: float = 3600.0
    bucket_s: float = 60.0
    # The floor of occupancy's denominator. Without it the first call after login would read as
    # 100 % (busy the whole of a short staffed time) and send the advisor to a breather; with
    # 15 minutes, one 3-minute call right after login reads as 20 %. It fades out once the
    # advisor has been staffed longer than the floor within the window.
    min_basis_s: float = 900.0
    breather_s: float = 120.0
    min_wrap_up_s: float = 5.0
    recovery_max_s: float = 300.0
    recovery_per_window: int = 3

    def __post_init__(self) -> None:
        f = "workload"
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"{f}.enabled", "must be true or false")
        cap = self.occupancy_cap
        if isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 < cap <= 1:
            raise ConfigError(f"{f}.occupancy_cap", f"must be a fraction in (0, 1], got {cap!r}")
        _check_duration(f"{f}.window_s", self.window_s, allow_zero=False)
        _check_duration(f"{f}.bucket_s", self.bucket_s, allow_zero=False)
        if self.bucket_s > self.window_s:
            raise ConfigError(f"{f}.bucket_s", "must not exceed window_s")
        _check_duration(f"{f}.min_basis_s", self.min_basis_s, allow_zero=False)
        _check_duration(f"{f}.breather_s", self.breather_s, allow_zero=False)
        _check_duration(f"{f}.min_wrap_up_s", self.min_wrap_up_s)
        _check_duration(f"{f}.recovery_max_s", self.recovery_max_s, allow_zero=False)
        if isinstance(self.recovery_per_window, bool) or not isinstance(
            self.recovery_per_window, int
        ):
            raise ConfigError(f"{f}.recovery_per_window", "must be an integer")
        if self.recovery_per_window < 0:
            raise ConfigError(f"{f}.recovery_per_window", "must be >= 0")


@dataclass(frozen=True, slots=True)
class AcdConfig:
    """The whole engine configuration, checked as a whole (references, reachability, cycles)."""

    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...] = ()
    workload: WorkloadPolicy = field(default_factory=WorkloadPolicy)
    short_abandon_s: float = 5.0
    schedules: tuple[Schedule, ...] = ()  # opening hours the queues name (acd.core.calendar)
    customers: CustomerRouting = field(default_factory=CustomerRouting)  # VIP priority
    callbacks: CallbackPolicy = field(default_factory=CallbackPolicy)  # retries, numbers

    def __post_init__(self) -> None:
        if not isinstance(self.queues, tuple) or not all(
            isinstance(q, QueueConfig) for q in self.queues
        ):
            raise ConfigError("queues", "must be a tuple of QueueConfig")
        if not isinstance(self.agents, tuple) or not all(
            isinstance(a, AgentConfig) for a in self.agents
        ):
            raise ConfigError("agents", "must be a tuple of AgentConfig")
        if not isinstance(self.workload, WorkloadPolicy):
            raise ConfigError("workload", "must be a WorkloadPolicy")
        _check_duration("short_abandon_s", self.short_abandon_s)
        if not isinstance(self.callbacks, CallbackPolicy):
            raise ConfigError("callbacks", "must be a CallbackPolicy")
        names: dict[str, QueueConfig] = {}
        for q in self.queues:
            if q.name in names:
                raise ConfigError(f"queues[{q.name}]", "queue defined twice")
            names[q.name] = q
        ids: set[str] = set()
        members: dict[str, list[AgentConfig]] = {name: [] for name in names}
        for a in self.agents:
            if a.id in ids:
                raise ConfigError(f"agents[{a.id}]", "advisor defined twice")
            ids.add(a.id)
            for qn in a.queues:
                if qn not in names:
                    raise ConfigError(f"agents[{a.id}].queues", f"unknown queue {qn!r}")
                members[qn].append(a)
        if not isinstance(self.schedules, tuple) or not all(
            isinstance(s, Schedule) for s in self.schedules
        ):
            raise ConfigError("schedules", "must be a tuple of Schedule")
        schedule_names = {s.name for s in self.schedules}
        if len(schedule_names) != len(self.schedules):
            raise ConfigError("schedules", "a schedule is defined twice")
        for q in self.queues:
            if q.schedule is not None and q.schedule not in schedule_names:
                raise ConfigError(f"queues[{q.name}].schedule", f"unknown schedule {q.schedule!r}")
            if (
                q.closed is not None
                and q.closed.kind is TargetKind.QUEUE
                and q.closed.value not in names
            ):
                raise ConfigError(f"queues[{q.name}].closed", f"unknown queue {q.closed.value!r}")
        for dialled, by_language in self.customers.language_queues.items():
            for language, target in {"": dialled, **by_language}.items():
                if target not in names:
                    where = ".".join(
                        p for p in ("customers.language_queues", dialled, language) if p
                    )
                    raise ConfigError(where, f"unknown queue {target!r}")
        for q in self.queues:
            if (
                q.overflow is not None
                and q.overflow.kind is TargetKind.QUEUE
                and q.overflow.value not in names
            ):
                raise ConfigError(
                    f"queues[{q.name}].overflow", f"unknown queue {q.overflow.value!r}"
                )
            for i, step in enumerate(q.steps):
                if not any(step.parsed.evaluate(a.skills) for a in members[q.name]):
                    raise ConfigError(
                        f"queues[{q.name}].steps[{i}].expression",
                        f"no advisor of the queue satisfies {step.expression!r}"
                        if members[q.name]
                        else "the queue has no advisors",
                    )
        # Overflow between queues must not loop: a caller would bounce forever.
        for q in self.queues:
            seen = [q.name]
            cur = q
            while cur.overflow is not None and cur.overflow.kind is TargetKind.QUEUE:
                nxt = cur.overflow.value
                if nxt in seen:
                    chain = " -> ".join([*seen, nxt])
                    raise ConfigError(f"queues[{q.name}].overflow", f"overflow loop: {chain}")
                seen.append(nxt)
                cur = names[nxt]
        # Same for closed queues sending callers on: both closed, a caller would bounce forever.
        for q in self.queues:
            seen = [q.name]
            cur = q
            while cur.closed is not None and cur.closed.kind is TargetKind.QUEUE:
                nxt = cur.closed.value
                if nxt in seen:
                    chain = " -> ".join([*seen, nxt])
                    raise ConfigError(f"queues[{q.name}].closed", f"closed loop: {chain}")
                seen.append(nxt)
                cur = names[nxt]

    def schedule(self, name: str | None) -> Schedule | None:
        """The schedule called ``name`` (None for None or an unknown name: always open)."""
        for s in self.schedules:
            if s.name == name:
                return s
        return None

    def queue(self, name: str) -> QueueConfig | None:
        """The queue called ``name``, or None."""
        for q in self.queues:
            if q.name == name:
                return q
        return None
