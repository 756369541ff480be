"""Outbound pacing: how many contacts to dial now, under the abandon-rate cap.

* **preview**: the advisor sees the contact and clicks to call: the pacer never dials by itself.
* **progressive**: one dial per free advisor reserved for it (``ReserveAgent``): never more
  dials in flight than reserved advisors waiting, so no answered contact waits.
* **predictive**: dial more contacts than free advisors, from the measured live-answer rate and
  the advisors expected to free up while the dials ring, so advisors wait less; an answered
  contact who finds no advisor within ``no_advisor_s`` (2 s) hears a short message and counts as
  *outbound abandoned*. The abandon rate (abandoned ÷ answered, answering machines excluded when
  AMD is on) must stay under ``abandon_cap`` (3 %) over each 24 h and over a rolling 15-minute
  window.

The predictive rule: with ``k`` dials in flight and ``n`` new ones, each answered live with
probability ``p``, the answered count ``X`` is binomial(k + n, p); with ``A`` advisors free or
expected free when they answer, ``E[(X - A)+]`` contacts find nobody. The pacer dials the largest
``n`` whose expected abandons stay within ``target × E[X]`` and within what the rolling window
can still take (its abandons so far against the cap of its answers so far and to come).
``target`` is the cap scaled by a gain that the measured 15-minute rate steers (down when it
nears the cap, up when far below); once either window reaches ``brake_share`` of its cap the
pacer falls back to progressive until it is back under (dials already ringing still answer, so
the brake comes before the cap). Only advisors under the workload cap count as freeing up: the
others take a breather after their call.

Pure: the caller feeds answers and instants; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from acd.core.errors import ConfigError

WINDOW_S: Final = 900.0  # the rolling pacing window (15 minutes)
DAY_S: Final = 86_400.0
MAX_DIALS_PER_ADVISOR: Final = 12  # a bound on one decision, whatever the estimates say


class DialMode(StrEnum):
    """How a campaign dials."""

    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    PREDICTIVE = "predictive"


@dataclass(frozen=True, slots=True, kw_only=True)
class PacingPolicy:
    """A campaign's pacing settings (``[campaigns.NAME]``)."""

    mode: DialMode = DialMode.PROGRESSIVE
    abandon_cap: float = 0.03
    no_advisor_s: float = 2.0
    window_s: float = WINDOW_S
    # Before this many answers are measured, the answer rate is this prior.
    prior_answer_rate: float = 0.2
    prior_weight: int = 50
    initial_gain: float = 0.25
    # The gain moves between these bounds, by these factors, once per ``steer_every_s``.
    gain_bounds: tuple[float, float] = (0.05, 0.6)
    gain_down: float = 0.7
    gain_up: float = 1.08
    steer_every_s: float = 30.0
    min_window_answers: int = 30  # the window's rate steers the gain only past this many answers
    # Progressive (no overdial) once a window's rate reaches this share of the cap: the dials
    # already ringing still answer, so the brake must come before the cap.
    brake_share: float = 0.6

    def __post_init__(self) -> None:
        if not isinstance(self.mode, DialMode):
            raise ConfigError("mode", "preview, progressive or predictive")
        if not 0 < self.abandon_cap <= 0.2:
            raise ConfigError("abandon_cap", "more than 0 and at most 0.2")
        if not 0 < self.no_advisor_s <= 10:
            raise ConfigError("no_advisor_s", "more than 0 and at most 10 s")
        if not 0 < self.prior_answer_rate <= 1:
            raise ConfigError("prior_answer_rate", "more than 0 and at most 1")
        low, high = self.gain_bounds
        if not 0 < low <= self.initial_gain <= high:
            raise ConfigError("initial_gain", "within gain_bounds")


@dataclass(frozen=True, slots=True)
class PacingInputs:
    """What the dialer knows at an instant.

    ``free_advisors``: routable advisors of the campaign's queue (reserved for the campaign, in
    progressive mode); ``busy_advisors``: on a call, and ``wrapping_advisors``: in wrap-up,
    counting only those who will be routable after it (under the workload cap: the others take a
    breather first);
    ``in_flight``: dials not yet answered or failed; ``waiting``: answered contacts not yet with
    an advisor; ``mean_handle_s`` and ``wrap_up_s``: of the campaign's calls; ``answer_delay_s``:
    the mean time from dial to a live answer.
    """

    free_advisors: int
    busy_advisors: int
    wrapping_advisors: int
    in_flight: int
    waiting: int
    mean_handle_s: float
    wrap_up_s: float
    answer_delay_s: float


# Past this variance the binomial is read with its normal approximation (one formula instead of
# a sum over every count: the pacer decides every second for hundreds of dials in flight).
NORMAL_FROM_VARIANCE: Final = 25.0


def _expected_overflow(trials: int, p: float, capacity: float) -> tuple[float, float]:
    """(E[(X - capacity)+], E[X]) for X ~ binomial(trials, p)."""
    if trials <= 0 or p <= 0:
        return 0.0, 0.0
    mean = trials * p
    if p >= 1:
        return max(0.0, trials - capacity), mean
    variance = mean * (1.0 - p)
    if variance >= NORMAL_FROM_VARIANCE:
        sigma = math.sqrt(variance)
        z = (capacity + 0.5 - mean) / sigma  # continuity correction
        density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        tail = 0.5 * math.erfc(z / math.sqrt(2))
        return max(0.0, sigma * density - (capacity + 0.5 - mean) * tail), mean
    overflow = 0.0
    q = 1.0 - p
    # pmf(x) by recurrence from pmf(0) = q^n, in logs to stay finite for large n.
    log_pmf = trials * math.log(q)
    ratio = p / q
    for x in range(trials + 1):
        if x > capacity:
            overflow += (x - capacity) * math.exp(log_pmf)
        if x < trials:
            log_pmf += math.log((trials - x) / (x + 1) * ratio)
    return overflow, mean


def predictive_dials(
    inputs: PacingInputs, answer_rate: float, target: float, budget: float = math.inf
) -> int:
    """The most new dials whose expected abandons stay within ``target`` of expected answers
    and within ``budget`` (abandons the window can still take)."""
    horizon = inputs.answer_delay_s
    freeing = inputs.busy_advisors * (1.0 - math.exp(-horizon / max(inputs.mean_handle_s, 1.0)))
    if inputs.wrapping_advisors:
        freeing += inputs.wrapping_advisors * min(1.0, horizon / max(inputs.wrap_up_s, 1.0))
    capacity = inputs.free_advisors + freeing - inputs.waiting
    if capacity <= 0:
        return 0
    advisors = inputs.free_advisors + inputs.busy_advisors + inputs.wrapping_advisors
    limit = max(0, MAX_DIALS_PER_ADVISOR * advisors - inputs.in_flight)
    # Binary search: expected abandons over expected answers grows with the number of dials.
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        overflow, mean = _expected_overflow(inputs.in_flight + middle, answer_rate, capacity)
        if overflow <= min(target * mean, budget):
            low = middle
        else:
            high = middle - 1
    return low


def progressive_dials(inputs: PacingInputs) -> int:
    """One dial per free advisor not already covered by a dial in flight or a waiting contact."""
    return max(0, inputs.free_advisors - inputs.in_flight - inputs.waiting)


@dataclass(slots=True)
class AbandonMeter:
    """Answered and abandoned contacts over the rolling window and the last 24 h."""

    window_s: float = WINDOW_S
    _window: deque[tuple[float, bool]] = field(default_factory=deque)
    _day: deque[tuple[float, bool]] = field(default_factory=deque)
    _window_abandoned: int = 0
    _day_abandoned: int = 0

    def record(self, at: float, *, abandoned: bool) -> None:
        """One answered contact (answering machines excluded when AMD is on)."""
        self._window.append((at, abandoned))
        self._day.append((at, abandoned))
        self._window_abandoned += abandoned
        self._day_abandoned += abandoned

    def _expire(self, at: float) -> None:
        while self._window and self._window[0][0] <= at - self.window_s:
            self._window_abandoned -= self._window.popleft()[1]
        while self._day and self._day[0][0] <= at - DAY_S:
            self._day_abandoned -= self._day.popleft()[1]

    def window(self, at: float) -> tuple[int, int]:
        """(abandoned, answered) over the rolling window ending at ``at``."""
        self._expire(at)
        return self._window_abandoned, len(self._window)

    def day(self, at: float) -> tuple[int, int]:
        """(abandoned, answered) over the 24 h ending at ``at``."""
        self._expire(at)
        return self._day_abandoned, len(self._day)


def rate(abandoned: int, answered: int) -> float:
    """Abandoned over answered (0 when nothing was answered)."""
    return abandoned / answered if answered else 0.0


@dataclass(slots=True)
class Pacer:
    """One campaign's pacing state: the answer-rate estimate, the abandon meter and the gain.

    The dialer tells it each dial's network result (``resolved``: answered, by a person or by a
    machine that will take an advisor when AMD is off, or not) and each answered contact's fate
    (``connected`` to an advisor or ``abandoned``; machines left out when AMD is on).
    """

    policy: PacingPolicy
    meter: AbandonMeter = field(init=False)
    results: int = 0
    answers: int = 0
    gain: float = field(init=False)
    _steered_at: float = float("-inf")

    def __post_init__(self) -> None:
        self.meter = AbandonMeter(self.policy.window_s)
        self.gain = self.policy.initial_gain

    @property
    def answer_rate(self) -> float:
        """Answers per resolved dial, the prior weighing as ``prior_weight`` dials."""
        p = self.policy
        prior = p.prior_answer_rate * p.prior_weight
        return (self.answers + prior) / (self.results + p.prior_weight)

    def resolved(self, *, answered: bool) -> None:
        """A dial's network result is known."""
        self.results += 1
        self.answers += answered

    def connected(self, at: float) -> None:
        """An answered contact reached an advisor in time."""
        self.meter.record(at, abandoned=False)

    def abandoned(self, at: float) -> None:
        """An answered contact found no advisor in time (the short message, then hang-up)."""
        self.meter.record(at, abandoned=True)

    def over_cap(self, at: float) -> bool:
        """Whether either window's abandon rate has reached the brake (``brake_share`` of it)."""
        brake = self.policy.abandon_cap * self.policy.brake_share
        return rate(*self.meter.window(at)) >= brake or rate(*self.meter.day(at)) >= brake

    def _steer(self, at: float) -> None:
        p = self.policy
        if at - self._steered_at < p.steer_every_s:
            return
        self._steered_at = at
        abandoned, answered = self.meter.window(at)
        if answered < p.min_window_answers:
            return
        measured = rate(abandoned, answered)
        low, high = p.gain_bounds
        if measured > 0.4 * p.abandon_cap:
            self.gain = max(low, self.gain * p.gain_down)
        elif measured < 0.2 * p.abandon_cap:
            self.gain = min(high, self.gain * p.gain_up)

    def dials_now(self, at: float, inputs: PacingInputs) -> int:
        """How many contacts to dial at ``at``.

        Predictive mode dials progressively until ``prior_weight`` dials are resolved (the answer
        rate is measured, not assumed) and whenever a window is at its cap.
        """
        mode = self.policy.mode
        if mode is DialMode.PREVIEW:
            return 0
        progressive = progressive_dials(inputs)
        if (
            mode is DialMode.PROGRESSIVE
            or self.results < self.policy.prior_weight
            or self.over_cap(at)
        ):
            return progressive
        self._steer(at)
        target = self.policy.abandon_cap * self.gain
        return max(
            predictive_dials(inputs, self.answer_rate, target, self._budget(at, inputs)),
            progressive,
        )

    def _budget(self, at: float, inputs: PacingInputs) -> float:
        """Abandons the rolling window can still take with the answers to come (a window just
        opened, after a pause, has almost no room: few answers make a small denominator)."""
        abandoned, answered = self.meter.window(at)
        coming = (inputs.in_flight + inputs.free_advisors) * self.answer_rate
        brake = self.policy.abandon_cap * self.policy.brake_share
        return max(0.0, brake * (answered + coming) - abandoned)


__all__ = [
    "AbandonMeter",
    "DialMode",
    "Pacer",
    "PacingInputs",
    "PacingPolicy",
    "predictive_dials",
    "progressive_dials",
    "rate",
]
