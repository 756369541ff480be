"""Simulated callers are seeded and reproducible; ``python -m acd.pbxsim`` runs standalone."""

from __future__ import annotations

import asyncio
import json
import random
import sys

from acd.pbxsim.people import Burst, CallerStream, RateStep, arrival_times, caller_identity
from tests.pbxsim.wire import TIMEOUT, RawAmi


def test_arrivals_follow_the_rate_profile_and_are_reproducible() -> None:
    """Same seed, same arrivals; the count follows the piecewise rate; bursts are added."""
    stream = CallerStream(
        "support",
        profile=(RateStep(0.0, 10.0), RateStep(50.0, 40.0)),
        bursts=(Burst(at=20.0, count=25),),
    )
    first = arrival_times(stream, 100.0, random.Random(4))
    again = arrival_times(stream, 100.0, random.Random(4))
    assert first == again
    early = sum(1 for t in first if t < 50.0)
    late = sum(1 for t in first if t >= 50.0)
    assert 450 < early < 600  # 500 Poisson + 25 burst
    assert 1800 < late < 2200
    assert first.count(20.0) >= 25


def test_callers_have_accented_names_and_french_numbers() -> None:
    """Caller identities are drawn from French names with accents and +336 numbers."""
    rng = random.Random(1)
    identities = [caller_identity(rng) for _ in range(50)]
    assert all(number.startswith("+336") and len(number) == 12 for number, _ in identities)
    assert any(any(ord(ch) > 127 for ch in name) for _, name in identities)


async def test_standalone_process_serves_ami_and_reports_counters() -> None:
    """The module runs in its own process, accepts an AMI login and prints JSON counters."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "acd.pbxsim",
        "--ami-port",
        "0",
        "--advisors",
        "3",
        "--agi-url",
        "agi://127.0.0.1:9/inbound",
        "--rate",
        "20",
        "--duration",
        "0.5",
        "--patience",
        "0.2",
        "--run-for",
        "1.5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    assert process.stdout is not None
    started = json.loads(await asyncio.wait_for(process.stderr.readline(), TIMEOUT))
    client = await RawAmi.connect(started["ami_port"])
    await client.login()
    await client.wait_for("Event: Newchannel")
    stdout = await asyncio.wait_for(process.stdout.read(), TIMEOUT)
    await asyncio.wait_for(process.wait(), TIMEOUT)
    await client.close()
    counters = json.loads(stdout.decode().strip().splitlines()[-1])
    assert process.returncode == 0
    assert counters["calls_placed"] > 3
    assert counters["ended_without_daemon"] == counters["calls_placed"]
    assert counters["channels_created"] == counters["channels_destroyed"]
