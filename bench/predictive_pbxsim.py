"""Benchmark of the live daemon's predictive dialer: acd against pbxsim, real sockets, real pacing.

    .venv/bin/python bench/predictive_pbxsim.py [--advisors 8] [--seconds 240] [--seed 7]

``bench/predictive.py`` validates the pacing over a campaign day in the simulator; this one runs
the same pacer inside the daemon (``acd.campaign_dialer``) with the contacts' legs over AMI and
FastAGI on pbxsim: every dial an AMI Originate, every answered contact a FastAGI session waiting
in the engine's line at most 2 s, the advisor dialed from it or the short message played. Time
is compressed for everything but the law: conversations last 30 s on average (exponential,
pbxsim counts them from the contact's answer), people answer after 1.5 s (log-normal), unanswered
dials ring out after 6 s, while the 2 s an answered contact may wait stays 2 s. So the ratio of
wait to handle time is kinder than a real day's, and a few minutes hold few answers (the pacer
dials progressively until 50 dials have a result): the figures to read are that the loop holds
(abandons under the cap, every attempt recorded against pbxsim's Originates), not the occupancy
of a real centre, which ``bench/predictive.py`` measures over a day.

The last line is JSON, computed from the records (``CampaignStore.figures``): dials, reached,
abandon_rate, outbound_occupancy, contacts_per_advisor_hour, and the attempts recorded against
the Originates pbxsim saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from acd.app import Daemon
from acd.pbxsim.config import DialplanConfig, PbxConfig, PhoneConfig, QueueConfig, Timings
from acd.pbxsim.contacts import ContactPopulation, add_contacts
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from acd.storage.campaign_csv import parse_contacts_csv
from acd.storage.campaigns import CampaignStore
from acd.storage.schema import upgrade_schema

POPULATION = ContactPopulation(
    human=0.3,
    machine=0.05,
    busy=0.1,
    answer_mean_s=1.5,
    answer_sd_s=0.7,
    min_answer_s=0.5,
    talk_mean_s=30.0,
    talk_distribution="exponential",
    machine_greeting_s=2.0,
)


def settings(ami_port: int, database: Path, advisors: list[str]) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0, "enabled": False},
            "logging": {"level": "warning"},
            "database": {
                "url": f"sqlite:///{database}",
                "spool_dir": str(database.parent / "spool"),
                "flush_ms": 50,
            },
            "outbound": {"trunk": "PJSIP/{number}", "originate_timeout_s": 6, "dial_tick_s": 0.25},
            "queues": {
                "support": {
                    "announce_interval_s": None,
                    "wrap_up_s": 0.5,
                    "expected_handle_s": 30.0,
                }
            },
            "agents": {a: {"endpoint": f"PJSIP/{a}", "queues": ["support"]} for a in advisors},
            "campaigns": {
                "bench": {
                    "queue": "support",
                    "mode": "predictive",
                    "caller_id": "+33162000001",
                    "company": "Exemple SA",
                    "offer": "une offre",
                    "retry_minutes": {"busy": 600, "no_answer": 600, "machine": 600},
                }
            },
        }
    )


async def run(advisors: int, seconds: float, seed: int) -> dict[str, Any]:
    names = [f"agent{i:02d}" for i in range(1, advisors + 1)]
    numbers = [f"+3319900{i:04d}" for i in range(int(seconds * advisors * 2) + 200)]
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "acd.sqlite3"
        url = f"sqlite:///{database}"
        await upgrade_schema(url)
        store = CampaignStore(url)
        rows = ["number,legal_basis,given_at,proof_ref,any_time_proof"]
        rows += [f"{n},consent,2026-09-01,f{i},a{i}" for i, n in enumerate(numbers)]
        parsed = parse_contacts_csv("\n".join(rows).encode(), "FR", "Europe/Paris")
        await store.import_contacts("bench", parsed.contacts, at=1.0)
        await store.set_state("bench", "running", at=1.0)
        await store.close()
        config = PbxConfig(
            phones=tuple(
                PhoneConfig(name=a, number=f"1{i:03d}", display_name=a) for i, a in enumerate(names)
            ),
            queues=(QueueConfig(name="support", members=tuple(f"PJSIP/{a}" for a in names)),),
            dialplan=DialplanConfig(fallback_queue="support", fallback_timeout=3.0),
            timings=Timings(answer=0.01, login_failure_delay=0.01),
        )
        originates = 0
        async with PbxSim(config) as pbx:
            for name in names:
                pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05)  # auto-answer
            add_contacts(pbx.pbx, numbers, POPULATION, seed)

            def witness(event: AmiEvent) -> None:
                nonlocal originates
                originates += event.name == "OriginateResponse"

            pbx.subscribe(witness)
            daemon = Daemon(settings(pbx.ami_port, database, names), auto_login=True, persist=True)
            task = asyncio.create_task(daemon.run())
            started = time.time()
            try:
                await asyncio.wait_for(daemon.started.wait(), 10)
                await asyncio.sleep(seconds)
                assert daemon.dialer is not None
                # No new dial; let the ones under way end and be recorded.
                await daemon.dialer.set_state("bench", "paused", by="bench")
                deadline = time.monotonic() + 120
                while daemon.outbound is not None and daemon.outbound.active:
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
            finally:
                daemon.stop()
                await asyncio.wait_for(task, 30)
            stopped = time.time()
        store = CampaignStore(url)
        try:
            figures = await store.figures("bench", start=started - 1, stop=stopped + 1)
            progress = await store.progress("bench", now=stopped)
        finally:
            await store.close()
    busy = figures.outbound_occupancy
    return {
        "mode": "predictive",
        "advisors": advisors,
        "seconds": seconds,
        "originates": originates,
        "dials": figures.dials,
        "reached": figures.reached,
        "outcomes": progress.outcomes,
        "abandon_rate": round(figures.abandon_rate, 4),
        "abandon_rate_15min": round(progress.abandon_rate_15min, 4),
        "outbound_occupancy": None if busy is None else round(busy, 4),
        "contacts_per_advisor_hour": round(figures.contacts_per_advisor_hour, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisors", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    result = asyncio.run(run(args.advisors, args.seconds, args.seed))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
