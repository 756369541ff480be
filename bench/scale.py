"""Scale benchmark: one acd daemon over several Asterisk boxes (pbxsim), arrivals ramped up.

pbxsim (``python -m acd.pbxsim --boxes N``) runs N virtual boxes in one process, each with its own
AMI port, ``--advisors-total / N`` phones and its own callers, joined two by two by inter-PBX trunks
(docs/scaling.md#more-than-one-pbx). The daemon (this file with ``--role daemon``, in its own
process) has one ``[pbx.bK]`` section per box and every advisor in one queue: the engine picks the
longest-idle advisor on any box, so most rings cross a trunk (``Dial(PJSIP/<advisor>@pbx-bK)``),
as in a centre whose boxes share their queues.

Arrivals follow ``--ramp`` steps (total calls/s over all boxes, Poisson), each held ``--step``
seconds. Per step, from the daemon's own clock:

- ``calls_per_s``: calls admitted by the daemon per second in the step (after its first quarter);
- ``ring_latency_p50/p99_ms``: from the event that made a ring possible (a caller admitted with an
  advisor idle, an advisor freed with a caller waiting) to the Dial written on the caller's FastAGI
  session (bench/e2e_pbxsim.py's probe);
- ``decision_p99_ms``: the dispatcher's handling of one event (the engine's decision).

The summary's ``calls_per_s`` is the highest step sustained with ``ring_latency_p99_ms`` <= 20
(and at least 90 % of the offered rate admitted). ``rss_mb`` (peak) and ``acd_cpu_ms_per_call``
(the daemon process's own CPU time over the run, per call admitted) are the daemon's;
``cores`` is the machine's (pbxsim shares them). The last line of output is JSON.

    python bench/scale.py                                   # 4 boxes, 20,000 advisors
    python bench/scale.py --boxes 2 --advisors-total 2000 --ramp 10,20 --step 20
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
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_pbxsim import LatencyProbe, free_port, percentile

RING_P99_TARGET_MS = 20.0


def consecutive_free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports nothing listens on (one AMI port per box)."""
    for _ in range(100):
        base = free_port()
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def box_names(boxes: int) -> list[str]:
    return [f"b{k}" for k in range(1, boxes + 1)]


def daemon_settings(args: argparse.Namespace) -> Any:
    from acd.settings import parse_settings

    per_box = args.advisors_total // args.boxes
    pbx = {
        name: {
            "port": args.ami_port + index,
            "secret": "acdsecret",
            "trunk": f"pbx-{name}",
            "reconnect_max_s": 0.5,
            "ping_interval_s": 10,
        }
        for index, name in enumerate(box_names(args.boxes))
    }
    # pbxsim names a box's phones after it (b2agent7), except when it runs a single box.
    prefix = (lambda name: name) if args.boxes > 1 else (lambda name: "")
    agents = {
        f"{prefix(name)}agent{i}": {
            "endpoint": f"PJSIP/{prefix(name)}agent{i}",
            "queues": ["support"],
            "skills": {"french": 1 + i % 5},
            "pbx": name,
        }
        for name in box_names(args.boxes)
        for i in range(1, per_box + 1)
    }
    return parse_settings(
        {
            "pbx": pbx,
            "fastagi": {"port": args.agi_port, "max_sessions": 10_000},
            "http": {"enabled": False},
            "daemon": {"watchdog_stall_s": 0},
            "queues": {
                "support": {
                    "announce_interval_s": None,
                    "wrap_up_s": args.wrap_up,
                    "ring_timeout_s": 15,
                    "expected_handle_s": args.talk_time,
                }
            },
            "agents": agents,
        }
    )


class Decisions:
    """The dispatcher's time per event (its ``on_handled`` hook), stamped by the daemon's clock."""

    def __init__(self, now: Any, chained: Any) -> None:
        self.now = now
        self.chained = chained
        self.samples: list[tuple[float, float]] = []

    def __call__(self, seconds: float) -> None:
        self.samples.append((self.now(), seconds * 1000))
        self.chained(seconds)


async def run_daemon(args: argparse.Namespace) -> None:
    import structlog

    from acd.app import Daemon

    settings = daemon_settings(args)
    daemon = Daemon(settings, auto_login=True)
    total_s = args.step * len(args.ramp)
    probe = LatencyProbe(daemon.dispatcher.now, total_s)
    decisions = Decisions(daemon.dispatcher.now, daemon.dispatcher._on_handled)
    daemon.dispatcher._on_handled = decisions
    daemon.dispatcher.live_views.append(probe)
    structlog.configure(
        processors=[
            probe.processor,
            structlog.processors.add_log_level,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(20),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, daemon.stop)
    started = time.monotonic()
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await daemon.dispatcher.drain()
    start_s = time.monotonic() - started
    cpu_before = os.times()
    # pbxsim starts now: its callers come once it listens (the AMI clients retry meanwhile).
    print("ready", flush=True)
    await task
    cpu_after = os.times()
    cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    steps = []
    first = probe.arrivals[0] if probe.arrivals else 0.0
    for index, rate in enumerate(args.ramp):
        # The first quarter of each step is left out: the previous rate's backlog settles.
        lo = first + index * args.step + args.step / 4
        hi = first + (index + 1) * args.step
        rings = [r[1] for r in probe.rings if lo <= r[0] <= hi]
        admitted = sum(1 for t in probe.arrivals if lo <= t <= hi)
        handled = [ms for at, ms in decisions.samples if lo <= at <= hi]
        steps.append(
            {
                "offered_per_s": rate,
                "calls_per_s": round(admitted / (hi - lo), 2),
                "ring_latency_p50_ms": percentile(rings, 50),
                "ring_latency_p99_ms": percentile(rings, 99),
                "decision_p50_ms": percentile(handled, 50),
                "decision_p99_ms": percentile(handled, 99),
                "rings": len(rings),
            }
        )
    report = {
        "steps": steps,
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "acd_cpu_ms_per_call": round(cpu_s * 1000 / max(len(probe.arrivals), 1), 3),
        "acd_cpu_s": round(cpu_s, 2),
        "calls_admitted": len(probe.arrivals),
        "trunk_rings": sum(daemon.calls.trunk_rings.values()),
        "offered_by_pbx": dict(daemon.calls.offered),
        "daemon_start_s": round(start_s, 1),
        "daemon_warnings": probe.warnings,
        "events_handled": daemon.dispatcher.events_handled,
    }
    print(json.dumps(report), flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    ami_port, agi_port = consecutive_free_ports(args.boxes), free_port()
    load_before = os.getloadavg()
    per_box = args.advisors_total // args.boxes
    total_s = args.step * len(args.ramp)
    daemon: asyncio.subprocess.Process | None = None
    pbxsim: asyncio.subprocess.Process | None = None
    try:
        daemon = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            "daemon",
            "--boxes",
            str(args.boxes),
            "--advisors-total",
            str(args.advisors_total),
            "--ami-port",
            str(ami_port),
            "--agi-port",
            str(agi_port),
            "--ramp",
            ",".join(str(rate) for rate in args.ramp),
            "--step",
            str(args.step),
            "--wrap-up",
            str(args.wrap_up),
            "--talk-time",
            str(args.talk_time),
            stdout=asyncio.subprocess.PIPE,
            stderr=None if args.verbose else asyncio.subprocess.DEVNULL,
        )
        assert daemon.stdout is not None
        ready = await asyncio.wait_for(daemon.stdout.readline(), 600)
        if ready != b"ready\n":
            raise RuntimeError(f"daemon did not start: {ready!r}")
        pbxsim = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "acd.pbxsim",
            "--boxes",
            str(args.boxes),
            "--ami-port",
            str(ami_port),
            "--agi-url",
            f"agi://127.0.0.1:{agi_port}/inbound",
            "--advisors",
            str(per_box),
            "--answer-delay",
            str(args.answer_delay),
            "--talk-time",
            str(args.talk_time),
            "--talk-distribution",
            "exponential",
            "--ramp",
            ",".join(
                f"{index * args.step}:{rate / args.boxes}" for index, rate in enumerate(args.ramp)
            ),
            "--duration",
            str(total_s),
            "--patience",
            str(args.patience),
            "--fallback-queue",
            "",
            "--agi-command-delay",
            str(args.agi_command_delay),
            "--seed",
            "1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert pbxsim.stderr is not None
        line = await asyncio.wait_for(pbxsim.stderr.readline(), 300)
        if b"pbxsim_started" not in line:
            raise RuntimeError(f"pbxsim did not start: {line!r}")
        await asyncio.sleep(total_s + 2)
        daemon.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(daemon.communicate(), 120)
        report = json.loads(out.decode().strip().splitlines()[-1])
        pbxsim.send_signal(signal.SIGTERM)
        pbx_out, _ = await asyncio.wait_for(pbxsim.communicate(), 120)
        counters = json.loads(pbx_out.decode().strip().splitlines()[-1])
    finally:
        for process in (daemon, pbxsim):
            if process is not None and process.returncode is None:
                process.kill()
                with contextlib.suppress(ProcessLookupError):
                    await process.wait()
    sustained = [
        step
        for step in report["steps"]
        if step["ring_latency_p99_ms"] is not None
        and step["ring_latency_p99_ms"] <= RING_P99_TARGET_MS
        and step["calls_per_s"] >= 0.9 * step["offered_per_s"]
    ]
    best = max(sustained, key=lambda step: step["calls_per_s"], default=None)
    return {
        "pbx": args.boxes,
        "advisors": per_box * args.boxes,
        "calls_per_s": best["calls_per_s"] if best else 0.0,
        "ring_latency_p99_ms": best["ring_latency_p99_ms"] if best else None,
        "decision_p99_ms": best["decision_p99_ms"] if best else None,
        "rss_mb": report["rss_mb"],
        "acd_cpu_ms_per_call": report["acd_cpu_ms_per_call"],
        "cores": os.cpu_count(),
        "steps": report["steps"],
        "trunk_rings": report["trunk_rings"],
        "calls_admitted": report["calls_admitted"],
        "offered_by_pbx": report["offered_by_pbx"],
        "daemon_start_s": report["daemon_start_s"],
        "daemon_warnings": report["daemon_warnings"],
        "pbxsim": {
            key: counters.get(key)
            for key in (
                "calls_placed",
                "reached_daemon",
                "answered_by_acd",
                "trunk_calls_out",
                "answered_over_trunk",
                "abandoned",
            )
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--role", choices=("bench", "daemon"), default="bench")
    p.add_argument("--boxes", type=int, default=4, help="Asterisk boxes simulated")
    p.add_argument("--advisors-total", type=int, default=20_000, help="over every box")
    p.add_argument(
        "--ramp",
        type=rates,
        default=rates("25,50,100,150,200"),
        help="total calls/s offered at each step",
    )
    p.add_argument("--step", type=float, default=30.0, help="seconds of each step")
    p.add_argument("--answer-delay", type=float, default=1.0, help="mean ring before answer, s")
    p.add_argument("--talk-time", type=float, default=30.0, help="mean talk time, s")
    p.add_argument("--wrap-up", type=float, default=5.0)
    p.add_argument("--patience", type=float, default=120.0)
    p.add_argument("--agi-command-delay", type=float, default=0.0003)
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
