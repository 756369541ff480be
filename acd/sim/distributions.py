"""Duration distributions of a scenario (seconds): handle time, wrap-up, patience, ring delay.

Each is a frozen value object that checks itself when built, draws with a caller-owned
``random.Random`` (never the global one) and knows its mean, so Erlang formulas can use it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final


class DistributionError(ValueError):
    """A distribution is not valid; ``field`` names where it was written."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _positive(field: str, name: str, value: float, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DistributionError(field, f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise DistributionError(field, f"{name} must be {'>=' if allow_zero else '>'} 0")
    return float(value)


@dataclass(frozen=True, slots=True)
class Constant:
    """Always ``value`` seconds."""

    value: float

    def __post_init__(self) -> None:
        _positive("constant", "value", self.value, allow_zero=True)

    @property
    def mean(self) -> float:
        """Mean in seconds."""
        return self.value

    def draw(self, rng: random.Random) -> float:
        """One draw (consumes no randomness)."""
        return self.value


@dataclass(frozen=True, slots=True)
class Exponential:
    """Exponential with ``mean`` seconds: memoryless (Erlang C/A assume it)."""

    mean: float

    def __post_init__(self) -> None:
        _positive("exponential", "mean", self.mean)

    def draw(self, rng: random.Random) -> float:
        """One draw."""
        return rng.expovariate(1.0 / self.mean)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Log-normal given by its own ``mean`` and standard deviation ``sd`` (seconds)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        _positive("lognormal", "mean", self.mean)
        _positive("lognormal", "sd", self.sd)

    def draw(self, rng: random.Random) -> float:
        """One draw."""
        # Parameters of the underlying normal from the distribution's own mean and sd.
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        mu = math.log(self.mean) - sigma2 / 2
        return rng.lognormvariate(mu, math.sqrt(sigma2))


@dataclass(frozen=True, slots=True)
class Gamma:
    """Gamma given by its ``mean`` and standard deviation ``sd`` (seconds)."""

    mean: float
    sd: float

    def __post_init__(self) -> None:
        _positive("gamma", "mean", self.mean)
        _positive("gamma", "sd", self.sd)

    def draw(self, rng: random.Random) -> float:
        """One draw."""
        shape = (self.mean / self.sd) ** 2
        return rng.gammavariate(shape, self.mean / shape)


@dataclass(frozen=True, slots=True)
class Uniform:
    """Uniform between ``low`` and ``high`` seconds."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _positive("uniform", "low", self.low, allow_zero=True)
        _positive("uniform", "high", self.high, allow_zero=True)
        if self.high < self.low:
            raise DistributionError("uniform", "high must be >= low")

    @property
    def mean(self) -> float:
        """Mean in seconds."""
        return (self.low + self.high) / 2

    def draw(self, rng: random.Random) -> float:
        """One draw."""
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Never:
    """Infinitely long: a caller who never hangs up (Erlang C's caller)."""

    @property
    def mean(self) -> float:
        """Infinite."""
        return math.inf

    def draw(self, rng: random.Random) -> float:
        """Always infinity (consumes no randomness)."""
        return math.inf


Distribution = Constant | Exponential | LogNormal | Gamma | Uniform | Never

DISTRIBUTION_NAMES: Final = ("constant", "exponential", "lognormal", "gamma", "uniform", "never")


def parse_distribution(field: str, value: object) -> Distribution:
    """Build from scenario data: a number (constant), ``"never"``, or a table.

    Tables: ``{distribution = "exponential", mean = 180}``, ``lognormal``/``gamma`` with
    ``mean`` and ``sd``, ``uniform`` with ``low`` and ``high``, ``constant`` with ``value``.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _wrap(field, lambda: Constant(float(value)))
    if value == "never":
        return Never()
    if not isinstance(value, Mapping):
        raise DistributionError(field, f"expected a number, 'never' or a table, got {value!r}")
    kind = value.get("distribution")
    params = {k: v for k, v in value.items() if k != "distribution"}
    expected: dict[str, tuple[str, ...]] = {
        "constant": ("value",),
        "exponential": ("mean",),
        "lognormal": ("mean", "sd"),
        "gamma": ("mean", "sd"),
        "uniform": ("low", "high"),
        "never": (),
    }
    if kind not in expected:
        raise DistributionError(
            f"{field}.distribution", f"must be one of {list(DISTRIBUTION_NAMES)}, got {kind!r}"
        )
    names = expected[kind]
    if set(params) != set(names):
        want = ", ".join(names) or "nothing"
        raise DistributionError(field, f"{kind} takes {want}; got {sorted(params)}")
    args = [params[n] for n in names]
    builders: dict[str, type[Distribution]] = {
        "constant": Constant,
        "exponential": Exponential,
        "lognormal": LogNormal,
        "gamma": Gamma,
        "uniform": Uniform,
        "never": Never,
    }
    cls = builders[kind]
    return _wrap(field, lambda: cls(*args))


def _wrap(field: str, build: Callable[[], Distribution]) -> Distribution:
    try:
        return build()
    except DistributionError as exc:
        raise DistributionError(field, exc.message) from None
