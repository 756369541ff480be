"""The leader's lease on a real PostgreSQL: advisory lock, lease row, ending a hung holder."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.engine import make_url

from acd.runtime.leadership import Leadership, LeaseTimings
from acd.storage import upgrade_schema
from acd.storage.leadership import PgLeaseStore
from tests.deadlines import until
from tests.storage.tcp_proxy import TcpProxy


def _ignore() -> None:
    return None


async def test_the_lock_is_exclusive_and_freed_when_its_session_ends(pg_url: str) -> None:
    """One store holds the lock (term 1), the other cannot take it; once the holder's session
    closes the other takes it at once (term 2), and the old holder's renewal is refused."""
    await upgrade_schema(pg_url)
    a, b = PgLeaseStore(pg_url, "c1"), PgLeaseStore(pg_url, "c1")
    await a.open(_ignore)
    await b.open(_ignore)
    try:
        assert await a.try_lock()
        assert await a.claim("a", 5.0) == 1
        assert await a.renew("a", 1, 5.0)
        assert not await b.try_lock()
        assert 0 < await b.lease_left() <= 5.0
        await a.close()
        assert await b.try_lock()
        assert await b.claim("b", 5.0) == 2
        await a.open(_ignore)
        assert not await a.renew("a", 1, 5.0)
        # Another cluster on the same database has a lock of its own.
        other = PgLeaseStore(pg_url, "c2")
        await other.open(_ignore)
        assert await other.try_lock()
        await other.close()
    finally:
        await a.close()
        await b.close()


async def test_a_hung_holder_is_ended_once_its_lease_and_the_grace_are_past(pg_url: str) -> None:
    """A holder that stops renewing keeps its lock until its lease ended ``grace`` ago; then a
    standby ends its session (the holder hears it), and the lock is free."""
    await upgrade_schema(pg_url)
    ended = asyncio.Event()
    a, b = PgLeaseStore(pg_url, "c1"), PgLeaseStore(pg_url, "c1")
    await a.open(ended.set)
    await b.open(_ignore)
    try:
        assert await a.try_lock()
        claimed_at = time.monotonic()
        await a.claim("a", 0.5)
        assert await b.end_expired(30.0) is None
        deadline = time.monotonic() + 30
        while (holder := await b.end_expired(0.25)) is None:
            assert time.monotonic() < deadline, "the hung holder was never ended"
            await asyncio.sleep(0.05)
        assert holder == "a"
        assert time.monotonic() - claimed_at >= 0.75 - 0.05
        await until(ended.is_set, 10, "the holder hears its session ended")
        assert await b.try_lock()
    finally:
        await a.close()
        await b.close()


async def test_a_leader_cut_off_by_a_proxy_stops_before_the_standby_leads(pg_url: str) -> None:
    """The leader reaches PostgreSQL through a proxy that is cut: the leader stops routing
    (``hold`` returns) before the standby, which reaches the database directly, leads."""
    await upgrade_schema(pg_url)
    server = make_url(pg_url)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.restore()
    via_proxy = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    timings = LeaseTimings(lease_s=2.0, poll_s=0.05)
    a = Leadership(PgLeaseStore(via_proxy, "c1"), "a", timings)
    b = Leadership(PgLeaseStore(pg_url, "c1"), "b", timings)
    try:
        assert await asyncio.wait_for(a.acquire(), 10) == 1
        order: list[str] = []
        holding = asyncio.create_task(a.hold())
        holding.add_done_callback(lambda _: order.append("a stopped"))
        waiting = asyncio.create_task(b.acquire())
        waiting.add_done_callback(lambda _: order.append("b leads"))
        done, _ = await asyncio.wait({holding, waiting}, timeout=timings.lease_s * 2)
        assert not done  # a renews; b waits
        await proxy.cut()
        assert await asyncio.wait_for(holding, 20) in ("session_ended", "lease_expired")
        assert await asyncio.wait_for(waiting, 20) == 2
        assert order == ["a stopped", "b leads"]
    finally:
        await a.release()
        await b.release()
        await proxy.cut()
