"""Benchmark of the pure routing engine (``acd.core``) under a realistic virtual-time load.

5,000 advisors, 200 distinct skills, 100 queues with three relaxing routing steps, about 5,000
calls waiting at any time (plus one per busy advisor), garbage collection on. A closed loop keeps
the load steady: each call that leaves the system is replaced by a new arrival shortly after.
The mix: arrivals, rings answered (90 %) or not (NOANSWER/BUSY), conversations ending, wrap-up
timers, relaxation and max-wait timers, prompts, caller hang-ups (abandons), a few pauses and
recovery pauses.

Only ``Engine.handle`` is timed (per call, ``perf_counter_ns``); the driver is not. The last line
of output is JSON: ``events_per_s`` and ``handle_p99_us`` for the default policy, per-policy
figures and the machine.

    python bench/core_routing.py            # all five policies
    python bench/core_routing.py --events 50000 --policies longest_idle
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import heapq
import json
import os
import platform
import random
import sys
import time
from typing import Any

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import AcdConfig, AgentConfig, OverflowTarget, Policy, QueueConfig, RoutingStep
from acd.core.engine import Engine
from acd.core.errors import WorkloadLimitError

N_AGENTS = 5_000
N_SKILLS = 200
N_QUEUES = 100
QUEUES_PER_AGENT = 3
WAITING_TARGET = 5_000


def build_config(policy: Policy, rng: random.Random) -> AcdConfig:
    """100 queues (two skills each, three steps) and 5,000 advisors serving three queues each."""
    queues = []
    for q in range(N_QUEUES):
        a, b = f"s{2 * q}", f"s{2 * q + 1}"
        queues.append(
            QueueConfig(
                name=f"q{q}",
                steps=(
                    RoutingStep(f"{a}>=4 and {b}>=3", 30.0),
                    RoutingStep(f"{a}>=2", 60.0),
                    RoutingStep("any"),
                ),
                policy=policy,
                weight=float(rng.choice((1, 1, 2, 3))),
                max_wait_s=1800.0,
                overflow=OverflowTarget.parse("extension:voicemail@acd"),
                announce_interval_s=45.0,
                wrap_up_s=10.0,
                ring_timeout_s=15.0,
            )
        )
    agents = []
    for i in range(N_AGENTS):
        served = rng.sample(range(N_QUEUES), QUEUES_PER_AGENT)
        skills: dict[str, int] = {}
        for q in served:
            skills[f"s{2 * q}"] = rng.randint(1, 5)
            skills[f"s{2 * q + 1}"] = rng.randint(1, 5)
        for s in rng.sample(range(N_SKILLS), 2):
            skills.setdefault(f"s{s}", rng.randint(1, 5))
        agents.append(
            AgentConfig(
                id=f"a{i}",
                name=f"Advisor {i}",
                skills=skills,
                queues=tuple(f"q{q}" for q in served),
                wrap_up_s=rng.choice((None, None, 5.0, 20.0)),
            )
        )
    return AcdConfig(queues=tuple(queues), agents=tuple(agents))


class Driver:
    """Virtual time: a heap of due events; executes the engine's commands like a PBX would."""

    def __init__(self, engine: Engine, rng: random.Random) -> None:
        self.engine = engine
        self.rng = rng
        self.heap: list[tuple[float, int, Any]] = []
        self.seq = 0
        self.timers: dict[str, float] = {}
        self.call_no = 0
        self.live: dict[str, int] = {}  # call id -> presentation number (stale rings are dropped)
        self.answered: set[str] = set()
        self.latencies: list[int] = []
        self.handled = 0
        self.kinds: dict[str, int] = {}
        self.timing = False
        self.agents = [a.id for a in engine.config.agents]
        self.queues = [q.name for q in engine.config.queues]

    def at(self, t: float, item: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, item))

    def new_call(self, t: float) -> None:
        self.call_no += 1
        call_id = f"c{self.call_no}"
        rng = self.rng
        priority = 1 if rng.random() < 0.1 else 0
        # Scheduled items are tuples of plain values (the GC soon stops tracking them), so the
        # driver's own agenda does not weigh on the collections that land inside handle().
        self.at(t, ("arrive", call_id, rng.choice(self.queues), priority))
        # Caller patience: most wait long, some give up early.
        patience = rng.expovariate(1 / 900.0)
        self.at(t + patience, ("abandon", call_id))

    def feed(self, event: Any) -> None:
        engine = self.engine
        if self.timing:
            t0 = time.perf_counter_ns()
            out = engine.handle(event)
            self.latencies.append(time.perf_counter_ns() - t0)
            name = type(event).__name__
            self.kinds[name] = self.kinds.get(name, 0) + 1
        else:
            out = engine.handle(event)
        self.handled += 1
        self.execute(event.at, out)

    def execute(self, now: float, commands: list[cmd.Command]) -> None:
        rng = self.rng
        for c in commands:
            if isinstance(c, cmd.StartTimer):
                self.timers[c.timer_id] = c.fire_at
                self.at(c.fire_at, ("timer", c.timer_id))
            elif isinstance(c, cmd.CancelTimer):
                self.timers.pop(c.timer_id, None)
            elif isinstance(c, cmd.RingAgent):
                n = self.live.get(c.call_id, 0) + 1
                self.live[c.call_id] = n
                r = rng.random()
                if r < 0.90:
                    self.at(now + rng.uniform(2, 8), ("answer", c.call_id, c.agent_id, n))
                elif r < 0.97:
                    self.at(now + c.ring_timeout_s, ("miss", c.call_id, c.agent_id, n, "NOANSWER"))
                else:
                    self.at(now + 0.05, ("miss", c.call_id, c.agent_id, n, "BUSY"))
            elif isinstance(c, cmd.PlayPrompt):
                self.at(now + 6.0, ("prompt_end", c.call_id))
            elif isinstance(c, cmd.CallCompleted):
                if c.outcome.value != "answered":
                    self.gone(now, c.call_id)
            elif isinstance(c, cmd.RecordAgentState) and c.new == "wrap_up" and rng.random() < 0.02:
                kind = "recovery" if rng.random() < 0.5 else "pause"
                self.at(now + 1.0, (kind, c.agent_id))

    def gone(self, now: float, call_id: str) -> None:
        self.live.pop(call_id, None)
        self.answered.discard(call_id)
        self.new_call(now + self.rng.expovariate(2.0))

    def step(self) -> None:
        t, _, item = heapq.heappop(self.heap)
        kind = item[0]
        if kind == "arrive":
            _, call_id, queue, priority = item
            self.live[call_id] = 0
            number = f"+3361{call_id[1:]:0>7}"
            self.feed(
                ev.CallArrived(
                    at=t, call_id=call_id, queue=queue, priority=priority, caller_number=number
                )
            )
        elif kind == "prompt_end":
            if item[1] in self.live:
                self.feed(ev.PromptEnded(at=t, call_id=item[1]))
        elif kind == "timer":
            if self.timers.pop(item[1], None) is not None:
                self.feed(ev.TimerFired(at=t, timer_id=item[1]))
        elif kind == "answer":
            _, call_id, agent_id, n = item
            if self.live.get(call_id) == n and call_id not in self.answered:
                self.answered.add(call_id)
                self.feed(ev.AgentAnswered(at=t, call_id=call_id, agent_id=agent_id))
                talk = self.rng.lognormvariate(4.6, 0.6)  # median ~100 s
                self.at(t + talk, ("end", call_id))
        elif kind == "miss":
            _, call_id, agent_id, n, status = item
            if self.live.get(call_id) == n and call_id not in self.answered:
                self.feed(
                    ev.AgentDidNotAnswer(
                        at=t, call_id=call_id, agent_id=agent_id, dial_status=ev.DialStatus(status)
                    )
                )
        elif kind == "end":
            call_id = item[1]
            if call_id in self.answered:
                self.feed(ev.CallEnded(at=t, call_id=call_id))
                self.gone(t, call_id)
        elif kind == "abandon":
            call_id = item[1]
            if call_id in self.live and call_id not in self.answered:
                self.feed(ev.CallerHungUp(at=t, call_id=call_id))
        elif kind == "pause":
            agent_id = item[1]
            view = self.engine.agent_view(agent_id)
            if view.activity.value in ("available", "wrap_up"):
                self.feed(ev.AgentPaused(at=t, agent_id=agent_id, reason="break"))
                self.at(t + 120.0, ("ready", agent_id))
        elif kind == "recovery":
            agent_id = item[1]
            view = self.engine.agent_view(agent_id)
            if view.activity.value in ("available", "wrap_up"):
                # Refused beyond the limit, with nothing changed: the advisor carries on.
                with contextlib.suppress(WorkloadLimitError):
                    self.feed(ev.RecoveryPauseRequested(at=t, agent_id=agent_id))
        elif kind == "ready":
            agent_id = item[1]
            if self.engine.agent_view(agent_id).activity.value == "paused":
                self.feed(ev.AgentReady(at=t, agent_id=agent_id))


def run(policy: Policy, n_events: int, seed: int, *, freeze: bool = True) -> dict[str, Any]:
    rng = random.Random(seed)
    config = build_config(policy, rng)
    engine = Engine(config)
    driver = Driver(engine, rng)
    for agent_id in driver.agents:
        driver.feed(ev.AgentLoggedIn(at=0.0, agent_id=agent_id))
    for i in range(N_AGENTS + WAITING_TARGET):
        driver.new_call(0.001 * i)
    # Warm up until the queues hold their steady load, then time n_events handle calls.
    while driver.handled < 3 * (N_AGENTS + WAITING_TARGET):
        driver.step()
    if freeze:
        # What a long-running daemon does after loading its configuration: move the objects
        # that live forever out of the collector's way. Collection stays on for everything new.
        gc.collect()
        gc.freeze()
    driver.timing = True
    start_virtual = driver.heap[0][0]
    while len(driver.latencies) < n_events:
        driver.step()
    if freeze:
        gc.unfreeze()
    lat = sorted(driver.latencies)
    total_ns = sum(lat)
    waiting = sum(len(q.waiting) for q in engine.snapshot().queues)
    return {
        "policy": policy.value,
        "events": len(lat),
        "events_per_s": round(len(lat) / (total_ns / 1e9)),
        "handle_mean_us": round(total_ns / len(lat) / 1000, 2),
        "handle_p50_us": round(lat[len(lat) // 2] / 1000, 2),
        "handle_p99_us": round(lat[int(len(lat) * 0.99)] / 1000, 2),
        "handle_max_us": round(lat[-1] / 1000, 1),
        "virtual_s": round(driver.heap[0][0] - start_virtual, 1),
        "waiting_calls_at_end": waiting,
        "event_mix": dict(sorted(driver.kinds.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="timed events per policy")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-freeze", action="store_true", help="do not gc.freeze() the warmed-up state"
    )
    parser.add_argument(
        "--policies", default=",".join(p.value for p in Policy), help="comma-separated"
    )
    args = parser.parse_args()
    gc.enable()
    results = {}
    for name in args.policies.split(","):
        res = run(Policy(name), args.events, args.seed, freeze=not args.no_freeze)
        results[name] = res
        print(
            f"{name:15} {res['events_per_s']:>8} events/s  p50 {res['handle_p50_us']:>6} us  "
            f"p99 {res['handle_p99_us']:>6} us  max {res['handle_max_us']:>8} us  "
            f"waiting {res['waiting_calls_at_end']}",
            file=sys.stderr,
        )
    default = results.get(Policy.LONGEST_IDLE.value) or next(iter(results.values()))
    machine = {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "gc_enabled": gc.isenabled(),
        "gc_thresholds": gc.get_threshold(),
        "gc_frozen_after_warmup": not args.no_freeze,
    }
    summary = {
        "benchmark": "core_routing",
        "agents": N_AGENTS,
        "skills": N_SKILLS,
        "queues": N_QUEUES,
        "waiting_target": WAITING_TARGET,
        "policy": default["policy"],
        "events_per_s": default["events_per_s"],
        "handle_p99_us": default["handle_p99_us"],
        "per_policy": {
            k: {
                "events_per_s": v["events_per_s"],
                "handle_p50_us": v["handle_p50_us"],
                "handle_p99_us": v["handle_p99_us"],
                "handle_max_us": v["handle_max_us"],
                "waiting_calls_at_end": v["waiting_calls_at_end"],
            }
            for k, v in results.items()
        },
        "event_mix": default["event_mix"],
        "machine": machine,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
