"""Wrong-PIN counting: advisor locks until unlocked, a source's lock ends after its time."""

from __future__ import annotations

import pytest

from acd.asterisk.pin_locks import PinLimits, PinLocks, PinVerdict


def test_an_advisor_lock_lasts_until_unlock() -> None:
    """The limit-th wrong PIN in a row locks; time does not unlock; unlock does, once."""
    locks = PinLocks(PinLimits(advisor_limit=2, source_limit=100))
    assert locks.check("a", "10.0.0.1", right=False, at=0).verdict is PinVerdict.WRONG
    second = locks.check("a", "10.0.0.1", right=False, at=1)
    assert second.locked_advisor
    assert locks.check("a", "10.0.0.1", right=True, at=10**6).verdict is PinVerdict.ADVISOR_LOCKED
    assert locks.unlock("a")
    assert not locks.unlock("a")
    assert locks.check("a", "10.0.0.1", right=True, at=10**6).verdict is PinVerdict.ACCEPTED


def test_a_source_lock_counts_within_its_window_and_ends() -> None:
    """Failures older than the window do not count; the lock ends after source_lock_s."""
    locks = PinLocks(
        PinLimits(advisor_limit=100, source_limit=3, source_window_s=10, source_lock_s=60)
    )
    locks.check("a", "s", right=False, at=0)
    locks.check("b", "s", right=False, at=5)
    assert not locks.check("c", "s", right=False, at=11).locked_source  # the first has expired
    assert locks.check("d", "s", right=False, at=12).locked_source
    assert locks.check("e", "s", right=True, at=71).verdict is PinVerdict.SOURCE_LOCKED
    assert locks.check("e", "other", right=True, at=71).verdict is PinVerdict.ACCEPTED
    assert locks.check("e", "s", right=True, at=72).verdict is PinVerdict.ACCEPTED


def test_a_reload_forgets_removed_advisors_and_bad_limits_are_refused() -> None:
    """Locks of advisors no longer configured go; a limit of 0 cannot be built."""
    locks = PinLocks(PinLimits(advisor_limit=1))
    locks.check("gone", "s", right=False, at=0)
    locks.forget(frozenset({"kept"}))
    assert not locks.locked("gone")
    with pytest.raises(ValueError, match="at least 1"):
        PinLimits(advisor_limit=0)
