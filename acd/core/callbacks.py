"""Callbacks' rules: the retry policy and which numbers a callback may call. Pure.

A callback must not become a way to make the centre call a third party, nor a premium-rate or
foreign number at the centre's expense: ``check_number`` says whether a number may be called
back, and why not, before a request is accepted (at the edge, with the customer's consent and
the do-not-call list checked there too). ``CallbackPolicy`` is what the engine applies when an
attempt fails.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from acd.core.errors import ConfigError

# What Asterisk and trunks put in the caller ID when the number is withheld.
WITHHELD: Final = frozenset({"", "anonymous", "unknown", "restricted", "private", "unavailable"})
_DIGITS: Final = re.compile(r"\+?[0-9]{3,20}")
_SEPARATORS: Final = re.compile(r"[\s.\-()/]")


def _check_duration(field: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ConfigError(field, f"must be a number of seconds >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """How callbacks are attempted, and which numbers they may call.

    A failed attempt (busy, no answer, unreachable) is retried ``retry_spacing_s`` later, at
    most ``max_attempts`` attempts in all and never after ``give_up_after_s`` from when it is due
    (None: no time limit). ``service_level_s`` (``callback_sl_s``): a callback counts within
    its service level when connected within this long of its due time (its place in line, or
    its scheduled time). ``daily_limit_per_number``: requests accepted per number per day.

    Numbers: ``country_code`` is the centre's (``33``), ``trunk_prefix`` the national prefix
    (``0``): ``06 12 34 56 78`` is ``+33612345678``. Numbers starting with one of
    ``premium_prefixes`` (international form) are refused; foreign numbers (another country
    code) are refused unless ``allow_foreign``.
    """

    max_attempts: int = 3
    retry_spacing_s: float = 300.0
    give_up_after_s: float | None = 4 * 3600.0
    service_level_s: float = 600.0
    daily_limit_per_number: int = 3
    country_code: str = "33"
    trunk_prefix: str = "0"
    # French 08 1x / 08 2x (shared cost) and 08 9x (premium rate).
    premium_prefixes: tuple[str, ...] = ("+3381", "+3382", "+3389")
    allow_foreign: bool = False

    def __post_init__(self) -> None:
        f = "callbacks"
        for name in ("max_attempts", "daily_limit_per_number"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{f}.{name}", f"must be an integer >= 1, got {value!r}")
        _check_duration(f"{f}.retry_spacing_s", self.retry_spacing_s)
        _check_duration(f"{f}.give_up_after_s", self.give_up_after_s, allow_none=True)
        _check_duration(f"{f}.service_level_s", self.service_level_s)
        if not re.fullmatch(r"[1-9][0-9]{0,2}", self.country_code):
            raise ConfigError(f"{f}.country_code", f"must be 1-3 digits, got {self.country_code!r}")
        if not re.fullmatch(r"[0-9]?", self.trunk_prefix):
            raise ConfigError(f"{f}.trunk_prefix", "must be one digit or empty")
        for prefix in self.premium_prefixes:
            if not re.fullmatch(r"\+[0-9]{1,15}", prefix):
                raise ConfigError(
                    f"{f}.premium_prefixes", f"must be +digits (international), got {prefix!r}"
                )


class NumberVerdict(StrEnum):
    """Whether a number may be called back; each refusal has its own message to the caller."""

    ACCEPTED = "accepted"
    WITHHELD = "withheld"
    INVALID = "invalid"
    PREMIUM = "premium"
    FOREIGN = "foreign"


def international(number: str, policy: CallbackPolicy) -> str | None:
    """The number in ``+<country><digits>`` form, or None when it is not a phone number."""
    raw = _SEPARATORS.sub("", number)
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not _DIGITS.fullmatch(raw):
        return None
    if raw.startswith("+"):
        return raw
    trunk = policy.trunk_prefix
    if trunk and raw.startswith(trunk) and len(raw) > 4:
        return f"+{policy.country_code}{raw[len(trunk) :]}"
    return None  # short codes and numbers without the national prefix are never called back


def check_number(number: str, policy: CallbackPolicy) -> tuple[NumberVerdict, str | None]:
    """The verdict on a number to call back, and the number in international form if accepted."""
    if number.strip().lower() in WITHHELD:
        return NumberVerdict.WITHHELD, None
    full = international(number, policy)
    if full is None or not 8 <= len(full) <= 16:
        return NumberVerdict.INVALID, None
    if any(full.startswith(prefix) for prefix in policy.premium_prefixes):
        return NumberVerdict.PREMIUM, None
    if not full.startswith("+" + policy.country_code) and not policy.allow_foreign:
        return NumberVerdict.FOREIGN, None
    return NumberVerdict.ACCEPTED, full


def dial_form(full: str, policy: CallbackPolicy) -> str:
    """How the trunk is dialed: national numbers with the trunk prefix, others with 00."""
    home = "+" + policy.country_code
    if full.startswith(home):
        return policy.trunk_prefix + full[len(home) :]
    return "00" + full[1:]
