"""Load a real Asterisk running acd's dialplan with SIPp advisors' phones and callers.

    python -m tests.sipp.load write-config --advisors 20 --out /tmp/acd-load
    (add /tmp/acd-load/agents.toml to acd.toml, generate the endpoints with
     `acd pjsip-endpoints -c acd.toml --passwords /tmp/acd-load/passwords.toml`, include
     asterisk-config/pjsip_loadtest.conf in pjsip.conf, reload Asterisk and acd)
    python -m tests.sipp.load run --asterisk 127.0.0.1:5060 --advisors 20 \
        --passwords /tmp/acd-load/passwords.toml --rate 2 --calls 200 --number 100

Each advisor is one SIPp instance that REGISTERs with digest auth (advisor-register.xml) and
answers qualify OPTIONS and calls (advisor-phone.xml out of call); one SIPp instance places the
calls (caller.xml) at the given rate. The advisors still have to log in to acd (feature code *40
and their PIN, or the HTTP API) before calls reach them. At the end the callers' and advisors'
logs are joined into a summary: calls offered, answered, abandoned; wait and ring times. Every
SIPp instance is bounded in time and stopped when the run ends.
"""

from __future__ import annotations

import argparse
import math
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tests.sipp.harness import (
    Sipp,
    local_ports,
    render,
    scenario,
    sipp_path,
    stopped_at_exit,
    summarize,
)

FIRST_ENDPOINT = 1001


def write_config(advisors: int, first: int, queues: Sequence[str], out: Path) -> None:
    """acd.toml [agents.*] for the load advisors and their SIP passwords (random, 24 chars)."""
    out.mkdir(parents=True, exist_ok=True)
    agents = []
    passwords = []
    for n in range(advisors):
        endpoint = first + n
        agent_id = f"load{endpoint}"
        queue_list = ", ".join(f'"{q}"' for q in queues)
        agents.append(
            f"[agents.{agent_id}]\n"
            f'name = "Conseiller de charge {n + 1}"\n'
            f'endpoint = "PJSIP/{endpoint}"\n'
            f'pin = "{1000 + n % 9000:04d}"\n'
            f"skills = {{ french = 4, english = 4, support = 4, billing = 4 }}\n"
            f"queues = [{queue_list}]\n"
        )
        passwords.append(f'{agent_id} = "{secrets.token_urlsafe(18)}"\n')
    (out / "agents.toml").write_text("\n".join(agents), encoding="utf-8")
    passwords_file = out / "passwords.toml"
    passwords_file.write_text("".join(passwords), encoding="utf-8")
    passwords_file.chmod(0o600)
    print(f"wrote {out / 'agents.toml'} and {passwords_file}")


def read_passwords(path: Path) -> dict[str, str]:
    """The passwords file written by write-config (advisor id = "password")."""
    import tomllib

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def run(args: argparse.Namespace) -> int:
    """Register the advisors, place the calls, wait, print the summary."""
    if sipp_path() is None:
        print("sipp is not installed (apt-get install sip-tester)", file=sys.stderr)
        return 2
    passwords = read_passwords(Path(args.passwords))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="acd-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    duration_s = args.calls / args.rate + (args.patience_ms + args.talk_ms) / 1000 + 30
    phone = render(
        "advisor-phone.xml", {"answer": args.ring_ms, "advisor_bye": args.talk_ms}, workdir
    )
    modes = ["busy"] * args.busy + ["noanswer"] * args.noanswer
    advisors = []
    for n in range(args.advisors):
        endpoint = str(args.first + n)
        password = passwords.get(f"load{endpoint}")
        if password is None:
            print(f"no password for load{endpoint} in {args.passwords}", file=sys.stderr)
            return 2
        mode = modes[n] if n < len(modes) else "answer"
        advisors.append(
            Sipp(
                f"advisor-{endpoint}",
                [
                    "-sf",
                    scenario("advisor-register.xml"),
                    "-oocsf",
                    phone,
                    "-m",
                    "1",
                    "-key",
                    "user",
                    endpoint,
                    "-key",
                    "expires",
                    str(math.ceil(duration_s) + 60),
                    "-au",
                    endpoint,
                    "-ap",
                    password,
                    "-set",
                    "registered_ms",
                    str(int(duration_s * 1000)),
                    "-set",
                    "mode",
                    mode,
                    "-set",
                    "transfer_to",
                    args.transfer_to,
                    *local_ports(args.local_ip),
                    args.asterisk,
                ],
                workdir,
            )
        )
    callers = Sipp(
        "callers",
        [
            "-sf",
            render(
                "caller.xml", {"abandon": args.patience_ms, "caller_bye": args.hold_ms}, workdir
            ),
            "-inf",
            args.callers_csv or scenario("callers.csv"),
            "-s",
            args.number,
            "-m",
            str(args.calls),
            "-r",
            str(args.rate),
            "-l",
            str(args.max_calls),
            *local_ports(args.local_ip),
            "-timeout",
            f"{math.ceil(duration_s)}s",
            args.asterisk,
        ],
        workdir,
    )
    with stopped_at_exit([*advisors, callers]):
        for advisor in advisors:
            advisor.start()
        # fixed-sleep: the operator's settle time, for the phones to register with Asterisk
        time.sleep(args.settle_s)
        callers.start()
        callers_rc = callers.wait(duration_s + 30)
        for advisor in advisors:
            advisor.stop()
    events = callers.events()
    for advisor in advisors:
        events += advisor.events()
    summary = summarize(events)
    print(f"logs in {workdir}")
    for line in summary.lines():
        print(line)
    return 0 if callers_rc == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``write-config`` or ``run``."""
    parser = argparse.ArgumentParser(prog="python -m tests.sipp.load", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    config = commands.add_parser("write-config", help="acd.toml agents + SIP passwords")
    config.add_argument("--advisors", type=int, default=10)
    config.add_argument("--first", type=int, default=FIRST_ENDPOINT)
    config.add_argument("--queues", nargs="+", default=["support", "billing", "support_en"])
    config.add_argument("--out", type=Path, required=True)
    load = commands.add_parser("run", help="register advisors, place calls, summarize")
    load.add_argument("--asterisk", required=True, help="HOST:PORT of Asterisk's SIP transport")
    load.add_argument("--local-ip", default="127.0.0.1")
    load.add_argument("--advisors", type=int, default=10)
    load.add_argument("--first", type=int, default=FIRST_ENDPOINT)
    load.add_argument("--passwords", required=True)
    load.add_argument("--number", default="100", help="the queue number the callers dial")
    load.add_argument("--calls", type=int, default=100)
    load.add_argument("--rate", type=float, default=1.0, help="new calls per second")
    load.add_argument("--max-calls", type=int, default=500, help="simultaneous calls at most")
    load.add_argument("--patience-ms", type=int, default=30_000)
    load.add_argument("--hold-ms", type=int, default=180_000)
    load.add_argument("--ring-ms", type=int, default=2_000)
    load.add_argument("--talk-ms", type=int, default=20_000)
    load.add_argument("--busy", type=int, default=0, help="advisors whose phone replies 486")
    load.add_argument("--noanswer", type=int, default=0, help="advisors who never answer")
    load.add_argument("--transfer-to", default="8001")
    load.add_argument("--callers-csv")
    load.add_argument("--settle-s", type=float, default=3.0, help="wait after registering")
    load.add_argument("--workdir")
    args = parser.parse_args(argv)
    if args.command == "write-config":
        write_config(args.advisors, args.first, args.queues, args.out)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
