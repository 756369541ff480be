"""Run SIPp scenarios and read what they logged: shared by the loopback tests and ``load.py``.

Every scenario in ``scenarios/`` logs one line per event with ``<log>`` actions:
``caller EVENT NUMBER SECONDS MICROSECONDS`` and ``advisor EVENT CALLER SECONDS MICROSECONDS``,
where NUMBER is the caller's unique number (``field1-call_number``), which reaches the advisor's
phone as the INVITE's From user (Asterisk passes the caller id on). ``summarize`` joins both sides
on it: calls offered, answered, abandoned; wait and ring times.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
LOOPBACK = "127.0.0.1"


def sipp_path() -> str | None:
    """The ``sipp`` binary (Debian package sip-tester), or None."""
    return shutil.which("sipp")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def udp_port_bound(port: int) -> bool:
    """True when some socket is bound to UDP ``port`` on this host (read from /proc/net/udp)."""
    hex_port = f":{port:04X}"
    for table in (Path("/proc/net/udp"), Path("/proc/net/udp6")):
        if table.exists() and any(
            line.split()[1].endswith(hex_port)
            for line in table.read_text(encoding="ascii").splitlines()[1:]
        ):
            return True
    return False


def local_ports(address: str = LOOPBACK) -> list[str]:
    """SIPp's local address and two free UDP ports (signalling, media): ``-i``, ``-p``, ``-mp``."""
    return ["-i", address, "-p", str(free_udp_port()), "-mp", str(free_udp_port())]


@dataclass(slots=True)
class Sipp:
    """One SIPp instance: its scenario, arguments, log files and process."""

    name: str
    args: list[str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def error_file(self) -> Path:
        return self.workdir / f"{self.name}-errors.log"

    @property
    def screen_file(self) -> Path:
        return self.workdir / f"{self.name}-screen.txt"

    def command(self) -> list[str]:
        sipp = sipp_path()
        if sipp is None:
            raise FileNotFoundError("sipp is not installed (Debian package sip-tester)")
        return [
            sipp,
            *self.args,
            "-nostdin",
            "-trace_logs",
            "-log_file",
            str(self.log_file),
            "-trace_err",
            "-error_file",
            str(self.error_file),
        ]

    def start(self) -> None:
        """Start it in the background (its screen output goes to a file)."""
        with self.screen_file.open("wb") as screen:
            self.process = subprocess.Popen(
                self.command(), stdout=screen, stderr=subprocess.STDOUT, cwd=self.workdir
            )

    def wait_listening(self, within: float = 10.0) -> None:
        """Return once its signalling port (``-p``) is bound; fail if it exits or time runs out."""
        port = int(self.args[self.args.index("-p") + 1])
        deadline = time.monotonic() + within
        while not udp_port_bound(port):
            assert self.process is not None
            assert self.process.poll() is None, self.errors()
            assert time.monotonic() < deadline, f"{self.name} not listening on {port}"
            time.sleep(0.02)

    def wait(self, timeout: float) -> int:
        """Its exit status; killed (and reported as -9) if it outlives ``timeout`` seconds."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -9

    def stop(self) -> None:
        """Kill it if it still runs (cleanup after a failed test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def events(self) -> list[Event]:
        """The events it logged so far."""
        if not self.log_file.exists():
            return []
        return parse_log(self.log_file.read_text(encoding="utf-8", errors="replace").splitlines())

    def errors(self) -> str:
        """Its error log, minus SIPp's notes about our own 100 ms receive timeouts."""
        if not self.error_file.exists():
            return ""
        text = self.error_file.read_text(encoding="utf-8", errors="replace")
        # SIPp does not end its error entries with a newline: split on their timestamps.
        entries = re.split(r"(?=\d{4}-\d{2}-\d{2}\t\d{2}:\d{2})", text)
        return "\n".join(
            entry.strip()
            for entry in entries
            if "receive timeout on message" not in entry
            and "Received out-of-call" not in entry
            and entry.replace("The following events occurred:", "").strip()
        )


@contextlib.contextmanager
def stopped_at_exit(instances: Sequence[Sipp]) -> Iterator[None]:
    """Make sure no SIPp process outlives the block."""
    try:
        yield
    finally:
        for instance in instances:
            instance.stop()


def scenario(name: str) -> str:
    """Path of one of our scenario files."""
    path = SCENARIOS / name
    if not path.exists():
        raise FileNotFoundError(path)
    return str(path)


# SIPp has no run-time variable for a receive's timeout (and refuses an optional receive right
# before a pause or nop), so a scenario's timers are its receives' timeout attributes, named by
# the label they lead to, and each run gets its own copy with the values it wants.
_TIMER = re.compile(r'timeout="\d+"(\s+ontimeout="([\w-]+)")')


def render(name: str, timers: dict[str, int], workdir: Path) -> str:
    """A copy of scenario ``name`` in ``workdir`` with the given timers (label → ms)."""
    text = Path(scenario(name)).read_text(encoding="utf-8")
    found: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        label = match.group(2)
        if label not in timers:
            return match.group(0)
        found.add(label)
        return f'timeout="{int(timers[label])}"{match.group(1)}'

    text = _TIMER.sub(replace, text)
    missing = set(timers) - found
    if missing:
        raise ValueError(f"{name} has no timer leading to {sorted(missing)}")
    suffix = "-".join(f"{label}{timers[label]}" for label in sorted(timers))
    path = workdir / f"{Path(name).stem}-{suffix}.xml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@dataclass(frozen=True, slots=True)
class Event:
    """One logged line: who (caller/advisor/...), what, the call's key, when (epoch seconds)."""

    side: str
    kind: str
    key: str
    at: float
    extra: tuple[str, ...] = ()


def parse_log(lines: Iterable[str]) -> list[Event]:
    """Events from SIPp ``-log_file`` lines; lines of other shapes are ignored."""
    events = []
    for line in lines:
        parts = line.split()
        if len(parts) < 5 or parts[0] not in ("caller", "advisor"):
            continue
        try:
            at = float(parts[3]) + float(parts[4]) / 1_000_000
        except ValueError:
            continue
        events.append(Event(parts[0], parts[1], parts[2], at, tuple(parts[5:])))
    return events


@dataclass(slots=True)
class Summary:
    """What a load run did, from the callers' and the advisors' logs joined on the caller number."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    refused: int = 0
    ended_by_pbx_unanswered: int = 0
    presentations: int = 0
    busy: int = 0
    waits: list[float] = field(default_factory=list)
    rings: list[float] = field(default_factory=list)
    unanswered_rings: list[float] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A human-readable report."""

        def stats(name: str, values: list[float]) -> str:
            if not values:
                return f"{name}: -"
            ordered = sorted(values)
            p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
            return (
                f"{name}: mean {statistics.fmean(values):.2f} s, median "
                f"{statistics.median(values):.2f} s, p90 {p90:.2f} s, max {ordered[-1]:.2f} s"
            )

        rate = f"{100 * self.answered / self.offered:.1f} %" if self.offered else "-"
        return [
            f"calls offered: {self.offered}",
            f"answered: {self.answered} ({rate})",
            f"abandoned: {self.abandoned}",
            f"refused (busy/unavailable): {self.refused}",
            f"ended by the PBX unanswered (overflow, voicemail, hangup): "
            f"{self.ended_by_pbx_unanswered}",
            f"presentations to advisors: {self.presentations} (busy replies: {self.busy})",
            stats("wait until answered", self.waits),
            stats("ring time of answered presentations", self.rings),
            stats("ring time of unanswered presentations", self.unanswered_rings),
        ]


def summarize(events: Iterable[Event]) -> Summary:
    """Offered/answered/abandoned counts and wait/ring times from caller and advisor events.

    A call is answered when an advisor's phone answered a call from its number. The caller's
    wait is from its INVITE to that answer (acd answers at once and plays music, so the SIP
    answer the caller sees says nothing about an advisor). A call nobody answered is abandoned
    when the caller ended it (CANCEL or BYE), and ended by the PBX otherwise.
    """
    callers: dict[str, dict[str, float]] = {}
    rings: dict[str, list[float]] = {}
    answers: dict[str, float] = {}
    summary = Summary()
    for event in sorted(events, key=lambda e: e.at):
        if event.side == "caller":
            callers.setdefault(event.key, {}).setdefault(event.kind, event.at)
        elif event.kind == "ring":
            rings.setdefault(event.key, []).append(event.at)
            summary.presentations += 1
        elif event.kind == "answer":
            answers.setdefault(event.key, event.at)
            if rings.get(event.key):
                summary.rings.append(event.at - rings[event.key].pop())
        elif event.kind in ("cancelled", "busy"):
            if event.kind == "busy":
                summary.busy += 1
            if rings.get(event.key):
                summary.unanswered_rings.append(event.at - rings[event.key].pop())
    for key, seen in callers.items():
        if "invite" not in seen:
            continue
        summary.offered += 1
        if key in answers:
            summary.answered += 1
            summary.waits.append(answers[key] - seen["invite"])
        elif "refused" in seen:
            summary.refused += 1
        elif "cancel" in seen or "bye_sent" in seen:
            summary.abandoned += 1
        else:
            summary.ended_by_pbx_unanswered += 1
    return summary
