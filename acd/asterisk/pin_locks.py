"""Wrong-PIN counting for the feature codes: an advisor's PIN locks, a guessing source cools off.

Pure: the caller passes the instant (``at``) of each attempt; nothing here reads a clock.

Two counters, for two attacks. Guessing one advisor's PIN: after ``advisor_limit`` wrong PINs in
a row that PIN is locked until a supervisor unlocks it (``unlock``); a right PIN before that
resets the count. Spraying PINs over many advisors from one FastAGI peer: after ``source_limit``
failures from one source within ``source_window_s``, that source's PIN checks are refused for
``source_lock_s``. A source is the FastAGI peer's address: every session of an Asterisk comes
from it, so its lock ends by itself (a supervisor is not needed to restore a whole PBX), while
an advisor's lock needs a person (the advisor's PIN may be known to whoever guessed it).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum


class PinVerdict(Enum):
    """What a PIN check decided."""

    ACCEPTED = "accepted"
    WRONG = "wrong"
    ADVISOR_LOCKED = "advisor_locked"  # the advisor's PIN is locked: not even compared
    SOURCE_LOCKED = "source_locked"  # this source is cooling off: not even compared


@dataclass(frozen=True, slots=True)
class PinLimits:
    """How many wrong PINs lock what, and for how long."""

    advisor_limit: int = 5
    source_limit: int = 20
    source_window_s: float = 60.0
    source_lock_s: float = 300.0

    def __post_init__(self) -> None:
        if self.advisor_limit < 1 or self.source_limit < 1:
            raise ValueError("PIN limits must be at least 1")
        if self.source_window_s <= 0 or self.source_lock_s <= 0:
            raise ValueError("PIN windows must be positive")


@dataclass(frozen=True, slots=True)
class PinCheck:
    """One check's verdict, and whether it just locked something (log that once)."""

    verdict: PinVerdict
    advisor_failures: int = 0
    locked_advisor: bool = False
    locked_source: bool = False


class PinLocks:
    """Counts wrong PINs per advisor and per source; decides whether a PIN is even compared."""

    def __init__(self, limits: PinLimits | None = None) -> None:
        self.limits = limits or PinLimits()
        self._advisor_failures: dict[str, int] = {}
        self._locked: set[str] = set()
        self._source_failures: dict[str, deque[float]] = {}
        self._source_locked_until: dict[str, float] = {}

    def locked(self, agent_id: str) -> bool:
        """Whether the advisor's PIN is locked (until a supervisor unlocks it)."""
        return agent_id in self._locked

    @property
    def locked_advisors(self) -> frozenset[str]:
        return frozenset(self._locked)

    def source_locked(self, source: str, at: float) -> bool:
        """Whether PIN checks from ``source`` are refused at ``at``."""
        until = self._source_locked_until.get(source)
        if until is None:
            return False
        if at >= until:
            del self._source_locked_until[source]
            return False
        return True

    def check(self, agent_id: str, source: str, right: bool, at: float) -> PinCheck:
        """Record one attempt (``right``: the PIN entered is the advisor's) and decide."""
        if self.source_locked(source, at):
            return PinCheck(PinVerdict.SOURCE_LOCKED)
        if agent_id in self._locked:
            # A right PIN on a locked advisor still counts against the source: it is a guess.
            return PinCheck(PinVerdict.ADVISOR_LOCKED, locked_source=self.failed(source, at))
        if right:
            self._advisor_failures.pop(agent_id, None)
            return PinCheck(PinVerdict.ACCEPTED)
        failures = self._advisor_failures.get(agent_id, 0) + 1
        locked_advisor = failures >= self.limits.advisor_limit
        if locked_advisor:
            self._advisor_failures.pop(agent_id, None)
            self._locked.add(agent_id)
        else:
            self._advisor_failures[agent_id] = failures
        return PinCheck(
            PinVerdict.WRONG,
            advisor_failures=failures,
            locked_advisor=locked_advisor,
            locked_source=self.failed(source, at),
        )

    def failed(self, source: str, at: float) -> bool:
        """Count one failure against ``source`` (a wrong PIN, a forged channel); True when this
        failure locks the source."""
        window = self._source_failures.setdefault(source, deque())
        window.append(at)
        while window and window[0] <= at - self.limits.source_window_s:
            window.popleft()
        if len(window) < self.limits.source_limit:
            return False
        del self._source_failures[source]
        self._source_locked_until[source] = at + self.limits.source_lock_s
        return True

    def unlock(self, agent_id: str) -> bool:
        """A supervisor unlocks the advisor's PIN; False when it was not locked."""
        self._advisor_failures.pop(agent_id, None)
        if agent_id not in self._locked:
            return False
        self._locked.discard(agent_id)
        return True

    def forget(self, known: frozenset[str]) -> None:
        """After a reload: drop the counts of advisors no longer configured."""
        self._locked &= known
        for agent_id in [a for a in self._advisor_failures if a not in known]:
            del self._advisor_failures[agent_id]
