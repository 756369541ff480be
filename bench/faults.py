"""Fault bench (issue 14): is every call recorded through crashes, outages, poison and floods?

acd (its own process, restarted as the script says) + pbxsim (this process) + a private
PostgreSQL (initdb/pg_ctl in a temporary directory, on a free port: never the shared server),
under ``--rate`` calls/s (Poisson, default 20) for ``--duration`` seconds (default 60), with, in
sequence (seconds from the first call, scaled to ``--duration``):

- 5-25: PostgreSQL stopped (``pg_ctl stop -m fast``) then started again: a 20 s outage;
- 30: acd killed (SIGKILL), started again 5 s later;
- 42: PostgreSQL stopped; 43: acd stopped (SIGTERM) and started again while PostgreSQL is
  down; 50: PostgreSQL started;
- 52: a poison call: ``priority=2^70`` in the AGI request (clamped at the edge, routed, recorded);
- 55: an AMI flood: 20,000 DeviceStateChange events for one advisor's phone, in a burst.

Advisors answer after 0.2-0.6 s and talk 3 s (exponential); the fallback queue (the dialplan's
``Queue()`` while acd is away) has the same advisors as members, as the shipped dialplan has.

The last line is JSON:

- ``calls_placed``: pbxsim's count; ``calls_recorded``: placed calls with a ``calls`` row;
- ``calls_in_gap``: calls counted only in a gap row (sum of calls_reported - calls_recovered);
- ``calls_lost``: placed calls with no row that no gap covers (placed outside every gap's
  interval, 2 s of slack either side); ``gap_count_short_by``: row-less calls inside gaps beyond
  what the gaps' counts say;
- ``records_duplicated``: placed calls with more than one ``calls`` row (a ``#N`` twin) plus
  rows for calls pbxsim never placed;
- ``dead_letters``: rows set aside (table and file);
- ``max_rss_mb``: the largest peak RSS of the daemon's processes;
- ``fastagi_unavailable_s``: the longest time calls found nobody listening on FastAGI, outside
  the kill window (from the kill to the restart);
- ``spool_latency_p99_ms``: the largest ``acd_recorder_settle_p99_ms`` (record to database or
  fsynced spool, 99th percentile) a daemon process reported.

    python bench/faults.py                    # 20 calls/s for 60 s
    python bench/faults.py --rate 10 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POISON_PRIORITY = 2**70
ADVISOR_PREFIX = "agent"
FLOOD_EVENTS = 20_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the daemon's process -------------------------------------------------------------------------


def daemon_main(settings_json: str) -> None:
    """One acd daemon (as ``acd run``: records through the recorder), reporting its figures."""
    from acd.app import Daemon
    from acd.log_config import configure_logging
    from acd.settings import parse_settings

    async def main() -> None:
        configure_logging(level="warning")
        daemon = Daemon(parse_settings(json.loads(settings_json)), auto_login=True, persist=True)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, daemon.stop)
        task = asyncio.create_task(daemon.run())
        await daemon.started.wait()
        print(json.dumps({"ready": True}), flush=True)
        while not task.done():
            recorder = daemon.recorder
            figures = {
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "settle_p99_ms": recorder.settle_p99_s() * 1000 if recorder else 0.0,
                "dead_letters": recorder.rows_rejected if recorder else 0,
            }
            print(json.dumps(figures), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), 0.5)
        await task

    asyncio.run(main())


@dataclass
class DaemonProcess:
    """A daemon in a subprocess; its last figures kept as it prints them."""

    settings: dict[str, Any]
    process: asyncio.subprocess.Process | None = None
    figures: dict[str, float] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> float:
        """Spawn it; returns the spawn time (monotonic) once it says it is ready."""
        self.ready = asyncio.Event()
        spawned = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            "daemon",
            "--settings",
            json.dumps(self.settings),
            stdout=asyncio.subprocess.PIPE,
        )
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self.ready.wait(), 60)
        return spawned

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if data.get("ready"):
                    self.ready.set()
                    continue
                for key in ("rss_mb", "settle_p99_ms", "dead_letters"):
                    self.figures[key] = max(self.figures.get(key, 0.0), float(data[key]))

    async def end(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        await asyncio.wait_for(self.process.wait(), 60)
        if self.reader is not None:
            await self.reader


# -- the private PostgreSQL -----------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """initdb + pg_ctl in ``directory`` on ``port``, run as the ``postgres`` user when root."""

    directory: Path
    port: int

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.directory.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.directory / "data"), "-U", "postgres", "-A", "trust")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on"
        log = str(self.directory / "log")
        self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-o", options, "-l", log, "-w", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


# -- the bench ------------------------------------------------------------------------------------


def settings_for(
    args: argparse.Namespace, ami_port: int, agi_port: int, url: str, spool: Path
) -> dict[str, Any]:
    advisors = [f"{ADVISOR_PREFIX}{i}" for i in range(1, args.advisors + 1)]
    return {
        "centre": {"timezone": "UTC"},
        "database": {"url": url, "spool_dir": str(spool)},
        "ami": {"port": ami_port, "secret": "acdsecret", "reconnect_max_s": 0.5},
        "fastagi": {"port": agi_port, "max_sessions": 5000},
        "http": {"enabled": False},
        "daemon": {"watchdog_stall_s": 0},
        "workload": {"min_wrap_up_s": 0},
        "queues": {
            "support": {"announce_interval_s": None, "wrap_up_s": 0.5, "ring_timeout_s": 10}
        },
        "agents": {a: {"endpoint": f"PJSIP/{a}", "queues": ["support"]} for a in advisors},
    }


def pbx_config(args: argparse.Namespace) -> Any:
    from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings

    names = [f"{ADVISOR_PREFIX}{i}" for i in range(1, args.advisors + 1)]
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=n, number=f"{1000 + i}", display_name=f"Advisor {i}")
            for i, n in enumerate(names, start=1)
        ),
        queues=(QueueConfig(name="support", members=tuple(f"PJSIP/{n}" for n in names)),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=120.0),
        timings=Timings(answer=0.01),
    )


def unavailable_s(records: list[Any], kill: tuple[float, float]) -> float:
    """The longest stretch calls found nobody on FastAGI, without the kill window."""
    ordered = sorted(records, key=lambda r: r.started_at)
    longest = 0.0
    last_reached: float | None = None
    run_start: float | None = None
    for record in ordered:
        if not record.reached_daemon:
            if run_start is None:
                run_start = last_reached if last_reached is not None else record.started_at
            continue
        if run_start is not None:
            low, high = run_start, record.started_at
            overlap = max(0.0, min(high, kill[1]) - max(low, kill[0]))
            longest = max(longest, high - low - overlap)
            run_start = None
        last_reached = record.started_at
    return longest


async def count_rows(url: str, since: float) -> dict[str, Any]:
    import sqlalchemy as sa

    from acd.storage.database import create_engine
    from acd.storage.tables import calls, dead_letters, service_gaps

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        calls.c.call_id, calls.c.outcome, calls.c.reason, calls.c.priority
                    ).where(calls.c.offered_at >= since - 600)
                )
            ).all()
            gaps = (
                await conn.execute(
                    sa.select(
                        service_gaps.c.started_at,
                        service_gaps.c.ended_at,
                        service_gaps.c.calls_reported,
                        service_gaps.c.calls_recovered,
                    ).where(service_gaps.c.ended_at >= since)
                )
            ).all()
            letters = await conn.scalar(sa.select(sa.func.count()).select_from(dead_letters))
    finally:
        await engine.dispose()
    return {"rows": rows, "gaps": gaps, "dead_letters": int(letters or 0)}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    from acd.pbxsim.phones import PhoneBehaviour
    from acd.pbxsim.sim import PbxSim
    from acd.storage import upgrade_schema

    scale = args.duration / 60.0
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="acd-faults-") as temporary:
        tmp = Path(temporary)
        os.chmod(tmp, 0o755)
        postgres = PrivatePostgres(tmp / "pg", free_port())
        await asyncio.to_thread(postgres.init)
        await asyncio.to_thread(postgres.start)
        try:
            await upgrade_schema(postgres.url)
            async with PbxSim(pbx_config(args)) as pbx:
                for phone in pbx.pbx.phones.values():
                    phone.behaviour = PhoneBehaviour(
                        answer_delay=rng.uniform(0.2, 0.6),
                        talk_time=args.talk,
                        talk_distribution="exponential",
                    )
                agi_port = free_port()
                settings = settings_for(args, pbx.ami_port, agi_port, postgres.url, tmp / "spool")
                agi_url = f"agi://127.0.0.1:{agi_port}/inbound"
                daemons = [DaemonProcess(settings)]
                await daemons[0].start()
                records: list[Any] = []
                poisoned: list[Any] = []
                started_epoch = time.time()
                t0 = time.monotonic()
                timeline: dict[str, float] = {}

                async def place_calls() -> None:
                    n = 0
                    next_at = t0
                    while next_at - t0 < args.duration:
                        delay = next_at - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)  # Poisson arrivals, as the load is
                        n += 1
                        records.append(pbx.place_call(agi_url=agi_url, caller_num=f"06{n:08d}"))
                        next_at += rng.expovariate(args.rate)

                async def at(second: float) -> None:
                    delay = t0 + second * scale - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)  # the fault script's own schedule

                async def faults() -> None:
                    await at(5)
                    timeline["pg_stop_1"] = time.monotonic() - t0
                    await asyncio.to_thread(postgres.stop)
                    await at(25)
                    await asyncio.to_thread(postgres.start)
                    timeline["pg_start_1"] = time.monotonic() - t0
                    await at(30)
                    timeline["kill"] = time.monotonic() - t0
                    await daemons[-1].end(signal.SIGKILL)
                    await at(35)
                    daemons.append(DaemonProcess(settings))
                    timeline["restart_after_kill"] = await daemons[-1].start() - t0
                    await at(42)
                    await asyncio.to_thread(postgres.stop)
                    timeline["pg_stop_2"] = time.monotonic() - t0
                    await at(43)
                    timeline["restart_pg_down"] = time.monotonic() - t0
                    await daemons[-1].end(signal.SIGTERM)
                    daemons.append(DaemonProcess(settings))
                    await daemons[-1].start()
                    await at(50)
                    await asyncio.to_thread(postgres.start)
                    timeline["pg_start_2"] = time.monotonic() - t0
                    await at(52)
                    timeline["poison"] = time.monotonic() - t0
                    poisoned.append(
                        pbx.place_call(
                            agi_url=f"{agi_url}?priority={POISON_PRIORITY}", caller_num="0699999999"
                        )
                    )
                    records.append(poisoned[-1])
                    await at(55)
                    timeline["flood"] = time.monotonic() - t0
                    device = f"PJSIP/{ADVISOR_PREFIX}1"
                    for i in range(FLOOD_EVENTS):
                        state = "INUSE" if i % 2 == 0 else "NOT_INUSE"
                        pbx.pbx.emit(
                            "DeviceStateChange", "call", [("Device", device), ("State", state)]
                        )
                        if i % 500 == 0:
                            await asyncio.sleep(0)  # let the AMI writer send what is queued
                    # The phone's real state last, so routing goes on with the truth.
                    real = pbx.pbx.device_state_of(device)
                    pbx.pbx.emit("DeviceStateChange", "call", [("Device", device), ("State", real)])

                await asyncio.gather(place_calls(), faults())
                await pbx.wait_calls_done(within=120)
                await daemons[-1].end(signal.SIGTERM)
                counters = pbx.counters
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                await asyncio.to_thread(postgres.start)
        try:
            stored = await count_rows(postgres.url, started_epoch)
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                await asyncio.to_thread(postgres.stop)
        filed = tmp / "spool" / "dead-letters.jsonl"
        filed_letters = len(filed.read_bytes().splitlines()) if filed.exists() else 0

    offset = started_epoch - t0  # monotonic -> epoch
    placed = {r.uniqueid: r for r in records if r.uniqueid}
    by_call: dict[str, int] = {}
    unknown = 0
    for call_id, *_ in stored["rows"]:
        base = call_id.split("#", 1)[0]
        if base in placed:
            by_call[base] = by_call.get(base, 0) + 1
        else:
            unknown += 1
    recorded = len(by_call)
    duplicated = sum(n - 1 for n in by_call.values()) + unknown
    in_gap = sum(max(0, (rep or 0) - rec) for _, _, rep, rec in stored["gaps"])
    rowless = [r for uid, r in placed.items() if uid not in by_call]
    inside = [
        r
        for r in rowless
        if any(a - 2 <= r.started_at + offset <= b + 2 for a, b, _, _ in stored["gaps"])
    ]
    poison = [row for row in stored["rows"] for p in poisoned if row[0] == p.uniqueid]
    kill_window = (t0 + timeline["kill"], t0 + timeline["restart_after_kill"])
    return {
        "calls_placed": counters["calls_placed"],
        "calls_recorded": recorded,
        "calls_in_gap": in_gap,
        "calls_lost": len(rowless) - len(inside),
        # Row-less calls placed inside a gap beyond what the gaps' counts say (the counts are
        # Asterisk's fallback-queue counters against acd's rows: see docs/storage.md).
        "gap_count_short_by": max(0, len(inside) - in_gap),
        "records_duplicated": duplicated,
        "dead_letters": stored["dead_letters"] + filed_letters,
        "max_rss_mb": round(max(d.figures.get("rss_mb", 0.0) for d in daemons), 1),
        "fastagi_unavailable_s": round(unavailable_s(records, kill_window), 2),
        "spool_latency_p99_ms": round(max(d.figures.get("settle_p99_ms", 0.0) for d in daemons), 1),
        "gaps": [
            {"down_s": round(b - a, 2), "calls_reported": rep, "calls_recovered": rec}
            for a, b, rep, rec in stored["gaps"]
        ],
        "poison_call_row": [list(p) for p in poison],
        # When each call without a row was placed (s from the first call), and what it did.
        "rowless_calls": [(round(r.started_at - t0, 2), r.path, r.reached_daemon) for r in rowless],
        "gaps_s": [
            (round(a - offset - t0, 2), round(b - offset - t0, 2)) for a, b, _, _ in stored["gaps"]
        ],
        "pbxsim": counters,
        "timeline_s": {k: round(v, 2) for k, v in timeline.items()},
        "rate": args.rate,
        "duration_s": args.duration,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--role", choices=("bench", "daemon"), default="bench")
    p.add_argument("--settings", help=argparse.SUPPRESS)
    p.add_argument("--rate", type=float, default=20.0, help="calls per second (Poisson)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of calls")
    p.add_argument("--advisors", type=int, default=100)
    p.add_argument("--talk", type=float, default=3.0, help="mean talk time, seconds")
    p.add_argument("--seed", type=int, default=14)
    args = p.parse_args()
    if args.role == "daemon":
        daemon_main(args.settings)
        return
    result = asyncio.run(bench(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
