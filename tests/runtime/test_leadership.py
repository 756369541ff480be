"""The election's rules against a lease store kept in memory: who leads, and when a leader stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from acd.runtime.leadership import Leadership, LeaseTimings, Role
from tests.deadlines import until

FAST = LeaseTimings(lease_s=0.4, poll_s=0.02)


class MemoryLease:
    """One cluster's lock and lease row, shared by the stores of several nodes."""

    def __init__(self) -> None:
        self.holder_session: MemoryStore | None = None
        self.holder = ""
        self.term = 0
        self.lease_until = 0.0


class MemoryStore:
    """A ``LeaseStore`` in memory; ``reachable = False`` is the database cut off."""

    def __init__(self, lease: MemoryLease) -> None:
        self.lease = lease
        self.reachable = True
        self.renewals = 0
        self._on_ended: Callable[[], None] | None = None
        self._open = False

    def _check(self) -> None:
        if not self.reachable or not self._open:
            raise ConnectionError("database unreachable")

    async def open(self, on_ended: Callable[[], None]) -> None:
        if not self.reachable:
            raise ConnectionError("database unreachable")
        self._open = True
        self._on_ended = on_ended

    async def close(self) -> None:
        self._open = False
        if self.lease.holder_session is self:
            self.lease.holder_session = None

    def end_session(self) -> None:
        """The database ends this session (a standby's pg_terminate_backend, a reset)."""
        self._open = False
        if self.lease.holder_session is self:
            self.lease.holder_session = None
        if self._on_ended is not None:
            self._on_ended()

    async def try_lock(self) -> bool:
        self._check()
        if self.lease.holder_session is None:
            self.lease.holder_session = self
        return self.lease.holder_session is self

    async def lease_left(self) -> float:
        self._check()
        return max(0.0, self.lease.lease_until - time.monotonic())

    async def claim(self, node: str, lease_s: float) -> int:
        self._check()
        self.lease.term += 1
        self.lease.holder = node
        self.lease.lease_until = time.monotonic() + lease_s
        return self.lease.term

    async def renew(self, node: str, term: int, lease_s: float) -> bool:
        self._check()
        if (self.lease.holder, self.lease.term) != (node, term):
            return False
        self.renewals += 1
        self.lease.lease_until = time.monotonic() + lease_s
        return True

    async def end_expired(self, grace_s: float) -> str | None:
        self._check()
        holder = self.lease.holder_session
        if holder is None or holder is self or time.monotonic() < self.lease.lease_until + grace_s:
            return None
        holder.end_session()
        return self.lease.holder


async def test_the_first_node_leads_and_the_second_waits() -> None:
    """Of two nodes, the one that tries first leads (term 1); the other stays standby."""
    lease = MemoryLease()
    a = Leadership(MemoryStore(lease), "a", FAST)
    b = Leadership(MemoryStore(lease), "b", FAST)
    assert await asyncio.wait_for(a.acquire(), 5) == 1
    waiting = asyncio.create_task(b.acquire())
    holding = asyncio.create_task(a.hold())
    done, _ = await asyncio.wait({waiting, holding}, timeout=FAST.lease_s * 3)
    assert not done
    assert (a.role, b.role) == (Role.LEADER, Role.STANDBY)
    waiting.cancel()
    holding.cancel()
    await asyncio.gather(waiting, holding, return_exceptions=True)


async def test_a_dead_leaders_lock_goes_to_the_standby_at_once() -> None:
    """The leader's session ends (its process died): the standby leads with term 2 well before
    the dead leader's lease would have ended (after ``renew_s``, not ``lease_s``)."""
    lease = MemoryLease()
    store_a = MemoryStore(lease)
    timings = LeaseTimings(lease_s=20.0, poll_s=0.02)
    a = Leadership(store_a, "a", timings)
    b = Leadership(MemoryStore(lease), "b", timings)
    await a.acquire()
    waiting = asyncio.create_task(b.acquire())
    await store_a.close()  # the process died: PostgreSQL frees its lock
    assert await asyncio.wait_for(waiting, timings.lease_s - 5) == 2
    assert b.role is Role.LEADER


async def test_a_leader_cut_off_from_the_database_stops_before_the_standby_leads() -> None:
    """The leader's renewals fail (cut off from the database) while the standby reaches it:
    the leader's ``hold`` returns ``lease_expired`` (FENCED) before the standby leads."""
    lease = MemoryLease()
    store = MemoryStore(lease)
    a = Leadership(store, "a", FAST)
    b = Leadership(MemoryStore(lease), "b", FAST)
    await a.acquire()
    order: list[str] = []
    holding = asyncio.create_task(a.hold())
    holding.add_done_callback(lambda _: order.append("a stopped"))
    await until(lambda: store.renewals >= 2, 5, "renewals")
    store.reachable = False
    waiting = asyncio.create_task(b.acquire())
    waiting.add_done_callback(lambda _: order.append("b leads"))
    assert await asyncio.wait_for(holding, 10) == "lease_expired"
    assert await asyncio.wait_for(waiting, 10) == 2
    assert order == ["a stopped", "b leads"]
    assert a.role is Role.FENCED


async def test_a_hung_leader_is_ended_by_the_standby_after_its_lease_and_grace() -> None:
    """A leader that keeps its session but stops renewing: the standby ends its session once
    the lease is ``grace_s`` past its end, not before, and then leads; the hung leader's
    ``hold`` (if it ever runs again) reports its session ended."""
    lease = MemoryLease()
    store_a = MemoryStore(lease)
    a = Leadership(store_a, "a", FAST)
    b = Leadership(MemoryStore(lease), "b", FAST)
    await a.acquire()
    hung_at = time.monotonic()  # a never renews
    term = await asyncio.wait_for(b.acquire(), 5)
    assert term == 2
    assert time.monotonic() - hung_at >= FAST.lease_s + FAST.grace_s - 0.05
    assert await asyncio.wait_for(a.hold(), 5) == "session_ended"


async def test_a_leader_whose_session_ends_stops_at_once() -> None:
    """The database ends the leader's session while the leader lives (a reset, an
    administrator): ``hold`` returns ``session_ended`` at once, long before the lease ends."""
    lease = MemoryLease()
    store = MemoryStore(lease)
    a = Leadership(store, "a", LeaseTimings(lease_s=30.0, poll_s=0.02))
    await a.acquire()
    holding = asyncio.create_task(a.hold())
    await asyncio.sleep(0)
    store.end_session()
    assert await asyncio.wait_for(holding, 2) == "session_ended"


async def test_a_standby_keeps_trying_while_the_database_is_down() -> None:
    """A standby that cannot reach the database retries; it leads once the database is back."""
    lease = MemoryLease()
    store = MemoryStore(lease)
    store.reachable = False
    b = Leadership(store, "b", FAST)
    waiting = asyncio.create_task(b.acquire())
    done, _ = await asyncio.wait({waiting}, timeout=0.2)
    assert not done
    store.reachable = True
    assert await asyncio.wait_for(waiting, 5) == 1
