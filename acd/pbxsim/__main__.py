"""``python -m acd.pbxsim``: run the virtual Asterisk alone (benchmarks, demos, manual tests).

The last line printed on stdout is a JSON object with the counters, so scripts can parse it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
import sys
from pathlib import Path

from acd.pbxsim.config import AmiUser, DialplanConfig, PbxConfig, QueueConfig, Timings
from acd.pbxsim.people import AdvisorMix, CallerStream, Crowd, RateStep, advisor_phones, apply_mix
from acd.pbxsim.scenario import ScenarioError, load_scenario, play
from acd.pbxsim.sim import PbxSim
from acd.pbxsim.trunk import link


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acd pbxsim", description=__doc__)
    p.add_argument("--ami-host", default="127.0.0.1")
    p.add_argument("--ami-port", type=int, default=5038, help="0 picks a free port")
    p.add_argument("--ami-user", default="acd")
    p.add_argument("--ami-secret", default="acdsecret")
    p.add_argument("--ami-read", default="all", help="comma-separated event classes")
    p.add_argument("--agi-url", default="agi://127.0.0.1:4573/inbound")
    p.add_argument("--advisors", type=int, default=10, help="phones agent1..agentN")
    p.add_argument("--answer-delay", type=float, default=1.0, help="seconds a phone rings")
    p.add_argument("--talk-time", type=float, default=120.0, help="mean talk time, seconds")
    p.add_argument(
        "--talk-distribution", choices=("fixed", "exponential", "lognormal"), default="fixed"
    )
    p.add_argument("--never-answer", type=float, default=0.0, help="share of phones")
    p.add_argument("--busy", type=float, default=0.0, help="share of phones answering 486")
    p.add_argument("--unregistered", type=float, default=0.0, help="share of phones offline")
    p.add_argument("--queue", action="append", default=None, help="queue name (repeatable)")
    p.add_argument("--rate", type=float, default=0.0, help="new calls per second per queue")
    p.add_argument("--patience", type=float, default=60.0, help="mean caller patience, s; 0: never")
    p.add_argument(
        "--caller-talk-time",
        type=float,
        default=0.0,
        help="mean s before callers hang up; 0: never",
    )
    p.add_argument("--duration", type=float, default=0.0, help="seconds of arrivals; 0: none")
    p.add_argument("--run-for", type=float, default=0.0, help="exit after N s; 0: until signal")
    p.add_argument("--fallback-queue", default="support", help="'' disables the fallback")
    p.add_argument(
        "--answer",
        type=float,
        default=None,
        help="seconds every answer takes: callers are then silent ones (SIPp, no RTP; the lab's "
        "0.5); without it callers send audio and an answer takes 3 ms (docs/pbxsim.md)",
    )
    p.add_argument(
        "--agi-command-delay",
        type=float,
        default=0.0003,
        help="seconds each AGI command's round trip costs (default: the recorded median)",
    )
    p.add_argument(
        "--boxes",
        type=int,
        default=1,
        help="several boxes in this process (b1..bN, AMI on --ami-port and the next ports, "
        "phones b1agent1..., pbx=bK in each box's AGI URL), joined two by two by inter-PBX "
        "trunks (on box J, endpoint pbx-bK reaches box K); --advisors and --rate are per box",
    )
    p.add_argument(
        "--ramp",
        default="",
        help="arrival steps 'SECONDS:RATE,...' (per queue and box) replacing --rate, e.g. "
        "'0:5,30:10,60:20'",
    )
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--scenario",
        default=None,
        help="a scenario file (TOML, docs/pbxsim.md): its phones, callers and queues replace "
        "the options above; it ends when its calls are over (or at --run-for)",
    )
    return p


def build_config(args: argparse.Namespace, box: str = "") -> PbxConfig:
    """The box's configuration (``box``: one of ``--boxes``, its name prefixes its phones)."""
    phones = advisor_phones(args.advisors, prefix=f"{box}agent")
    members = tuple(phone.name for phone in phones)
    fallback = args.fallback_queue or None
    queues = (QueueConfig(name=fallback, members=members),) if fallback else ()
    agi_url = args.agi_url
    ami_port = args.ami_port
    if box:
        agi_url += f"{'&' if '?' in agi_url else '?'}pbx={box}"
        ami_port = ami_port + int(box[1:]) - 1 if ami_port else 0
    return PbxConfig(
        ami_host=args.ami_host,
        ami_port=ami_port,
        agi_url=agi_url,
        systemname=f"pbx-{box}" if box else "",
        ami_users=(
            AmiUser(
                args.ami_user,
                args.ami_secret,
                read=tuple(c.strip() for c in args.ami_read.split(",") if c.strip()),
            ),
        ),
        phones=phones,
        queues=queues,
        dialplan=DialplanConfig(fallback_queue=fallback),
        timings=Timings(
            answer=0.5 if args.answer is None else args.answer,
            callers_send_audio=args.answer is None,
            agi_command=args.agi_command_delay,
            time_scale=args.time_scale,
        ),
        seed=args.seed,
    )


async def run_scenario(args: argparse.Namespace) -> dict[str, int]:
    """Replay a scenario file: place its callers, wait for their calls to end."""
    scenario = load_scenario(Path(args.scenario), base=build_config(args))
    sim = PbxSim(scenario.config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with sim:
        print(
            json.dumps(
                {"event": "pbxsim_started", "ami_port": sim.ami_port, "scenario": scenario.name}
            ),
            file=sys.stderr,
            flush=True,
        )

        story = asyncio.create_task(play(scenario, sim))
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait(
            {story, waiter}, timeout=args.run_for or None, return_when=asyncio.FIRST_COMPLETED
        )
        for task in (story, waiter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return sim.counters


def arrival_profile(args: argparse.Namespace) -> tuple[RateStep, ...]:
    """``--ramp`` as rate steps, else ``--rate`` from the start."""
    if not args.ramp:
        return (RateStep(0.0, args.rate),)
    steps = []
    for part in args.ramp.split(","):
        start, _, rate = part.partition(":")
        steps.append(RateStep(float(start), float(rate)))
    return tuple(steps)


async def run(args: argparse.Namespace) -> dict[str, int]:
    if args.scenario:
        return await run_scenario(args)
    names = [f"b{k}" for k in range(1, args.boxes + 1)] if args.boxes > 1 else [""]
    sims = [PbxSim(build_config(args, name)) for name in names]
    for j, a in enumerate(sims):
        for b in sims[j + 1 :]:
            link(
                a.pbx,
                b.pbx,
                a_to_b=f"pbx-{b.config.systemname[4:]}",
                b_to_a=f"pbx-{a.config.systemname[4:]}",
            )
    for index, sim in enumerate(sims):
        apply_mix(
            sim,
            AdvisorMix(
                answer_delay=args.answer_delay,
                mean_talk_time=args.talk_time,
                talk_distribution=args.talk_distribution,
                never_answer=args.never_answer,
                busy=args.busy,
                unregistered=args.unregistered,
            ),
            seed=args.seed + index,
        )
    if len(sims) == 1:
        return await run_box(args, sims[0])
    async with contextlib.AsyncExitStack() as stack:
        for sim in sims:
            await stack.enter_async_context(sim)
        ports = {name: sim.ami_port for name, sim in zip(names, sims, strict=True)}
        print(
            json.dumps({"event": "pbxsim_started", "ami_ports": ports}),
            file=sys.stderr,
            flush=True,
        )
        await serve(args, sims)
    totals: dict[str, int] = {}
    for sim in sims:
        for key, value in sim.counters.items():
            totals[key] = totals.get(key, 0) + value
    return totals


async def run_box(args: argparse.Namespace, sim: PbxSim) -> dict[str, int]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with sim:
        # Asterisk is C: it never stops the world to collect garbage. A full collection of
        # this process's heap (a thousand phones, their channels) took 65-125 ms in the e2e bench
        # and every reply to the daemon waited for it: keep what start-up built out of the
        # collector's way and collect the old generation rarely, as the daemon does.
        gc.freeze()
        gc.set_threshold(700, 10, 100)
        print(
            json.dumps({"event": "pbxsim_started", "ami_port": sim.ami_port}),
            file=sys.stderr,
            flush=True,
        )
        await serve(args, [sim], stop)
    return sim.counters


async def serve(
    args: argparse.Namespace, sims: list[PbxSim], stop: asyncio.Event | None = None
) -> None:
    """Place each box's callers until ``--run-for`` or a signal."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        gc.freeze()
        gc.set_threshold(700, 10, 100)
    crowd_tasks = []
    if (args.rate > 0 or args.ramp) and args.duration > 0:
        for index, sim in enumerate(sims):
            streams = tuple(
                CallerStream(
                    queue=queue,
                    profile=arrival_profile(args),
                    mean_patience=args.patience or None,
                    mean_talk_time=args.caller_talk_time or None,
                )
                for queue in args.queue or ["support"]
            )
            crowd = Crowd(sim, streams, duration=args.duration, seed=args.seed + index)
            crowd_tasks.append(asyncio.create_task(crowd.run()))
    waiter = asyncio.create_task(stop.wait())
    timeout = args.run_for or None
    await asyncio.wait({waiter}, timeout=timeout)
    waiter.cancel()
    for task in crowd_tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        counters = asyncio.run(run(args))
    except ScenarioError as error:
        print(f"acd pbxsim: {error}", file=sys.stderr)
        return 2
    print(json.dumps(counters), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
