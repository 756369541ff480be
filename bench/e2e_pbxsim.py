"""End-to-end benchmark: the real daemon and pbxsim, each in its own process, on loopback.

pbxsim (``python -m acd.pbxsim``) places 55 new calls/s (Poisson, 10 % above the 50/s target:
a 35 s window of a 50/s Poisson stream holds 50 ± 1.2 calls/s, so it would read under 50 half
the time) for ``--duration`` seconds on 1,000 advisors' phones that answer after 0.5-1.5 s (1 s
mean) and talk 15 s (exponential); the AGI ANSWER takes 0.5 s as on the recorded Asterisk;
wrap-up is the workload minimum, 5 s. So an advisor handles a call in about 21 s and the offered
load exceeds the 1,000 advisors:
once warmed up, some calls find an advisor idle and every advisor who frees up finds a caller
waiting, so both latencies below get samples.

The daemon runs in a second process (this file with ``--role daemon``): ``acd.app.Daemon`` with
every advisor logged in, position/expected-wait announcements every 30 s (an advisor freed
during one interrupts it), and its records written as ``acd run`` writes them: through the
recorder to a fresh SQLite file (``--database`` for a PostgreSQL URL, or ``memory``). A live
view in that process timestamps each dispatched event that produced a ``RingAgent``; a
structlog processor timestamps the daemon's ``agent_rung`` line, written just before
``EXEC Dial`` goes on the socket. Both use the daemon's clock.

- ``ring_latency_*``: from the moment a call and a routable advisor are both available (the event
  that admitted the call with an advisor idle, or freed an advisor with a call waiting, or
  returned a call unanswered) to the Dial command sent.
- ``idle_gap_*``: the subset where the event freed the advisor who is then rung (wrap-up over,
  phone idle again, ready): the time an advisor sits idle with an eligible caller waiting.
- ``calls_per_s``: calls admitted by the daemon per second over the steady window (after
  ``--warmup``), with pbxsim's own counters alongside (placed, reached the daemon, fallbacks).
- ``rss_mb`` (peak) and ``cpu_ms_per_call`` are the daemon process's.
- ``agi_commands_before_dial_p50``/``_max``: AGI commands the daemon sent after ANSWER up to and
  including the Dial, over calls that found an advisor free (the engine rang in the dispatch that
  admitted them): the ring path's budget (docs/architecture.md) is at most 2.
- pbxsim charges ``--agi-command-delay`` for each AGI command's round trip (default 0.3 ms, the
  median of the recorded Asterisk 22 replies; 0 turns it off).

The last line of output is JSON.

    python bench/e2e_pbxsim.py                          # 55 calls/s for 60 s, 1,000 advisors
    python bench/e2e_pbxsim.py --rate 20 --duration 20 --warmup 5 --advisors 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import sys
import tempfile
from collections.abc import MutableMapping, Sequence
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


# -- the daemon's process -------------------------------------------------------------------------


def daemon_settings(args: argparse.Namespace) -> Any:
    from acd.settings import parse_settings

    database = {}
    if args.database != "memory":
        database = {"url": args.database, "spool_dir": args.spool_dir}
    return parse_settings(
        {
            **({"database": database} if database else {}),
            "ami": {
                "port": args.ami_port,
                "secret": "acdsecret",
                "reconnect_max_s": 0.5,
                "ping_interval_s": 10,
            },
            "fastagi": {"port": args.agi_port, "max_sessions": 5000},
            "http": {"enabled": False},
            "daemon": {"watchdog_stall_s": 0},
            "queues": {
                "support": {
                    "announce_interval_s": args.announce_interval or None,
                    "wrap_up_s": args.wrap_up,
                    "ring_timeout_s": 15,
                    "expected_handle_s": 20,
                }
            },
            "agents": {
                f"agent{i}": {
                    "endpoint": f"PJSIP/agent{i}",
                    "queues": ["support"],
                    "skills": {"french": 1 + i % 5},
                }
                for i in range(1, args.advisors + 1)
            },
        }
    )


class AgiCommandsBeforeDial:
    """Counts the AGI commands each call's session sends after ANSWER up to its first Dial."""

    def __init__(self) -> None:
        self.since_answer: dict[str, int] = {}
        self.free_at_arrival: set[str] = set()
        self.counts: list[float] = []

    def sent(self, uniqueid: str, line: str) -> None:
        if line == "ANSWER":
            self.since_answer[uniqueid] = 0
            return
        count = self.since_answer.get(uniqueid)
        if count is None:
            return
        if line.startswith("EXEC Dial"):
            del self.since_answer[uniqueid]
            if uniqueid in self.free_at_arrival:
                self.free_at_arrival.discard(uniqueid)
                self.counts.append(count + 1)
        else:
            self.since_answer[uniqueid] = count + 1


class LatencyProbe:
    """Timestamps what made the engine ring (a live view) and the Dial going out (a log line)."""

    def __init__(self, now: Any, duration_s: float) -> None:
        self.now = now
        self.duration_s = duration_s
        self.pending: dict[str, tuple[float, bool, float, str]] = {}
        # (at, latency ms, advisor freed, ms from the event to its dispatch, the event's type)
        self.rings: list[tuple[float, float, bool, float, str]] = []
        self.arrivals: list[float] = []
        self.answered: list[float] = []
        self.warnings: dict[str, int] = {}
        self.end_of_arrivals = float("inf")
        self.agi = AgiCommandsBeforeDial()

    def observe(self, event: Any, commands: Sequence[Any]) -> None:
        from acd.core.commands import RingAgent
        from acd.core.events import AgentAnswered, CallArrived, TimerFired

        if isinstance(event, CallArrived):
            if not self.arrivals:
                self.end_of_arrivals = event.at + self.duration_s
            self.arrivals.append(event.at)
        elif isinstance(event, AgentAnswered):
            self.answered.append(event.at)
        for command in commands:
            if isinstance(command, RingAgent):
                if isinstance(event, CallArrived) and event.call_id == command.call_id:
                    self.agi.free_at_arrival.add(command.call_id)
                freed_by = getattr(event, "agent_id", None)
                if isinstance(event, TimerFired):
                    freed_by = event.timer_id.split(":")[1]
                dispatched = self.now()
                self.pending[command.call_id] = (
                    event.at,
                    freed_by == command.agent_id,
                    dispatched,
                    type(event).__name__,
                )

    def processor(
        self, logger: object, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        import structlog

        if event_dict.get("event") == "agent_rung":
            started = self.pending.pop(str(event_dict.get("call_id")), None)
            if started is not None:
                now = self.now()
                at, freed, dispatched, kind = started
                self.rings.append((now, (now - at) * 1000, freed, (dispatched - at) * 1000, kind))
        if method in ("debug", "info"):
            raise structlog.DropEvent
        # Only warnings while calls arrive: pbxsim's exit hangs up the calls still in progress.
        if self.now() <= self.end_of_arrivals:
            name = str(event_dict.get("event"))
            self.warnings[name] = self.warnings.get(name, 0) + 1
        return event_dict

    def report(self, warmup_s: float, duration_s: float) -> dict[str, Any]:
        if not self.arrivals:
            return {"error": "no call reached the daemon"}
        first = self.arrivals[0]
        start, end = first + warmup_s, first + duration_s
        window = max(end - start, 1e-9)
        steady = [r for r in self.rings if start <= r[0] <= end]
        ring = [r[1] for r in steady]
        gaps = [r[1] for r in steady if r[2]]
        dispatch = [r[3] for r in steady]
        return {
            "calls_per_s": round(sum(1 for t in self.arrivals if start <= t <= end) / window, 2),
            "answered_per_s": round(sum(1 for t in self.answered if start <= t <= end) / window, 2),
            "ring_latency_p50_ms": percentile(ring, 50),
            "ring_latency_p99_ms": percentile(ring, 99),
            "ring_latency_max_ms": percentile(ring, 100),
            "idle_gap_p50_ms": percentile(gaps, 50),
            "idle_gap_p99_ms": percentile(gaps, 99),
            "idle_gap_max_ms": percentile(gaps, 100),
            "ring_dispatch_p50_ms": percentile(dispatch, 50),
            "ring_dispatch_p99_ms": percentile(dispatch, 99),
            "ring_latency_by_event": {
                kind: {
                    "n": sum(1 for r in steady if r[4] == kind),
                    "p50_ms": percentile([r[1] for r in steady if r[4] == kind], 50),
                    "p99_ms": percentile([r[1] for r in steady if r[4] == kind], 99),
                }
                for kind in sorted({r[4] for r in steady})
            },
            "agi_commands_before_dial_p50": percentile(self.agi.counts, 50),
            "agi_commands_before_dial_max": percentile(self.agi.counts, 100),
            "agi_dials_counted": len(self.agi.counts),
            "rings_measured": len(ring),
            "idle_gaps_measured": len(gaps),
            "calls_admitted": len(self.arrivals),
            "daemon_warnings": self.warnings,
        }


async def loop_lag(samples: list[float], every_s: float = 0.01) -> None:
    """How late the daemon's event loop runs a 10 ms sleep: its own congestion plus CPU steal."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every_s
        await asyncio.sleep(every_s)
        samples.append((loop.time() - due) * 1000)


class GcPauses:
    """Durations of the cyclic garbage collector's passes in the daemon, by generation."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        import time

        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self.started) * 1000)

    def report(self) -> dict[str, Any]:
        return {
            f"gen{gen}": {"n": len(ms), "max_ms": percentile(ms, 100), "sum_ms": round(sum(ms))}
            for gen, ms in self.pauses.items()
        }


async def run_daemon(args: argparse.Namespace) -> None:
    import structlog

    import acd.app
    from acd.app import Daemon

    if args.ami_events:
        # An experiment, not the shipped daemon: which AMI event classes acd logs in for.
        acd.app.AMI_EVENT_CLASSES = args.ami_events
    settings = daemon_settings(args)
    persist = args.database != "memory"
    daemon = Daemon(settings, auto_login=True, persist=persist)
    probe = LatencyProbe(daemon.dispatcher.now, args.duration)
    from acd.asterisk.fastagi import AgiSession

    send_line = AgiSession.send_line

    async def counted(self: AgiSession, line: str, **options: Any) -> Any:
        probe.agi.sent(self.uniqueid, line)
        return await send_line(self, line, **options)

    AgiSession.send_line = counted  # type: ignore[method-assign]
    daemon.dispatcher.live_views.append(probe)
    structlog.configure(
        processors=[
            probe.processor,
            structlog.processors.add_log_level,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(20),  # INFO: agent_rung is info
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    if persist:
        from acd.storage import upgrade_schema

        await upgrade_schema(settings.database.url.get_secret_value())
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, daemon.stop)
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    import gc

    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    cpu_before = os.times()
    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lags))
    print("ready", flush=True)
    await task
    lag_task.cancel()
    cpu_after = os.times()
    cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    report = probe.report(args.warmup, args.duration)
    steady_lags = lags[int(len(lags) * args.warmup / (args.duration + 5)) :]
    report["daemon_loop_lag_p50_ms"] = percentile(steady_lags, 50)
    report["daemon_loop_lag_p99_ms"] = percentile(steady_lags, 99)
    report["daemon_gc"] = gc_pauses.report()
    report["daemon_gc_thresholds"] = list(gc.get_threshold())
    report["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["cpu_ms_per_call"] = round(cpu_s * 1000 / max(len(probe.arrivals), 1), 3)
    report["daemon_cpu_s"] = round(cpu_s, 2)
    report["events_handled"] = daemon.dispatcher.events_handled
    report["events_refused"] = daemon.dispatcher.events_refused
    print(json.dumps(report), flush=True)


# -- the orchestrator -----------------------------------------------------------------------------


async def ping_pbxsim(port: int, rtts: list[float], started: asyncio.Event) -> None:
    """AMI Ping to pbxsim every 50 ms on a connection of our own: how responsive its loop is."""
    for _ in range(100):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.1)
    else:
        return
    try:
        await reader.readline()
        writer.write(b"Action: Login\r\nUsername: acd\r\nSecret: acdsecret\r\nEvents: off\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        started.set()
        loop = asyncio.get_running_loop()
        while True:
            sent = loop.time()
            writer.write(b"Action: Ping\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            rtts.append((loop.time() - sent) * 1000)
            await asyncio.sleep(0.05)
    except (asyncio.IncompleteReadError, ConnectionError):
        return  # pbxsim exited
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="acd-e2e-bench-") as workdir:
        return await run_in(args, workdir)


async def run_in(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    ami_port, agi_port = free_port(), free_port()
    database = args.database
    if database == "sqlite":
        database = f"sqlite+aiosqlite:///{os.path.join(workdir, 'acd.sqlite3')}"
    load_before = os.getloadavg()
    daemon = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--role",
        "daemon",
        "--ami-port",
        str(ami_port),
        "--agi-port",
        str(agi_port),
        "--advisors",
        str(args.advisors),
        "--warmup",
        str(args.warmup),
        "--duration",
        str(args.duration),
        "--wrap-up",
        str(args.wrap_up),
        "--announce-interval",
        str(args.announce_interval),
        "--ami-events",
        args.ami_events,
        "--database",
        database,
        "--spool-dir",
        os.path.join(workdir, "spool"),
        stdout=asyncio.subprocess.PIPE,
        stderr=None if args.verbose else asyncio.subprocess.DEVNULL,
    )
    pbxsim: asyncio.subprocess.Process | None = None
    try:
        assert daemon.stdout is not None
        ready = await asyncio.wait_for(daemon.stdout.readline(), 60)
        if ready != b"ready\n":
            raise RuntimeError(f"daemon did not start: {ready!r}")
        pbxsim = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "acd.pbxsim",
            "--ami-port",
            str(ami_port),
            "--agi-url",
            f"agi://127.0.0.1:{agi_port}/inbound",
            "--advisors",
            str(args.advisors),
            "--answer-delay",
            str(args.answer_delay),
            "--talk-time",
            str(args.talk_time),
            "--talk-distribution",
            "exponential",
            "--rate",
            str(args.rate),
            "--duration",
            str(args.duration),
            "--patience",
            str(args.patience),
            "--run-for",
            str(args.duration + 3),
            "--fallback-queue",
            "",
            "--answer",
            "0.5",
            "--agi-command-delay",
            str(args.agi_command_delay),
            "--seed",
            "1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        rtts: list[float] = []
        pinging = asyncio.Event()
        pinger = asyncio.create_task(ping_pbxsim(ami_port, rtts, pinging))
        pbx_out, _ = await asyncio.wait_for(pbxsim.communicate(), args.duration + 120)
        pinger.cancel()
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await pinger
        steady_rtts = rtts[int(args.warmup / 0.05) : int(args.duration / 0.05)]
        load_during = os.getloadavg()
        counters = json.loads(pbx_out.decode().strip().splitlines()[-1])
        daemon.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(daemon.communicate(), 60)
        report = json.loads(out.decode().strip().splitlines()[-1])
    finally:
        for process in (pbxsim, daemon):
            if process is not None and process.returncode is None:
                process.kill()
                with contextlib.suppress(ProcessLookupError):
                    await process.wait()
    return {
        **report,
        "pbxsim_ping_p50_ms": percentile(steady_rtts, 50),
        "pbxsim_ping_p99_ms": percentile(steady_rtts, 99),
        "pbxsim": {
            key: counters[key]
            for key in (
                "calls_placed",
                "reached_daemon",
                "agi_failed",
                "answered_by_acd",
                "fallbacks",
                "abandoned",
            )
        },
        "rate": args.rate,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "advisors": args.advisors,
        "agi_command_delay_s": args.agi_command_delay,
        "database": args.database if "://" not in args.database else args.database.split(":")[0],
        "ami_events": args.ami_events or "as shipped",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_during],
        },
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--role", choices=("bench", "daemon"), default="bench")
    p.add_argument(
        "--rate",
        type=float,
        default=55.0,
        help="new calls per second offered (Poisson); 10 %% above the 50/s target, so that the"
        " sample in the measured window does not dip under 50 by chance",
    )
    p.add_argument("--duration", type=float, default=60.0, help="seconds of arrivals")
    p.add_argument("--warmup", type=float, default=25.0, help="seconds left out of the figures")
    p.add_argument("--advisors", type=int, default=1000)
    p.add_argument("--answer-delay", type=float, default=1.0, help="mean ring before answer, s")
    p.add_argument("--talk-time", type=float, default=15.0, help="mean talk time, s")
    p.add_argument("--wrap-up", type=float, default=5.0, help="queue wrap-up, s")
    p.add_argument("--patience", type=float, default=120.0, help="mean caller patience, s")
    p.add_argument(
        "--agi-command-delay",
        type=float,
        default=0.0003,
        help="pbxsim's cost of one AGI round trip, s (0: off)",
    )
    p.add_argument("--announce-interval", type=float, default=30.0, help="0: no announcements")
    p.add_argument(
        "--ami-events",
        default="",
        help="experiment: AMI event classes the daemon asks for (default: acd.app's own)",
    )
    p.add_argument(
        "--database",
        default="sqlite",
        help="where the daemon writes its records: sqlite (a fresh file, as acd run does by"
        " default), a database URL, or memory (kept in lists, no storage)",
    )
    p.add_argument("--spool-dir", default="", help=argparse.SUPPRESS)
    p.add_argument("--verbose", action="store_true", help="show the daemon's warnings")
    p.add_argument("--ami-port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--agi-port", type=int, default=0, help=argparse.SUPPRESS)
    return p


def main() -> int:
    args = parser().parse_args()
    if args.role == "daemon":
        asyncio.run(run_daemon(args))
        return 0
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
