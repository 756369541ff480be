"""Queueing theory for one single-skill queue: Erlang C (M/M/c) and Erlang A (M/M/c+M).

Shown next to the simulation as a sanity check, and used to validate the simulator: with Poisson
arrivals, exponential handle times, no wrap-up, no ring delay and one "any" routing step, the
engine is an M/M/c queue and the simulation must agree with these formulas.

Units: rates per second, times in seconds. ``handle_s`` is the whole time an advisor is tied to a
call (talk plus wrap-up). Numerically stable throughout: Erlang B by its recursion (no
factorials), Erlang A's stationary distribution in log space (no overflow for hundreds of
advisors), and its waiting-time distribution by uniformization (no alternating sums).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

# Probability mass below this fraction of the total is dropped (truncation of infinite chains).
_NEGLIGIBLE: Final = 1e-15


@dataclass(frozen=True, slots=True)
class QueueTheory:
    """What theory predicts for ``agents`` advisors on one queue."""

    model: Literal["erlang_c", "erlang_a"]
    agents: int
    load_erlangs: float  # offered load: arrival rate × handle time
    probability_of_wait: float  # an arriving caller finds every advisor busy
    service_level: float  # P(answered within the threshold); 0 when the queue is unstable
    asa_s: float  # mean wait of answered callers; inf when the queue is unstable
    abandon_rate: float  # share of callers who hang up before an answer (0 for Erlang C)
    occupancy: float  # share of advisor time spent on calls

    @property
    def stable(self) -> bool:
        """Whether the queue settles: always with abandons, when load < agents without."""
        return math.isfinite(self.asa_s)


def _check(rate_per_s: float, handle_s: float, agents: int, threshold_s: float) -> None:
    if not (math.isfinite(rate_per_s) and rate_per_s > 0):
        raise ValueError(f"arrival rate must be > 0 per second, got {rate_per_s!r}")
    if not (math.isfinite(handle_s) and handle_s > 0):
        raise ValueError(f"handle time must be > 0 seconds, got {handle_s!r}")
    if agents < 1:
        raise ValueError(f"at least one advisor is needed, got {agents!r}")
    if not (math.isfinite(threshold_s) and threshold_s >= 0):
        raise ValueError(f"service-level threshold must be >= 0 seconds, got {threshold_s!r}")


def erlang_b(load_erlangs: float, agents: int) -> float:
    """Blocking probability of M/M/c/c, by the recursion B(k) = aB(k−1) / (k + aB(k−1))."""
    b = 1.0
    for k in range(1, agents + 1):
        b = load_erlangs * b / (k + load_erlangs * b)
    return b


def erlang_c(rate_per_s: float, handle_s: float, agents: int, threshold_s: float) -> QueueTheory:
    """M/M/c: callers never hang up. Unstable (ASA infinite) when the load reaches ``agents``."""
    _check(rate_per_s, handle_s, agents, threshold_s)
    a = rate_per_s * handle_s
    if a >= agents:
        return QueueTheory("erlang_c", agents, a, 1.0, 0.0, math.inf, 0.0, 1.0)
    b = erlang_b(a, agents)
    c_wait = agents * b / (agents - a * (1 - b))
    drain = (agents - a) / handle_s  # rate at which a queue of waiting callers empties
    return QueueTheory(
        model="erlang_c",
        agents=agents,
        load_erlangs=a,
        probability_of_wait=c_wait,
        service_level=1 - c_wait * math.exp(-drain * threshold_s),
        asa_s=c_wait / drain,
        abandon_rate=0.0,
        occupancy=a / agents,
    )


def _stationary(rate: float, mu: float, theta: float, agents: int) -> list[float]:
    """Stationary distribution of the number of callers in M/M/c+M (normalised, truncated)."""
    logs = [0.0]
    k = 0
    peak = 0.0
    log_rate = math.log(rate)
    while True:
        k += 1
        death = min(k, agents) * mu + max(k - agents, 0) * theta
        nxt = logs[-1] + log_rate - math.log(death)
        logs.append(nxt)
        peak = max(peak, nxt)
        # Past the mode the terms fall geometrically (at least for k > agents): stop when gone.
        if k > agents and death > rate and nxt < peak + math.log(_NEGLIGIBLE):
            break
        if k > agents + 1_000_000:
            raise ValueError("Erlang A: the queue does not settle (patience too long?)")
    weights = [math.exp(x - peak) for x in logs]
    total = sum(weights)
    return [w / total for w in weights]


def erlang_a(
    rate_per_s: float, handle_s: float, agents: int, threshold_s: float, patience_s: float
) -> QueueTheory:
    """M/M/c+M (Palm's model): callers hang up after an exponential patience of mean
    ``patience_s``; FCFS. Exact up to the truncation of negligible probability mass.

    An arriving caller who finds ``i`` callers waiting moves up at rate ``c·μ + m·θ`` while ``m``
    are ahead (a service completion or an abandon ahead) and abandons at rate ``θ``; so they are
    answered with probability ``Π (cμ + mθ)/(cμ + (m+1)θ)`` and, given that, wait a sum of
    exponentials of rates ``cμ + (m+1)θ``, ``m = i..0`` (Mandelbaum & Zeltyn's virtual wait).
    """
    _check(rate_per_s, handle_s, agents, threshold_s)
    if not (patience_s > 0):
        raise ValueError(f"mean patience must be > 0 seconds, got {patience_s!r}")
    if math.isinf(patience_s):
        return erlang_c(rate_per_s, handle_s, agents, threshold_s)
    mu = 1.0 / handle_s
    theta = 1.0 / patience_s
    pi = _stationary(rate_per_s, mu, theta, agents)
    served_now = sum(pi[:agents])
    queue_found = pi[agents:]  # queue_found[i]: the arrival finds i callers waiting
    cmu = agents * mu
    served = served_now
    wait_served = 0.0
    masses: list[float] = []  # masses[i]: answered after finding i waiting
    rates: list[float] = []  # rates[m]: leaving "m ahead" (moving up or abandoning)
    reach = 1.0  # probability of moving up through positions m..0 without abandoning
    mean_sojourn = 0.0
    for i, p in enumerate(queue_found):
        q = cmu + (i + 1) * theta
        rates.append(q)
        reach *= (cmu + i * theta) / q
        mean_sojourn += 1.0 / q
        masses.append(p * reach)
        served += p * reach
        wait_served += p * reach * mean_sojourn
    abandon = max(0.0, 1.0 - served)
    within = served_now + _absorbed_by(masses, rates, threshold_s)
    return QueueTheory(
        model="erlang_a",
        agents=agents,
        load_erlangs=rate_per_s * handle_s,
        probability_of_wait=1.0 - served_now,
        service_level=within,
        asa_s=wait_served / served if served > 0 else math.inf,
        abandon_rate=abandon,
        occupancy=rate_per_s * served * handle_s / agents,
    )


def _absorbed_by(masses: list[float], rates: list[float], t: float) -> float:
    """Mass absorbed by time ``t`` in a pure-death chain: from state m to m−1 at ``rates[m]``,
    from 0 to absorption, starting with ``masses[m]`` in state m. By uniformization."""
    total = sum(masses)
    if total <= 0 or t <= 0:
        return 0.0
    keep = len(masses)
    while keep > 1 and masses[keep - 1] < _NEGLIGIBLE * total:
        keep -= 1
    v = masses[:keep]
    q = rates[:keep]
    lam = max(q)
    lt = lam * t
    move = [r / lam for r in q]
    stay = [1.0 - m for m in move]
    absorbed = 0.0
    result = 0.0
    n_max = int(lt + 12 * math.sqrt(lt) + 40)
    log_lt = math.log(lt)
    for n in range(n_max + 1):
        # Poisson(λt) weight of exactly n jumps, in logs so that a large λt does not underflow.
        weight = math.exp(-lt + n * log_lt - math.lgamma(n + 1))
        result += weight * absorbed
        absorbed += v[0] * move[0]
        v = [v[m] * stay[m] + v[m + 1] * move[m + 1] for m in range(len(v) - 1)] + [
            v[-1] * stay[-1]
        ]
    return result


def agents_needed(
    rate_per_s: float,
    handle_s: float,
    threshold_s: float,
    target_service_level: float,
    patience_s: float = math.inf,
) -> QueueTheory:
    """The fewest advisors meeting the target service level (Erlang C, or A with patience)."""
    if not 0 < target_service_level < 1:
        raise ValueError("target service level must be in (0, 1)")

    def meets(agents: int) -> QueueTheory | None:
        theory = erlang_a(rate_per_s, handle_s, agents, threshold_s, patience_s)
        return theory if theory.service_level >= target_service_level else None

    # Erlang C's answer bounds Erlang A's (abandons only shorten waits); service level grows
    # with advisors, so bisect between one advisor and that bound.
    high = max(1, math.floor(rate_per_s * handle_s) + 1)
    found = erlang_c(rate_per_s, handle_s, high, threshold_s)
    while found.service_level < target_service_level:
        high += 1
        found = erlang_c(rate_per_s, handle_s, high, threshold_s)
    if math.isinf(patience_s):
        return found
    best = meets(high)
    assert best is not None
    low = 0  # invariant: ``low`` advisors miss the target (zero trivially), ``high`` meet it
    while high - low > 1:
        mid = (low + high) // 2
        theory = meets(mid)
        if theory is None:
            low = mid
        else:
            high, best = mid, theory
    return best
