"""``acd demo``: the daemon against the virtual Asterisk, with simulated callers and advisors.

Nothing to set up: pbxsim listens on free loopback ports, the daemon connects to it over real AMI
and FastAGI sockets, callers arrive at random (seeded) and advisors' phones answer, miss calls or
hang up like people do. What the engine decides is logged as it happens; a summary closes the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from dataclasses import dataclass
from typing import Any

import structlog

from acd.app import Daemon, summary
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import Settings, parse_settings

log = structlog.get_logger("acd.demo")

CALLER_NAMES = (
    "Zoé Lefèvre",
    "Hélène Müller",
    "François Dupré",
    "Noël Garçon",
    "Agnès Bérubé",
    "Jérôme Châtelain",
    "Loïc Le Bihan",
    "Maëlle Nguyễn",
    "Inès Benaïssa",
    "Søren Åkerlund",
)

ADVISORS: dict[str, dict[str, Any]] = {
    "1001": {"name": "Camille Roux", "skills": {"french": 5, "billing": 4}, "queues": ["support"]},
    "1002": {
        "name": "Léa Fontaine",
        "skills": {"french": 4, "english": 3},
        "queues": ["support", "sales"],
    },
    "1003": {"name": "Hugo Marchand", "skills": {"french": 3, "billing": 2}, "queues": ["support"]},
    "1004": {"name": "Emma Girard", "skills": {"english": 5, "french": 2}, "queues": ["sales"]},
    "1005": {
        "name": "Nathan Morel",
        "skills": {"french": 2, "english": 4},
        "queues": ["support", "sales"],
    },
    "1006": {"name": "Chloé Lambert", "skills": {"french": 5}, "queues": ["support"]},
}


def demo_settings(ami_port: int, http_port: int | None) -> Settings:
    """The built-in centre: two queues (French support with relaxing steps, English sales)."""
    return parse_settings(
        {
            "centre": {"name": "acd demo"},
            "ami": {"port": ami_port, "secret": "acdsecret"},
            "fastagi": {"port": 0},
            "http": {"enabled": http_port is not None, "port": http_port or 8080},
            "workload": {"window_s": 600, "bucket_s": 10, "breather_s": 8, "min_wrap_up_s": 1},
            "queues": {
                "support": {
                    "language": "fr",
                    "steps": [
                        {"expression": "french>=4 and billing>=3", "for_s": 10},
                        {"expression": "french>=3", "for_s": 10},
                        {"expression": "any"},
                    ],
                    "announce_interval_s": 12,
                    "wrap_up_s": 3,
                    "ring_timeout_s": 6,
                    "service_level_s": 20,
                    "expected_handle_s": 12,
                },
                "sales": {
                    "language": "en",
                    "policy": "least_occupied",
                    "weight": 1.5,
                    "steps": [{"expression": "english>=3", "for_s": 15}, {"expression": "any"}],
                    "announce_interval_s": 12,
                    "wrap_up_s": 2,
                    "ring_timeout_s": 6,
                    "expected_handle_s": 10,
                },
            },
            "agents": {
                agent_id: {**spec, "endpoint": f"PJSIP/{agent_id}"}
                for agent_id, spec in ADVISORS.items()
            },
        },
        "<demo>",
    )


def demo_pbx_config() -> PbxConfig:
    return PbxConfig(
        phones=tuple(
            PhoneConfig(name=agent_id, number=agent_id, display_name=spec["name"])
            for agent_id, spec in ADVISORS.items()
        ),
        queues=(QueueConfig(name="support", members=tuple(f"PJSIP/{a}" for a in ADVISORS)),),
        dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=60),
        timings=Timings(answer=0.05),
    )


@dataclass(frozen=True)
class DemoOptions:
    """How long, how busy, how random."""

    duration_s: float = 60.0
    calls_per_minute: float = 24.0
    seed: int = 7
    http_port: int | None = None


async def _callers(pbx: PbxSim, daemon: Daemon, options: DemoOptions, rng: random.Random) -> None:
    url = f"agi://127.0.0.1:{daemon.fastagi_port}/inbound"
    rate = options.calls_per_minute / 60.0
    while True:
        await asyncio.sleep(rng.expovariate(rate))
        queue = "support" if rng.random() < 0.65 else "sales"
        priority = 5 if rng.random() < 0.1 else 0
        pbx.place_call(
            queue=queue,
            agi_url=f"{url}?priority={priority}",
            caller_num=f"06{rng.randrange(10**8):08d}",
            caller_name=rng.choice(CALLER_NAMES),
            patience=rng.uniform(15, 60),
        )


def _phones(pbx: PbxSim, rng: random.Random) -> None:
    for i, agent_id in enumerate(ADVISORS):
        behaviour = PhoneBehaviour(
            answer_delay=rng.uniform(0.3, 1.5),
            talk_time=rng.uniform(6, 12),
            talk_distribution="lognormal",
        )
        if i == 2:
            # One advisor's phone rings out: the call goes to the next advisor at once.
            behaviour = PhoneBehaviour(mode="no_answer")
        pbx.phone(agent_id).behaviour = behaviour


async def _status(daemon: Daemon, every_s: float = 10.0) -> None:
    while True:
        await asyncio.sleep(every_s)
        snap = daemon.engine.snapshot(daemon.dispatcher.now())
        for q in snap.queues:
            sl = "-" if q.service_level is None else f"{q.service_level:.0%}"
            log.info(
                "queue_status",
                queue=q.name,
                waiting=len(q.waiting),
                offered=q.offered,
                answered=q.answered,
                abandoned=q.abandoned,
                service_level=sl,
            )


async def run_demo(options: DemoOptions) -> dict[str, Any]:
    """Run the demo for ``options.duration_s`` (0: until interrupted); return the summary."""
    rng = random.Random(options.seed)
    async with PbxSim(demo_pbx_config()) as pbx:
        _phones(pbx, rng)
        daemon = Daemon(demo_settings(pbx.ami_port, options.http_port), auto_login=True, rng=rng)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        daemon_task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 10)
        await daemon.ami.wait_connected(10)
        log.info(
            "demo_started",
            advisors=len(ADVISORS),
            calls_per_minute=options.calls_per_minute,
            duration_s=options.duration_s or "until Ctrl-C",
            ami_port=pbx.ami_port,
            fastagi_port=daemon.fastagi_port,
        )
        side = [
            asyncio.create_task(_callers(pbx, daemon, options, rng)),
            asyncio.create_task(_status(daemon)),
        ]
        try:
            if options.duration_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), options.duration_s)
            else:
                await stop.wait()
        finally:
            for task in side:
                task.cancel()
            # Let the calls in progress finish their story before stopping the daemon.
            log.info("demo_draining", calls_in_progress=daemon.calls.active_calls)
            with contextlib.suppress(TimeoutError):
                await pbx.wait_calls_done(within=90)
            await daemon.dispatcher.drain()
            result = dict(summary(daemon))
            result["pbx"] = pbx.counters
            daemon.stop()
            await daemon_task
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
    return result


def format_summary(result: dict[str, Any]) -> str:
    """A small table for the terminal."""
    lines = ["", "queue      offered  answered  abandoned  service level"]
    for name, q in result["queues"].items():
        sl = "-" if q["service_level"] is None else f"{q['service_level']:.0%}"
        lines.append(
            f"{name:<10} {q['offered']:>7}  {q['answered']:>8}  {q['abandoned']:>9}  {sl:>13}"
        )
    lines += ["", "advisor  calls  occupancy  now"]
    for agent_id, a in result["agents"].items():
        lines.append(f"{agent_id:<8} {a['calls']:>5}  {a['occupancy']:>9.0%}  {a['activity']}")
    pbx = result["pbx"]
    lines += [
        "",
        f"pbxsim: {pbx.get('calls_placed', 0)} calls placed, "
        f"{pbx.get('reached_daemon', 0)} reached the daemon, {pbx.get('fallbacks', 0)} fell back",
    ]
    return "\n".join(lines)
