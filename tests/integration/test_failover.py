"""Active/standby with real processes: the leader is SIGKILLed, the standby takes over.

Two acd processes with ``[leadership] enabled`` share a fresh PostgreSQL database and drive one
pbxsim, each on its own FastAGI and HTTP port (the dialplan tries the first acd, then the
second, then the fallback queue). The test reads who leads from their health checks and
metrics, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from acd.pbxsim.channels import UP
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.dialplan import CallRecord
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.storage import upgrade_schema
from tests.deadlines import until
from tests.integration.test_day_in_miniature import free_port, quiet_logs
from tests.storage.conftest import fresh_postgres_database
from tests.storage.tcp_proxy import TcpProxy

__all__ = ["quiet_logs"]  # the autouse fixture applies here too

ADVISORS = ("agent1", "agent2", "agent3")

NODE_PROCESS = """
import asyncio, json, sys
from acd.app import Daemon
from acd.failover import Node
from acd.log_config import configure_logging
from acd.settings import parse_settings

async def main() -> int:
    configure_logging(level="warning")
    settings = parse_settings(json.loads(sys.argv[1]))
    node = Node(
        settings,
        lambda s: Daemon(s, auto_login=True, persist=True, live_interfaces=True),
    )
    return await node.run()

sys.exit(asyncio.run(main()))
"""


def node_settings(
    name: str, ami_port: int, agi_port: int, *, http_port: int, url: str, spool: Path
) -> dict[str, Any]:
    return {
        "centre": {"timezone": "UTC"},
        "leadership": {"enabled": True, "node": name, "lease_s": 2.0, "poll_s": 0.1},
        "database": {"url": url, "spool_dir": str(spool), "flush_ms": 20},
        "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
        "fastagi": {"port": agi_port},
        "http": {"port": http_port},
        "daemon": {"watchdog_stall_s": 0},
        "workload": {"enabled": False, "min_wrap_up_s": 0},
        "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0.1}},
        "agents": {name: {"endpoint": f"PJSIP/{name}", "queues": ["support"]} for name in ADVISORS},
    }


class Node:
    """One acd process of the pair, as the test sees it."""

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.data = data
        self.http = f"http://127.0.0.1:{data['http']['port']}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *, logs: bool = False) -> None:
        """Spawn the node; ``logs``: keep its log lines (``self.lines``) instead of showing them."""
        self.lines: list[str] = []
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            NODE_PROCESS,
            json.dumps(self.data),
            stderr=asyncio.subprocess.PIPE if logs else None,
        )
        if logs:
            self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    def logged_at(self, event: str) -> float:
        """When the node logged ``event`` (its ISO timestamp, as epoch seconds)."""
        found = [x for x in self.lines if f" {event} " in x]
        assert found, f"{self.name} never logged {event}"
        line = found[0]
        return datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()

    async def health(self) -> tuple[int, dict[str, Any]]:
        """The health check's status code and body; (0, {}) while nothing answers."""
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"{self.http}/api/v1/health")
        except httpx.HTTPError:
            return 0, {}
        return response.status_code, response.json()

    async def leader_metric(self) -> str:
        async with httpx.AsyncClient(timeout=2.0) as client:
            text = (await client.get(f"{self.http}/metrics")).text
        return next(line for line in text.splitlines() if line.startswith("acd_leader "))

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def role_of(node: Node) -> str:
    status, body = await node.health()
    if status == 200 and body.get("role") == "leader":
        return "leader"
    if status == 503 and body.get("role") == "standby":
        return "standby"
    return ""


async def until_role(node: Node, role: str, within: float) -> None:
    deadline = time.monotonic() + within
    while await role_of(node) != role:
        assert time.monotonic() < deadline, f"{node.name} is not {role} within {within} s"
        await asyncio.sleep(0.05)


@pytest.fixture
async def pg_database(postgres_url: str) -> AsyncIterator[str]:
    async with fresh_postgres_database(postgres_url) as url:
        await upgrade_schema(url)
        yield url


async def rows(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(make_url(url).render_as_string(hide_password=False))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


@pytest.mark.slow
async def test_a_killed_leader_is_replaced_by_the_standby_and_calls_stay_recorded(
    tmp_path: Path, pg_database: str
) -> None:
    """Node a leads (health 200 ``leader``, ``acd_leader 1``), node b waits (503 ``standby``,
    ``acd_leader 0``, FastAGI closed). a is SIGKILLed with advisors talking: b leads (term 2)
    within seconds, the calls of a's run all have their row (answered, from the event log),
    callers after the takeover are answered by b and recorded, and a started again waits as
    the standby."""
    agi_a, agi_b = free_port(), free_port()
    config = PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Advisor {i}")
            for i, name in enumerate(ADVISORS, start=1)
        ),
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(
            fallback_queue="support",
            fallback_timeout=60.0,
            agi_alternates=(f"127.0.0.1:{agi_b}",),
        ),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )
    url = pg_database
    async with PbxSim(config) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=2.0)
        a = Node(
            "a",
            node_settings(
                "a", pbx.ami_port, agi_a, http_port=free_port(), url=url, spool=tmp_path / "a"
            ),
        )
        b = Node(
            "b",
            node_settings(
                "b", pbx.ami_port, agi_b, http_port=free_port(), url=url, spool=tmp_path / "b"
            ),
        )
        agi_url = f"agi://127.0.0.1:{agi_a}/inbound"
        try:
            await a.start()
            await until_role(a, "leader", 30)
            await b.start()
            await until_role(b, "standby", 30)
            assert await a.leader_metric() == "acd_leader 1.0"
            assert await b.leader_metric() == "acd_leader 0.0"
            # The standby does not listen on FastAGI.
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", agi_b)

            # a routes: three callers reach the three advisors and talk.
            before = [pbx.place_call(agi_url=agi_url, caller_num=f"0612{i:06}") for i in range(3)]

            def talking() -> int:
                return sum(
                    1
                    for c in pbx.pbx.channels.values()
                    if c.state == UP and c.endpoint.startswith("agent")
                )

            await until(lambda: talking() == 3, 15, "three conversations")
            answered = await rows(url, "SELECT call_id FROM call_events WHERE kind = 'answered'")
            deadline = time.monotonic() + 15
            while len(answered) < 3:
                assert time.monotonic() < deadline, "a's answers stored"
                await asyncio.sleep(0.05)
                answered = await rows(
                    url, "SELECT call_id FROM call_events WHERE kind = 'answered'"
                )

            assert a.process is not None
            killed_at = time.monotonic()
            a.process.send_signal(signal.SIGKILL)
            await a.process.wait()
            await until_role(b, "leader", 30)
            took_over_s = time.monotonic() - killed_at
            assert await b.leader_metric() == "acd_leader 1.0"
            _, body = await b.health()
            assert body["parts"]["leadership"]["detail"] == "b: leader, term 2"

            # b routes: new callers try a (refused), then b, and are answered.
            after = [pbx.place_call(agi_url=agi_url, caller_num=f"0699{i:06}") for i in range(3)]
            await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in before + after)), 60)
            assert all(r.path == "handled" for r in after), [r.path for r in after]

            def recorded(calls: list[CallRecord]) -> bool:
                return all(r.uniqueid in stored for r in calls)

            deadline = time.monotonic() + 20
            while True:
                stored = {
                    row["call_id"]: (row["outcome"], row["reason"])
                    for row in await rows(url, "SELECT call_id, outcome, reason FROM calls")
                }
                if recorded(before + after):
                    break
                assert time.monotonic() < deadline, f"calls not recorded: {stored}"
                await asyncio.sleep(0.1)

            # a comes back: it waits as the standby.
            a.process = None
            await a.start()
            await until_role(a, "standby", 30)
            assert await role_of(b) == "leader"
        finally:
            await a.stop()
            await b.stop()

    for record in before:
        assert stored[record.uniqueid][0] == "answered"
    for record in after:
        assert stored[record.uniqueid][0] == "answered"
    (lease,) = await rows(url, "SELECT holder, term FROM leadership")
    assert (lease["holder"], lease["term"]) == ("b", 2)
    # Only one run at a time: a's, then b's.
    runs = await rows(url, "SELECT started_at FROM daemon_runs ORDER BY started_at")
    assert len(runs) == 2
    print(f"takeover after SIGKILL: {took_over_s:.2f} s")


@pytest.mark.slow
async def test_a_leader_cut_off_from_postgresql_stops_routing_before_the_standby_leads(
    tmp_path: Path, pg_database: str
) -> None:
    """Node a reaches PostgreSQL through a proxy, node b directly. The proxy is cut: a stops
    routing (FastAGI closed) and exits with status 75, and it had stopped before b took the
    lead (their logs' instants); b then routes and records calls."""
    agi_a, agi_b = free_port(), free_port()
    config = PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Advisor {i}")
            for i, name in enumerate(ADVISORS, start=1)
        ),
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(
            fallback_queue="support", fallback_timeout=60.0, agi_alternates=(f"127.0.0.1:{agi_b}",)
        ),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )
    server = make_url(pg_database)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.restore()
    via_proxy = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    async with PbxSim(config) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        data_a = node_settings(
            "a", pbx.ami_port, agi_a, http_port=free_port(), url=via_proxy, spool=tmp_path / "a"
        )
        data_b = node_settings(
            "b", pbx.ami_port, agi_b, http_port=free_port(), url=pg_database, spool=tmp_path / "b"
        )
        a, b = Node("a", data_a), Node("b", data_b)
        agi_url = f"agi://127.0.0.1:{agi_a}/inbound"
        try:
            await a.start(logs=True)
            await until_role(a, "leader", 30)
            await b.start(logs=True)
            await until_role(b, "standby", 30)
            first = pbx.place_call(agi_url=agi_url, caller_num="0611000001")
            await asyncio.wait_for(first.done.wait(), 30)
            assert first.path == "handled"

            await proxy.cut()
            assert a.process is not None
            assert await asyncio.wait_for(a.process.wait(), 30) == 75
            await until_role(b, "leader", 30)
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", agi_a)
            assert a.logged_at("routing_stopped") < b.logged_at("leadership_acquired")

            later = pbx.place_call(agi_url=agi_url, caller_num="0611000002")
            await asyncio.wait_for(later.done.wait(), 30)
            assert later.path == "handled"
            deadline = time.monotonic() + 20
            while not await rows(
                pg_database, f"SELECT 1 FROM calls WHERE call_id = '{later.uniqueid}'"
            ):
                assert time.monotonic() < deadline, "the call after the takeover is recorded"
                await asyncio.sleep(0.1)
        finally:
            await a.stop()
            await b.stop()
            await proxy.cut()


@pytest.mark.slow
async def test_a_hung_leader_loses_its_lease_to_the_standby(
    tmp_path: Path, pg_database: str
) -> None:
    """Node a is stopped (SIGSTOP: its session and lock stay, it renews nothing): b ends a's
    session once the lease and the grace are past and leads; a, continued, hears it, stops
    and exits with status 75; calls go to b."""
    agi_a, agi_b = free_port(), free_port()
    config = PbxConfig(
        phones=tuple(
            PhoneConfig(name=name, number=f"100{i}", display_name=f"Advisor {i}")
            for i, name in enumerate(ADVISORS, start=1)
        ),
        queues=(QueueConfig(name="support"),),
        dialplan=DialplanConfig(
            fallback_queue="support", fallback_timeout=60.0, agi_alternates=(f"127.0.0.1:{agi_b}",)
        ),
        timings=Timings(answer=0.01, login_failure_delay=0.01),
    )
    async with PbxSim(config) as pbx:
        for name in ADVISORS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.2)
        a = Node(
            "a",
            node_settings(
                "a",
                pbx.ami_port,
                agi_a,
                http_port=free_port(),
                url=pg_database,
                spool=tmp_path / "a",
            ),
        )
        b = Node(
            "b",
            node_settings(
                "b",
                pbx.ami_port,
                agi_b,
                http_port=free_port(),
                url=pg_database,
                spool=tmp_path / "b",
            ),
        )
        try:
            await a.start()
            await until_role(a, "leader", 30)
            await b.start()
            await until_role(b, "standby", 30)
            assert a.process is not None
            stopped_at = time.monotonic()
            a.process.send_signal(signal.SIGSTOP)
            await until_role(b, "leader", 30)
            # lease_s 2 + grace 1 after a's last renewal (at most a quarter lease before the stop).
            assert time.monotonic() - stopped_at >= 2.0 + 1.0 - 0.5 - 0.1
            a.process.send_signal(signal.SIGCONT)
            assert await asyncio.wait_for(a.process.wait(), 30) == 75
            call = pbx.place_call(agi_url=f"agi://127.0.0.1:{agi_a}/inbound", caller_num="0611")
            await asyncio.wait_for(call.done.wait(), 30)
            assert call.path == "handled"
            (lease,) = await rows(pg_database, "SELECT holder, term FROM leadership")
            assert (lease["holder"], lease["term"]) == ("b", 2)
        finally:
            if a.process is not None and a.process.returncode is None:
                a.process.send_signal(signal.SIGCONT)
            await a.stop()
            await b.stop()
