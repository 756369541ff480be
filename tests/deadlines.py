"""Waiting in tests: poll a condition until it holds, and fail with what was awaited at a deadline.

A fixed sleep is a guess at how long something takes; on a loaded machine the guess is wrong and
the test flakes. These wait for the thing itself, as long as the deadline allows and no longer.
``tests/test_fixed_sleeps.py`` fails on any other sleep in the tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    predicate: Callable[[], object], within: float = 5.0, what: str = "", poll_s: float = 0.01
) -> None:
    """Return as soon as ``predicate()`` is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not within {within} s: {what or predicate}"
        await asyncio.sleep(poll_s)


def until_blocking(
    predicate: Callable[[], object], within: float = 5.0, what: str = "", poll_s: float = 0.02
) -> None:
    """``until`` for tests outside an event loop (subprocesses, threads)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not within {within} s: {what or predicate}"
        time.sleep(poll_s)
