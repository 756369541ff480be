"""Failover bench (issue 25): how long from a SIGKILLed leader to the standby routing calls?

Two acd processes with ``[leadership] enabled`` (nodes ``a`` and ``b``, each its own FastAGI
port, HTTP port and spool) share a private PostgreSQL (initdb/pg_ctl in a temporary directory, on
a free port: never the shared server) and drive one pbxsim (this process) under ``--rate`` calls/s
(Poisson, default 20). The dialplan tries node a's FastAGI, then node b's (a refused connection
fails at once), then the fallback queue, whose members are the same advisors (as the shipped
dialplan). Each of ``--trials`` times (default 5): the leader is killed (SIGKILL), the standby
takes over, the killed node is started again (it comes back as the standby), and the load goes
on ``--between`` seconds (default 6) before the next kill, so the two nodes lead in turn.

The last line is JSON:

- ``failover_s``: per kill, from the SIGKILL to the first call that reached the new leader's
  FastAGI (a call is placed every 1/rate s on average: add that much uncertainty), with
  ``failover_s_p50`` and ``failover_s_max``; ``health_leader_s``: the same until the new leader's
  health check answered 200 ``leader``;
- ``calls_lost``: placed calls that got neither an advisor (DIALSTATUS ANSWER) nor the fallback
  queue (pbxsim's records);
- ``records_lost``: placed calls with no ``calls`` row that the gap rows do not count (each
  takeover writes a gap row: the calls the fallback queues took meanwhile, and how many of them
  have a row), counted after the killed nodes came back and the run ended;
- ``records_duplicated``: placed calls with more than one row plus rows for calls never placed;
- ``cores``, ``rate``, ``trials``, ``lease_s``.

    python bench/failover.py                       # 5 kills at 20 calls/s, lease 3 s
    python bench/failover.py --trials 10 --rate 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import PrivatePostgres, count_rows, free_port  # the sibling bench

ADVISOR_PREFIX = "agent"


def node_main(settings_json: str) -> None:
    """One acd process of the pair, as ``acd run`` with ``[leadership] enabled``."""
    from acd.app import Daemon
    from acd.failover import Node
    from acd.log_config import configure_logging
    from acd.settings import parse_settings

    async def main() -> int:
        configure_logging(level="warning")
        settings = parse_settings(json.loads(settings_json))
        node = Node(
            settings, lambda s: Daemon(s, auto_login=True, persist=True, live_interfaces=True)
        )
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, node.stop)
        return await node.run()

    sys.exit(asyncio.run(main()))


def node_settings(
    args: argparse.Namespace, name: str, ports: dict[str, int], url: str, spool: Path
) -> dict[str, Any]:
    advisors = [f"{ADVISOR_PREFIX}{i}" for i in range(1, args.advisors + 1)]
    return {
        "centre": {"timezone": "UTC"},
        "leadership": {"enabled": True, "node": name, "lease_s": args.lease, "poll_s": 0.1},
        "database": {"url": url, "spool_dir": str(spool)},
        "ami": {"port": ports["ami"], "secret": "acdsecret", "reconnect_max_s": 0.5},
        "fastagi": {"port": ports["agi"], "max_sessions": 5000},
        "http": {"port": ports["http"]},
        "daemon": {"watchdog_stall_s": 0},
        "workload": {"min_wrap_up_s": 0},
        "queues": {
            "support": {"announce_interval_s": None, "wrap_up_s": 0.5, "ring_timeout_s": 10}
        },
        "agents": {a: {"endpoint": f"PJSIP/{a}", "queues": ["support"]} for a in advisors},
    }


def pbx_config(args: argparse.Namespace, standby_agi: str) -> Any:
    from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings

    names = [f"{ADVISOR_PREFIX}{i}" for i in range(1, args.advisors + 1)]
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=n, number=f"{1000 + i}", display_name=f"Advisor {i}")
            for i, n in enumerate(names, start=1)
        ),
        queues=(QueueConfig(name="support", members=tuple(f"PJSIP/{n}" for n in names)),),
        dialplan=DialplanConfig(
            fallback_queue="support", fallback_timeout=120.0, agi_alternates=(standby_agi,)
        ),
        timings=Timings(answer=0.01),
    )


@dataclass
class NodeProcess:
    """One node in a subprocess; its role read from its health check."""

    name: str
    settings: dict[str, Any]
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            "node",
            "--settings",
            json.dumps(self.settings),
            stdout=sys.stderr,  # the nodes' logs: the bench's last stdout line is its JSON
        )

    async def role(self) -> str:
        import httpx

        url = f"http://127.0.0.1:{self.settings['http']['port']}/api/v1/health"
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                response = await client.get(url)
        except httpx.HTTPError:
            return ""
        body = response.json()
        if response.status_code == 200 and body.get("role") == "leader":
            return "leader"
        return str(body.get("role", ""))

    async def until_role(self, role: str, within: float = 60.0) -> float:
        """Poll the health check until it says ``role``; returns when (monotonic)."""
        deadline = time.monotonic() + within
        while await self.role() != role:
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {self.name} not {role} within {within} s")
            await asyncio.sleep(0.02)
        return time.monotonic()

    async def end(self, sig: int) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(sig)
        await asyncio.wait_for(self.process.wait(), 60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from acd.pbxsim.phones import PhoneBehaviour
    from acd.pbxsim.sim import PbxSim
    from acd.storage import upgrade_schema

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="acd-failover-") as temporary:
        tmp = Path(temporary)
        os.chmod(tmp, 0o755)
        postgres = PrivatePostgres(tmp / "pg", free_port())
        await asyncio.to_thread(postgres.init)
        await asyncio.to_thread(postgres.start)
        try:
            await upgrade_schema(postgres.url)
            agi = {"a": free_port(), "b": free_port()}
            async with PbxSim(pbx_config(args, f"127.0.0.1:{agi['b']}")) as pbx:
                for phone in pbx.pbx.phones.values():
                    phone.behaviour = PhoneBehaviour(
                        answer_delay=rng.uniform(0.2, 0.6),
                        talk_time=args.talk,
                        talk_distribution="exponential",
                    )
                nodes = {
                    name: NodeProcess(
                        name,
                        node_settings(
                            args,
                            name,
                            {"ami": pbx.ami_port, "agi": agi[name], "http": free_port()},
                            postgres.url,
                            tmp / f"spool-{name}",
                        ),
                    )
                    for name in ("a", "b")
                }
                await nodes["a"].start()
                await nodes["a"].until_role("leader")
                await nodes["b"].start()
                await nodes["b"].until_role("standby")
                agi_url = f"agi://127.0.0.1:{agi['a']}/inbound"
                records: list[Any] = []
                started_epoch = time.time()
                t0 = time.monotonic()
                loading = True

                async def place_calls() -> None:
                    n = 0
                    next_at = time.monotonic()
                    while loading:
                        delay = next_at - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)  # Poisson arrivals, as the load is
                        n += 1
                        records.append(pbx.place_call(agi_url=agi_url, caller_num=f"06{n:08d}"))
                        next_at += rng.expovariate(args.rate)

                load = asyncio.create_task(place_calls())
                kills: list[tuple[float, str]] = []
                health_s: list[float] = []
                await asyncio.sleep(args.between)  # the load settles before the first kill
                leader, standby = "a", "b"
                for _ in range(args.trials):
                    killed_at = time.monotonic()
                    await nodes[leader].end(signal.SIGKILL)
                    kills.append((killed_at, standby))
                    health_s.append(await nodes[standby].until_role("leader") - killed_at)
                    await nodes[leader].start()  # it comes back, as the standby
                    await nodes[leader].until_role("standby")
                    leader, standby = standby, leader
                    await asyncio.sleep(args.between)  # load between two kills
                loading = False
                await load
                await pbx.wait_calls_done(within=180)
                for node in nodes.values():
                    await node.end(signal.SIGTERM)
                counters = pbx.counters
            stored = await count_rows(postgres.url, started_epoch)
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                await asyncio.to_thread(postgres.stop)

    offset = started_epoch - t0
    failover = []
    for killed_at, _ in kills:
        # The first call after the kill that a FastAGI answered: the new leader's.
        reached = [r.started_at for r in records if r.started_at > killed_at and r.reached_daemon]
        failover.append(min(reached) - killed_at if reached else float("nan"))
    lost = [
        r for r in records if not (r.dial_status == "ANSWER" or r.path in ("handled", "fallback"))
    ]
    placed = {r.uniqueid: r for r in records if r.uniqueid}
    by_call: dict[str, int] = {}
    unknown = 0
    for call_id, *_ in stored["rows"]:
        base = call_id.split("#", 1)[0]
        if base in placed:
            by_call[base] = by_call.get(base, 0) + 1
        else:
            unknown += 1
    rowless = [r for uid, r in placed.items() if uid not in by_call]
    in_gap = sum(max(0, (rep or 0) - rec) for _, _, rep, rec in stored["gaps"])
    inside = [
        r
        for r in rowless
        if any(a - 2 <= r.started_at + offset <= b + 2 for a, b, _, _ in stored["gaps"])
    ]
    records_lost = len(rowless) - len(inside) + max(0, len(inside) - in_gap)
    return {
        "trials": args.trials,
        "failover_s": [round(x, 3) for x in failover],
        "failover_s_p50": round(statistics.median(failover), 3),
        "failover_s_max": round(max(failover), 3),
        "health_leader_s": [round(x, 3) for x in health_s],
        "health_leader_s_p50": round(percentile(health_s, 0.5), 3),
        "calls_placed": counters["calls_placed"],
        "calls_lost": len(lost),
        "lost_paths": sorted({(r.path, r.dial_status) for r in lost}),
        "records_lost": records_lost,
        "records_duplicated": sum(n - 1 for n in by_call.values()) + unknown,
        "calls_in_gaps": in_gap,
        # Each call without a row: seconds from the nearest kill, its path, whether it reached
        # an acd, its DIALSTATUS.
        "rowless_calls": [
            (
                round(min((r.started_at - k for k, _ in kills), key=abs), 2),
                r.path,
                r.reached_daemon,
                r.dial_status,
            )
            for r in rowless
        ],
        "fallback_calls": sum(r.path == "fallback" for r in records),
        "gaps": [
            {"down_s": round(b - a, 2), "calls_reported": rep, "calls_recovered": rec}
            for a, b, rep, rec in stored["gaps"]
        ],
        "rate": args.rate,
        "lease_s": args.lease,
        "advisors": args.advisors,
        "cores": os.cpu_count(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--role", choices=("bench", "node"), default="bench")
    p.add_argument("--settings", help=argparse.SUPPRESS)
    p.add_argument("--trials", type=int, default=5, help="leader kills")
    p.add_argument("--rate", type=float, default=20.0, help="calls per second (Poisson)")
    p.add_argument("--between", type=float, default=6.0, help="seconds of load between kills")
    p.add_argument("--lease", type=float, default=3.0, help="[leadership] lease_s")
    p.add_argument("--advisors", type=int, default=100)
    p.add_argument("--talk", type=float, default=3.0, help="mean talk time, seconds")
    p.add_argument("--seed", type=int, default=25)
    args = p.parse_args()
    if args.role == "node":
        node_main(args.settings)
        return
    result = asyncio.run(bench(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
