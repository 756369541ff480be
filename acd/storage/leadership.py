"""The leader's lease in PostgreSQL: an advisory lock on a dedicated session, plus a row it renews.

``PgLeaseStore`` is what ``acd.runtime.leadership.Leadership`` drives (its ``LeaseStore``): one
asyncpg connection of its own, outside the recorder's pool, so the lock lives exactly as long as
that session. The lock is session-level (``pg_try_advisory_lock``): PostgreSQL frees it when the
session ends, which is at once when the leader's process dies (its socket closes). A leader that
hangs keeps its session and the lock; the lease row says since when it stopped renewing, and a
standby ends that session (``pg_terminate_backend``) once the lease is past its end by the grace
given (``end_expired``). Every instant here is the database's clock, so the hosts' clocks never
have to agree.

Failures to reach the database are ``LeaseUnreachableError`` (a ``ConnectionError``): the runtime
retries them; nothing else is caught here.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable

import asyncpg
import structlog

from acd.storage.database import async_url

log = structlog.get_logger("acd.storage")

# Each statement on the lease session is bounded: a leader's renewal must fail fast enough to be
# retried within its lease.
STATEMENT_TIMEOUT_S = 2.0

_NOW = "extract(epoch from clock_timestamp())"


class LeaseUnreachableError(ConnectionError):
    """The lease session could not be opened or used (the database is down, cut off, or ended
    the session)."""


def lock_key(cluster: str) -> int:
    """The advisory lock's key for a cluster name, stable across hosts. Under 2**31, so that
    ``pg_locks`` shows it whole in ``objid`` (``classid`` 0)."""
    return zlib.crc32(f"acd-leadership:{cluster}".encode()) & 0x7FFF_FFFF


def asyncpg_dsn(url: str) -> str:
    """The ``postgresql://`` DSN asyncpg takes, from acd's database URL."""
    parsed = async_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class PgLeaseStore:
    """One cluster's lease on PostgreSQL (see the module docstring)."""

    def __init__(self, url: str, cluster: str, *, connect_timeout_s: float = 5.0) -> None:
        self.dsn = asyncpg_dsn(url)
        self.cluster = cluster
        self.key = lock_key(cluster)
        self.connect_timeout_s = connect_timeout_s
        self._conn: asyncpg.Connection | None = None

    async def open(self, on_ended: Callable[[], None]) -> None:
        """Open the lease session; ``on_ended`` is called if it ends while open (the database
        closed it, the network cut it, or a standby ended it)."""
        await self.close()
        try:
            conn = await asyncpg.connect(
                self.dsn, timeout=self.connect_timeout_s, command_timeout=STATEMENT_TIMEOUT_S
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise LeaseUnreachableError(f"lease session not opened: {exc!r}") from exc

        def ended(_conn: object) -> None:
            if self._conn is conn:
                self._conn = None
                on_ended()

        conn.add_termination_listener(ended)
        self._conn = conn

    async def close(self) -> None:
        """End the lease session (a lock it held is freed at once)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await asyncio.wait_for(conn.close(), STATEMENT_TIMEOUT_S)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            conn.terminate()

    def _session(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            raise LeaseUnreachableError("no lease session")
        return self._conn

    async def try_lock(self) -> bool:
        """Take the cluster's advisory lock if nobody holds it."""
        conn = self._session()
        try:
            return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1::bigint)", self.key))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise LeaseUnreachableError(f"lock not tried: {exc!r}") from exc

    async def lease_left(self) -> float:
        """Seconds until the cluster's lease ends by the database's clock (0: none or ended)."""
        conn = self._session()
        try:
            left = await conn.fetchval(
                f"SELECT greatest(0, lease_until - {_NOW}) FROM leadership WHERE cluster = $1",
                self.cluster,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise LeaseUnreachableError(f"lease not read: {exc!r}") from exc
        return float(left or 0.0)

    async def claim(self, node: str, lease_s: float) -> int:
        """With the lock held: write this node's lease (term one more than the last); its term."""
        conn = self._session()
        try:
            term = await conn.fetchval(
                f"""
                INSERT INTO leadership AS l
                    (cluster, holder, term, backend_pid, acquired_at, lease_until)
                VALUES ($1, $2, 1, pg_backend_pid(), {_NOW}, {_NOW} + $3)
                ON CONFLICT (cluster) DO UPDATE SET
                    holder = excluded.holder, term = l.term + 1,
                    backend_pid = excluded.backend_pid, acquired_at = excluded.acquired_at,
                    lease_until = excluded.lease_until
                RETURNING term
                """,
                self.cluster,
                node,
                lease_s,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise LeaseUnreachableError(f"lease not claimed: {exc!r}") from exc
        return int(term)

    async def renew(self, node: str, term: int, lease_s: float) -> bool:
        """Push the lease's end to now + ``lease_s``; False when the row names another holder
        or term (someone took over: this node must stop at once)."""
        conn = self._session()
        try:
            renewed = await conn.fetchval(
                f"""
                UPDATE leadership SET lease_until = {_NOW} + $4
                WHERE cluster = $1 AND holder = $2 AND term = $3
                RETURNING term
                """,
                self.cluster,
                node,
                term,
                lease_s,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise LeaseUnreachableError(f"lease not renewed: {exc!r}") from exc
        return renewed is not None

    async def end_expired(self, grace_s: float) -> str | None:
        """End the session holding the lock when its lease ended more than ``grace_s`` ago (a
        hung leader, or one cut off without its session noticing); the holder's name if so."""
        conn = self._session()
        try:
            row = await conn.fetchrow(
                f"""
                SELECT l.holder, pg_terminate_backend(k.pid) AS ended
                FROM leadership l
                JOIN pg_locks k ON k.locktype = 'advisory' AND k.granted
                    AND k.objid = $2::bigint::oid AND k.classid = 0
                    AND k.objsubid = 1
                    AND k.database =
                        (SELECT oid FROM pg_database WHERE datname = current_database())
                WHERE l.cluster = $1 AND l.lease_until + $3 < {_NOW}
                    AND k.pid <> pg_backend_pid()
                """,
                self.cluster,
                self.key,
                grace_s,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise LeaseUnreachableError(f"expired lease not checked: {exc!r}") from exc
        if row is None or not row["ended"]:
            return None
        return str(row["holder"])
