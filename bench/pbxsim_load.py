"""Load benchmark of the virtual Asterisk (``python -m acd.pbxsim``) in its own process.

pbxsim places 50 new calls/s (Poisson) for ``--duration`` seconds, 1,000 advisors' phones answer
after 0.5 s and talk 18 s, so with ANSWER and ringing a call is handled in about 20 s and about
1,000 calls are in progress. This process plays the daemon: a FastAGI server (ANSWER, MOH, EXEC
Dial to the next advisor, round robin) and one AMI client with all events on, counting them.

Measured: arrivals per second pbxsim actually placed, the calls answered through the FastAGI path,
the peak of calls in progress (from AMI), and pbxsim's CPU time per call (the child's rusage).
The last line of output is JSON with ``calls_per_s`` and ``cpu_ms_per_call``.

    python bench/pbxsim_load.py                 # 50 calls/s for 40 s
    python bench/pbxsim_load.py --rate 20 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import resource
import sys
import time


class Daemon:
    """The daemon's side of each call: ANSWER, MOH, Dial the next advisor, hang up."""

    def __init__(self, advisors: int) -> None:
        self.next_advisor = itertools.cycle(range(1, advisors + 1))
        self.sessions = 0
        self.answered = 0
        self.failed = 0

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        try:
            while (await reader.readline()) not in (b"\n", b""):
                pass

            async def command(text: str) -> bytes:
                writer.write(text.encode() + b"\n")
                while True:
                    line = await asyncio.wait_for(reader.readline(), 120)
                    if line != b"HANGUP\n":
                        return line

            await command("ANSWER")
            await command("SET VARIABLE ACD_STATE queued")
            await command("SET MUSIC ON default")
            await command("SET VARIABLE ACD_STATE connected")
            await command(f"EXEC Dial PJSIP/agent{next(self.next_advisor)},30,m")
            status = await command("GET VARIABLE DIALSTATUS")
            if b"(ANSWER)" in status:
                self.answered += 1
            else:
                self.failed += 1
        except (ConnectionError, TimeoutError):
            self.failed += 1
        finally:
            writer.close()


class AmiWatcher:
    """Logs in, counts events and tracks the calls in progress (caller channels alive)."""

    def __init__(self) -> None:
        self.events = 0
        self.live_callers = 0
        self.peak_callers = 0

    async def run(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"Action: Login\r\nUsername: acd\r\nSecret: acdsecret\r\nEvents: call\r\n\r\n")
        buffer = b""
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            buffer += data
            *messages, buffer = buffer.split(b"\r\n\r\n")
            for message in messages:
                self.events += 1
                if not message.startswith(b"Event: Newchannel") and not message.startswith(
                    b"Event: Hangup\r"
                ):
                    continue
                if b"Channel: PJSIP/callers-" not in message:
                    continue
                if message.startswith(b"Event: Newchannel"):
                    self.live_callers += 1
                    self.peak_callers = max(self.peak_callers, self.live_callers)
                else:
                    self.live_callers -= 1


async def run(args: argparse.Namespace) -> dict[str, object]:
    daemon = Daemon(args.advisors)
    server = await asyncio.start_server(daemon.session, "127.0.0.1", 0, backlog=1024)
    agi_port = server.sockets[0].getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "acd.pbxsim",
        "--ami-port",
        "0",
        "--agi-url",
        f"agi://127.0.0.1:{agi_port}/inbound",
        "--advisors",
        str(args.advisors),
        "--answer-delay",
        "0.5",
        "--talk-time",
        str(args.talk_time),
        "--talk-distribution",
        "fixed",
        "--rate",
        str(args.rate),
        "--duration",
        str(args.duration),
        "--patience",
        "0",
        "--run-for",
        str(args.duration + args.talk_time + 8),
        "--seed",
        "1",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    assert process.stdout is not None
    started = json.loads(await asyncio.wait_for(process.stderr.readline(), 30))
    watcher = AmiWatcher()
    watch = asyncio.create_task(watcher.run(started["ami_port"]))
    began = time.monotonic()
    stdout, _ = await process.communicate()
    wall = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await watch
    server.close()
    counters = json.loads(stdout.decode().strip().splitlines()[-1])
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    placed = int(counters["calls_placed"])
    return {
        "calls_per_s": round(placed / args.duration, 2),
        "cpu_ms_per_call": round(cpu_s * 1000 / max(placed, 1), 3),
        "pbxsim_cpu_share": round(cpu_s / wall, 3),
        "calls_placed": placed,
        "answered_by_acd": counters["answered_by_acd"],
        "daemon_answered": daemon.answered,
        "daemon_failed": daemon.failed,
        "peak_calls_in_progress": watcher.peak_callers,
        "ami_events": watcher.events,
        "channels_leaked": counters["channels_created"] - counters["channels_destroyed"],
        "advisors": args.advisors,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0, help="new calls per second")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of arrivals")
    parser.add_argument("--talk-time", type=float, default=18.0, help="seconds per conversation")
    parser.add_argument("--advisors", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for key, value in result.items():
        if key != "machine":
            print(f"{key:>24}: {value}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
