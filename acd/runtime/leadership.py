"""Who routes calls when several acd processes share one PostgreSQL: one leads, the others wait.

Leadership is an advisory lock held on a dedicated database session plus a lease the leader
renews every ``renew_s`` (a quarter of ``lease_s``); the store (``acd.storage.leadership``) keeps
both, with the database's clock. The rules, which together leave no instant with two leaders:

* a standby tries the lock every ``poll_s``. It gets it as soon as the leader's session ends,
  which is at once when the leader's process dies (its socket closes). If the lease it finds
  then has not ended, it waits ``renew_s`` more (or until the lease ends, if sooner): the time
  for a leader whose session the database ended while it lives to hear of it and stop;
* a leader whose session lives on but who stopped renewing (hung, or cut off by a network that
  drops packets silently) keeps the lock: a standby ends that session once the lease ended more
  than ``grace_s`` (half of ``lease_s``) ago, by the database's clock, and then takes the lock;
* a leader stops routing (``hold`` returns) when ``lease_s`` has passed, on its own monotonic
  clock, since it sent its last renewal that succeeded; when its session ends; or when the lease
  row names someone else. Its lease, written by that renewal, ends ``lease_s`` after the database
  received it, so the leader has stopped before the lease ends, and a standby waits ``grace_s``
  more.

A session the database ends while the leader's process lives (the network between them cut with
a reset, an administrator's ``pg_terminate_backend``) reaches the leader as ``session ended`` at
the same time: it stops at once. The one case these rules do not cover is a database that drops
a silent client faster than ``lease_s`` (``tcp_user_timeout`` or keepalives set below it on the
server): docs/scaling.md says to leave them longer.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog

log = structlog.get_logger("acd.runtime")


class Role(StrEnum):
    SINGLE = "single"  # no leadership configured: this process is the only one
    STANDBY = "standby"  # waiting for the lock
    LEADER = "leader"  # holds the lock and a live lease: routes calls
    FENCED = "fenced"  # was leader, lost the lease: stops routing, then exits


class LeaseStore(Protocol):
    """The lease's storage (``acd.storage.leadership.PgLeaseStore``). Every method raises a
    ``ConnectionError`` when the database cannot answer."""

    async def open(self, on_ended: Callable[[], None]) -> None: ...
    async def close(self) -> None: ...
    async def try_lock(self) -> bool: ...
    async def lease_left(self) -> float: ...
    async def claim(self, node: str, lease_s: float) -> int: ...
    async def renew(self, node: str, term: int, lease_s: float) -> bool: ...
    async def end_expired(self, grace_s: float) -> str | None: ...


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    """How long a lease lasts and how often it is renewed and the lock tried."""

    lease_s: float = 3.0
    poll_s: float = 0.25

    def __post_init__(self) -> None:
        if not self.lease_s > 0 or not self.poll_s > 0:
            raise ValueError("lease_s and poll_s must be positive")

    @property
    def renew_s(self) -> float:
        return self.lease_s / 4

    @property
    def grace_s(self) -> float:
        return self.lease_s / 2


def default_node_name() -> str:
    """This process in the lease row when the configuration names none: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """One process's part in the election: ``acquire`` waits to lead, ``hold`` returns (with the
    reason) the moment this process must stop routing, ``release`` gives the lock back."""

    def __init__(
        self,
        store: LeaseStore,
        node: str,
        timings: LeaseTimings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.node = node
        self.timings = timings or LeaseTimings()
        self.clock = clock
        self.role = Role.STANDBY
        self.term = 0
        self.since: float | None = None  # when this process took the lead (clock)
        self.lost_reason = ""
        self._open = False
        self._ended = asyncio.Event()
        self._renewed_at = 0.0  # when the last renewal that succeeded was sent (clock)

    def _session_ended(self) -> None:
        self._open = False
        self._ended.set()

    async def acquire(self) -> int:
        """Wait until this process leads; returns its term. Database failures are retried."""
        timings = self.timings
        bound_s = max(timings.poll_s, 1.0) * 4  # each step's database round trips
        while True:
            try:
                async with asyncio.timeout(bound_s):
                    if not self._open:
                        self._ended.clear()
                        await self.store.open(self._session_ended)
                        self._open = True
                    locked = await self.store.try_lock()
                    left = await self.store.lease_left() if locked else 0.0
                    if not locked:
                        ended = await self.store.end_expired(timings.grace_s)
                        if ended is not None:
                            log.warning(
                                "leadership_expired_holder_ended", node=self.node, holder=ended
                            )
                if locked:
                    if left > 0:
                        # The session ended before the lease: let its leader hear of it.
                        await asyncio.sleep(min(left, timings.renew_s))
                    sent = self.clock()
                    async with asyncio.timeout(bound_s):
                        term = await self.store.claim(self.node, timings.lease_s)
                    self._renewed_at = sent
                    self.term = term
                    self.role = Role.LEADER
                    self.since = sent
                    log.warning("leadership_acquired", node=self.node, term=term)
                    return term
            except (ConnectionError, TimeoutError) as exc:
                log.warning("leadership_store_unreachable", node=self.node, detail=str(exc))
                await self._close()
            await asyncio.sleep(timings.poll_s)

    async def hold(self) -> str:
        """Renew the lease until it cannot be kept; returns why (``lease_expired``,
        ``session_ended``, ``lease_taken``), with the role already ``FENCED``."""
        timings = self.timings
        next_try = self._renewed_at + timings.renew_s
        while True:
            deadline = self._renewed_at + timings.lease_s
            wake = min(next_try, deadline)
            if not self._ended.is_set():
                ended = asyncio.ensure_future(self._ended.wait())
                try:
                    await asyncio.wait({ended}, timeout=max(0.0, wake - self.clock()))
                finally:
                    ended.cancel()
            if self._ended.is_set():
                return self._fence("session_ended")
            now = self.clock()
            if now >= deadline:
                return self._fence("lease_expired")
            if now < next_try:
                continue
            next_try = now + timings.renew_s
            try:
                async with asyncio.timeout(max(0.01, deadline - now)):
                    renewed = await self.store.renew(self.node, self.term, timings.lease_s)
            except (ConnectionError, TimeoutError) as exc:
                log.warning("leadership_renewal_failed", node=self.node, detail=str(exc))
                continue
            if not renewed:
                return self._fence("lease_taken")
            self._renewed_at = now

    def _fence(self, reason: str) -> str:
        self.role = Role.FENCED
        self.lost_reason = reason
        log.error("leadership_lost", node=self.node, term=self.term, reason=reason)
        return reason

    async def _close(self) -> None:
        self._open = False
        try:
            await self.store.close()
        except ConnectionError:
            return

    async def release(self) -> None:
        """Give the lock back (close the session): a standby may take over at once."""
        await self._close()
        if self.role is Role.LEADER:
            self.role = Role.STANDBY
