"""A simulated day: demand per queue, real or past arrivals, the advisors' roster, phone behaviour.

Times are seconds since midnight of the simulated day; the engine runs on the same clock. The
scenario is independent of the configuration under test, so one scenario runs against several
``acd.toml`` files (the roster names advisors by id or glob pattern, resolved per configuration).
"""

from __future__ import annotations

import fnmatch
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from acd.core.calendar import CentreCalendar
from acd.core.config import AcdConfig
from acd.sim.distributions import Constant, Distribution, Exponential, Never

DAY_S = 86_400.0


class ScenarioError(ValueError):
    """A scenario value is invalid; ``field`` names it (``queues.sales.profile[2]``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_time(field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(field, f"must be a finite time in seconds, got {value!r}")
    if not 0 <= value <= 2 * DAY_S:
        raise ScenarioError(field, f"must be within two days of midnight, got {value!r}")


@dataclass(frozen=True, slots=True)
class QueueDemand:
    """What callers of one queue do: when they come, how long they talk, how long they wait.

    ``profile`` is a piecewise-constant arrival rate: ``(from_s, calls_per_hour)`` pairs in
    increasing time, each holding until the next one (the last until the day closes); arrivals
    are Poisson at that rate. ``wrap_up_s`` is how long advisors actually need after a call: when
    shorter than the configured wrap-up they end it early (the engine enforces its minimum);
    ``None`` keeps the configured wrap-up.
    """

    queue: str
    profile: tuple[tuple[float, float], ...] = ()
    handle_s: Distribution = field(default_factory=lambda: Exponential(180.0))
    patience_s: Distribution = field(default_factory=Never)
    wrap_up_s: Distribution | None = None
    priority: int | None = None

    def __post_init__(self) -> None:
        f = f"queues.{self.queue}"
        if not isinstance(self.queue, str) or not self.queue:
            raise ScenarioError("queues", "a queue name must be a non-empty string")
        previous = -math.inf
        for i, (start, rate) in enumerate(self.profile):
            _check_time(f"{f}.profile[{i}]", start)
            if start <= previous:
                raise ScenarioError(f"{f}.profile[{i}]", "times must increase")
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate >= 0:
                raise ScenarioError(f"{f}.profile[{i}]", f"calls per hour must be >= 0: {rate!r}")
            if not math.isfinite(rate):
                raise ScenarioError(f"{f}.profile[{i}]", "calls per hour must be finite")
            previous = start

    def rate_per_s(self, at: float) -> float:
        """Arrival rate (calls per second) in force at ``at``."""
        rate = 0.0
        for start, per_hour in self.profile:
            if start > at:
                break
            rate = per_hour / 3600.0
        return rate


@dataclass(frozen=True, slots=True)
class Arrival:
    """One caller: when, which queue, and (when known) their handle time, patience and wrap-up.

    ``None`` fields are drawn from the queue's ``QueueDemand``. ``patience_s`` is infinite for a
    caller who never hangs up.
    """

    at: float
    queue: str
    priority: int | None = None
    handle_s: float | None = None
    patience_s: float | None = None
    wrap_up_s: float | None = None
    # The caller as the customer directory knows them (``acd.core.customers`` keys: customer_id,
    # vip, preferred_agent...): the engine routes on it as it does in production.
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PastCall:
    """One call of a past day, as the database records it (the replay's input).

    ``handle_s`` is the talk time of an answered call (None otherwise); ``abandoned_after_s``
    the wait of a caller who hung up before an answer (None otherwise); ``waited_s`` the wait of
    an answered caller, when known (it sharpens the patience estimate).
    """

    at: float
    queue: str
    priority: int | None = None
    handle_s: float | None = None
    abandoned_after_s: float | None = None
    waited_s: float | None = None


@dataclass(frozen=True, slots=True)
class Break:
    """A pause of ``duration_s`` asked for at ``at`` (taken after the current call, if any)."""

    at: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class Shift:
    """Advisors matching ``agents`` (ids or glob patterns) log in at ``start``, out at ``end``.

    ``end`` None: they stay until the last caller of the day is served. A shift end during a call
    takes effect after its wrap-up.
    """

    agents: tuple[str, ...]
    start: float
    end: float | None = None
    breaks: tuple[Break, ...] = ()

    def __post_init__(self) -> None:
        if not self.agents:
            raise ScenarioError("roster.agents", "lists no advisor")
        _check_time("roster.start", self.start)
        if self.end is not None:
            _check_time("roster.end", self.end)
            if self.end <= self.start:
                raise ScenarioError("roster.end", "must be after start")
        for b in self.breaks:
            _check_time("roster.breaks.at", b.at)
            if not b.duration_s > 0 or not math.isfinite(b.duration_s):
                raise ScenarioError("roster.breaks.minutes", "must be > 0")


@dataclass(frozen=True, slots=True)
class ScenarioHours:
    """Which real day the simulated one is, for opening hours: the centre's zone and holidays,
    and the epoch of that day's local midnight (simulated time 0)."""

    centre: CentreCalendar
    day_start: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """One simulated day. ``arrivals`` (real or replayed callers) replace the Poisson profiles.

    ``hours``: the queues' schedules apply as on that day (callers outside hours are turned
    away, outcome ``closed``); None: the queues are open all day.
    """

    open_s: float
    close_s: float
    queues: tuple[QueueDemand, ...]
    name: str = "scenario"
    interval_s: float = 1800.0
    arrivals: tuple[Arrival, ...] | None = None
    roster: tuple[Shift, ...] | None = None  # None: every advisor, from opening until drained
    ring_delay_s: Distribution = field(default_factory=lambda: Constant(3.0))
    no_answer_probability: float = 0.0
    prompt_s: float = 8.0  # length of one position / expected-wait announcement
    no_answer_pause_s: float = 60.0  # an advisor paused for missed calls is back after this
    max_drain_s: float = 4 * 3600.0  # stop this long after closing even if callers still wait
    warmup_s: float = 0.0  # calls offered this soon after opening are left out of the figures
    target_service_level: float = 0.8
    seed: int = 1
    hours: ScenarioHours | None = None
    # Callers offered a callback (the queues' ``callback_offer_*``) accept it with this
    # probability, and a callback attempt reaches the customer with ``callback_reach``.
    callback_acceptance: float = 0.0
    callback_reach: float = 0.8

    def __post_init__(self) -> None:
        _check_time("scenario.open", self.open_s)
        _check_time("scenario.close", self.close_s)
        if self.close_s <= self.open_s:
            raise ScenarioError("scenario.close", "must be after open")
        if not self.interval_s > 0:
            raise ScenarioError("scenario.interval_minutes", "must be > 0")
        names = [q.queue for q in self.queues]
        if len(set(names)) != len(names):
            raise ScenarioError("queues", "a queue is described twice")
        p = self.no_answer_probability
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p < 1:
            raise ScenarioError("scenario.no_answer_probability", f"must be in [0, 1): {p!r}")
        for name in ("prompt_s", "no_answer_pause_s", "max_drain_s", "warmup_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ScenarioError(f"scenario.{name}", f"must be >= 0 seconds: {value!r}")
        if self.warmup_s >= self.close_s - self.open_s:
            raise ScenarioError("scenario.warmup_s", "leaves nothing of the day to measure")
        for name in ("callback_acceptance", "callback_reach"):
            p = getattr(self, name)
            if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
                raise ScenarioError(f"scenario.{name}", f"must be in [0, 1]: {p!r}")
        t = self.target_service_level
        if not (isinstance(t, int | float) and 0 < t < 1):
            raise ScenarioError("scenario.target_service_level", f"must be in (0, 1): {t!r}")
        if self.arrivals is not None:
            for i, a in enumerate(self.arrivals):
                _check_time(f"arrivals[{i}].at", a.at)

    def demand(self, queue: str) -> QueueDemand | None:
        """The demand of ``queue``, or None."""
        for q in self.queues:
            if q.queue == queue:
                return q
        return None

    def intervals(self) -> list[float]:
        """Start of each reporting interval between opening and closing."""
        starts = []
        t = self.open_s
        while t < self.close_s - 1e-9:
            starts.append(t)
            t += self.interval_s
        return starts


@dataclass(frozen=True, slots=True)
class Caller:
    """An arrival with every value drawn: what the simulator feeds the engine."""

    at: float
    queue: str
    priority: int | None
    handle_s: float
    patience_s: float
    wrap_up_s: float | None
    data: tuple[tuple[str, str], ...] = ()


def draw_callers(scenario: Scenario, seed: int) -> list[Caller]:
    """The day's callers, in time order, drawn from ``seed`` alone.

    Each queue has its own random streams (arrival times, then per-call values), so the same seed
    gives the same callers whatever configuration they meet: configurations are compared on
    identical days (common random numbers).
    """
    callers: list[Caller] = []
    if scenario.arrivals is not None:
        streams: dict[str, random.Random] = {}
        for a in scenario.arrivals:
            if not scenario.open_s <= a.at < scenario.close_s:
                continue  # the engine's clock starts at opening; nobody calls a closed centre
            rng = streams.get(a.queue)
            if rng is None:
                rng = streams[a.queue] = random.Random(f"{seed}:calls:{a.queue}")
            callers.append(_complete(a, scenario.demand(a.queue), rng))
    else:
        for demand in scenario.queues:
            times = _poisson_times(demand, scenario.open_s, scenario.close_s, seed)
            rng = random.Random(f"{seed}:calls:{demand.queue}")
            for at in times:
                arrival = Arrival(at, demand.queue, demand.priority)
                callers.append(_complete(arrival, demand, rng))
    callers.sort(key=lambda c: c.at)
    return callers


def _poisson_times(demand: QueueDemand, open_s: float, close_s: float, seed: int) -> list[float]:
    """Non-homogeneous Poisson arrivals with a piecewise-constant rate (exact, piece by piece)."""
    rng = random.Random(f"{seed}:arrivals:{demand.queue}")
    times: list[float] = []
    pieces = list(demand.profile)
    for i, (start, per_hour) in enumerate(pieces):
        end = pieces[i + 1][0] if i + 1 < len(pieces) else close_s
        lo, hi = max(start, open_s), min(end, close_s)
        if per_hour <= 0 or hi <= lo:
            continue
        rate = per_hour / 3600.0
        # Memoryless: starting afresh at each piece's start is exact.
        t = lo + rng.expovariate(rate)
        while t < hi:
            times.append(t)
            t += rng.expovariate(rate)
    return times


def _complete(arrival: Arrival, demand: QueueDemand | None, rng: random.Random) -> Caller:
    # Draw every value even when the arrival brings its own, so a missing column does not shift
    # the stream of the callers after it.
    dist_handle = demand.handle_s if demand is not None else Exponential(180.0)
    dist_patience = demand.patience_s if demand is not None else Never()
    handle = dist_handle.draw(rng)
    patience = dist_patience.draw(rng)
    wrap = demand.wrap_up_s.draw(rng) if demand is not None and demand.wrap_up_s else None
    priority = arrival.priority
    if priority is None and demand is not None:
        priority = demand.priority
    return Caller(
        at=arrival.at,
        queue=arrival.queue,
        priority=priority,
        handle_s=arrival.handle_s if arrival.handle_s is not None else handle,
        patience_s=arrival.patience_s if arrival.patience_s is not None else patience,
        wrap_up_s=arrival.wrap_up_s if arrival.wrap_up_s is not None else wrap,
        data=arrival.data,
    )


def scenario_from_history(
    calls: Iterable[PastCall],
    *,
    base: Scenario | None = None,
    open_s: float | None = None,
    close_s: float | None = None,
    name: str = "replay",
) -> Scenario:
    """ "What if that day had run with this config?": the past day's callers, replayed.

    Answered calls keep their talk time; abandoned ones keep their patience. What a record
    cannot tell is estimated per queue: the talk time of an abandoned caller is drawn from the
    day's answered calls (exponential with their mean, unless ``base`` describes the queue), and
    the patience of an answered caller from an exponential whose mean is the censored-data
    maximum-likelihood estimate (total waiting time of all callers / number of abandons).
    """
    past = sorted(calls, key=lambda c: c.at)
    if not past:
        raise ScenarioError("history", "no call to replay")
    by_queue: dict[str, list[PastCall]] = {}
    for c in past:
        by_queue.setdefault(c.queue, []).append(c)
    demands: list[QueueDemand] = []
    for queue, qcalls in by_queue.items():
        known = base.demand(queue) if base is not None else None
        handles = [c.handle_s for c in qcalls if c.handle_s is not None]
        handle: Distribution = (
            known.handle_s
            if known is not None
            else Exponential(sum(handles) / len(handles) if handles else 180.0)
        )
        abandons = [c.abandoned_after_s for c in qcalls if c.abandoned_after_s is not None]
        if known is not None:
            patience = known.patience_s
        elif abandons:
            # Answered callers were patient at least as long as they waited: their waits count as
            # exposure without an abandon (unknown waits count as zero: a conservative estimate).
            exposure = sum(abandons) + sum(c.waited_s or 0.0 for c in qcalls if c.handle_s)
            patience = Exponential(max(1.0, exposure / len(abandons)))
        else:
            patience = Never()
        demands.append(
            QueueDemand(
                queue,
                handle_s=handle,
                patience_s=patience,
                wrap_up_s=known.wrap_up_s if known is not None else None,
            )
        )
    arrivals = tuple(
        Arrival(c.at, c.queue, c.priority, c.handle_s, c.abandoned_after_s) for c in past
    )
    # The replayed day covers every recorded call: the base's hours, widened to whole hours
    # around the first and last arrival when the records go beyond them.
    first_hour = math.floor(past[0].at / 3600) * 3600
    last_hour = math.ceil((past[-1].at + 1) / 3600) * 3600
    start = open_s
    if start is None:
        start = min(base.open_s, first_hour) if base is not None else first_hour
    end = close_s
    if end is None:
        end = max(base.close_s, last_hour) if base is not None else last_hour
    if base is not None:
        return Scenario(
            open_s=start,
            close_s=end,
            queues=tuple(demands),
            name=name,
            interval_s=base.interval_s,
            arrivals=arrivals,
            roster=base.roster,
            ring_delay_s=base.ring_delay_s,
            no_answer_probability=base.no_answer_probability,
            prompt_s=base.prompt_s,
            no_answer_pause_s=base.no_answer_pause_s,
            max_drain_s=base.max_drain_s,
            target_service_level=base.target_service_level,
            seed=base.seed,
        )
    return Scenario(open_s=start, close_s=end, queues=tuple(demands), name=name, arrivals=arrivals)


def scenario_for(
    config: AcdConfig,
    *,
    open_s: float = 8 * 3600.0,
    hours: float = 1.0,
    load: float = 0.8,
    handle_s: float = 180.0,
    patience_s: float = 120.0,
    seed: int = 1,
) -> Scenario:
    """A plain built-in day for any configuration (demos, smoke tests): every advisor logged in,
    each queue receiving Poisson calls at ``load`` of its advisors' capacity (an advisor serving
    several queues counts for a share of each), exponential talk times and patience."""
    share: dict[str, float] = {q.name: 0.0 for q in config.queues}
    for agent in config.agents:
        for name in agent.queues:
            share[name] += 1.0 / len(agent.queues)
    demands = tuple(
        QueueDemand(
            name,
            profile=((open_s, load * advisors * 3600.0 / handle_s),),
            handle_s=Exponential(handle_s),
            patience_s=Exponential(patience_s),
        )
        for name, advisors in share.items()
        if advisors > 0
    )
    return Scenario(
        open_s=open_s,
        close_s=open_s + hours * 3600.0,
        queues=demands,
        name="built-in",
        interval_s=min(1800.0, hours * 3600.0),
        seed=seed,
    )


def mismatches(config: AcdConfig, scenario: Scenario) -> list[str]:
    """What in the scenario does not meet the configuration (likely typos), in words.

    Roster patterns that match no advisor, scenario queues the configuration lacks (their
    callers are not offered) and advisors never on shift. None of it stops a run: configurations
    compared on one scenario may differ in advisors and queues.
    """
    notes: list[str] = []
    ids = [a.id for a in config.agents]
    queue_names = {q.name for q in config.queues}
    for demand in scenario.queues:
        if demand.queue not in queue_names:
            notes.append(f"queue {demand.queue!r} of the scenario is not in the configuration")
    if scenario.arrivals is not None:
        unknown = sorted({a.queue for a in scenario.arrivals} - queue_names)
        if unknown:
            notes.append(f"arrivals name queues not in the configuration: {unknown}")
    if scenario.roster is not None:
        rostered: set[str] = set()
        for i, shift in enumerate(scenario.roster):
            for pattern in shift.agents:
                matched = {a for a in ids if fnmatch.fnmatchcase(a, pattern)}
                if not matched:
                    notes.append(f"roster[{i}]: {pattern!r} matches no advisor")
                rostered |= matched
        idle = [a for a in ids if a not in rostered]
        if idle:
            shown = ", ".join(idle[:10]) + (", …" if len(idle) > 10 else "")
            notes.append(f"{len(idle)} advisor(s) never on shift: {shown}")
    return notes
