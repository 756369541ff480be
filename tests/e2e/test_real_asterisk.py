"""acd against a real Asterisk 22 (opt-in): calls, no-answer/busy, prompt interruption, fallback.

Runs only when ``ACD_TEST_ASTERISK=HOST:PORT`` names the AMI of a test Asterisk; skipped (with the
reason) otherwise. Checked by hand on Asterisk 22.10.1 with bundled pjproject 2.17. The test starts
its own acd (and, for the FastAGI check, its own FastAGI listener), its own SIPp phones and callers,
so nothing else may use the FastAGI port or register endpoints 1001, 1002 and 1004 meanwhile
(1004 is also the supervisor's phone of the listening test, which runs acd's HTTP API on a free
loopback port).

What that Asterisk must run (a test PBX only; all on one host, e.g. inside ``unshare --net``):

* ``asterisk-config/*.conf`` and ``dialplan/`` installed as in docs/real-asterisk.md (B), with
  ``#include pjsip_loadtest.conf`` at the end of ``pjsip.conf`` (the SIPp callers' trunk);
* ``acd-generated/`` written from ``docker/acd.toml`` (advisors a1001..a1004 on PJSIP/1001..1004):
  ``acd pjsip-endpoints -c docker/acd.toml --passwords $ACD_TEST_SIP_PASSWORDS``,
  ``acd fallback-queues -c docker/acd.toml``, and ``manager_secret.conf`` holding
  ``secret = $ACD_TEST_AMI_SECRET``;
* the dialplan unchanged: number ``100`` → ``[acd-inbound]`` → ``[acd-call]`` →
  ``AGI(agi://${ACD_FASTAGI}/inbound?queue=support)`` with ``ACD_FASTAGI=127.0.0.1:4573``, then
  ``[acd-after-agi]`` (hang up on ``done`` or ``DIALSTATUS=ANSWER``, else ``[acd-fallback]``:
  ``Playback(queue-thankyou)`` and ``Queue(support)``);
* English core sounds (``queue-periodic-announce``, ``queue-youarenext``, ...) and music on hold.
* ``manager.conf`` as shipped (acd's user ``acd`` with its read classes and ``eventfilter``
  lines, so acd runs as in production), plus a second user for the test's own AMI watcher, which
  follows AGIExec, dial, channel and queue events that the ``acd`` user's filters keep out::

    [acd-watch]
    #include acd-generated/manager_secret.conf
    deny = 0.0.0.0/0.0.0.0
    permit = 127.0.0.1/255.255.255.255
    read = system,call,agent,agi,dtmf
    write = call,originate

  (the watcher logging in as ``acd`` would see only the filtered events: on 22.10.1, six tests
  then waited in vain for ``AGIExecStart``, ``DialBegin``, ``Newchannel`` or ``OriginateResponse``;
  ``originate``: the recording test places its caller with an Originate);

Variables: ``ACD_TEST_ASTERISK`` (AMI host:port), ``ACD_TEST_AMI_SECRET`` (users ``acd`` and the
watcher's), ``ACD_TEST_AMI_WATCHER`` (the watcher's AMI user, default ``acd-watch``),
``ACD_TEST_SIP_PASSWORDS`` (the TOML file the endpoints were generated with),
``ACD_TEST_ASTERISK_SIP`` (SIP host:port, default the AMI host and 5060), ``ACD_TEST_FASTAGI_PORT``
(default 4573, the port in ``ACD_FASTAGI``), ``ACD_TEST_RECORDINGS_DIR`` (Asterisk's
``astspooldir/monitor``, readable by the test; unset: the recording test is skipped). acd, SIPp
and this test must reach Asterisk on the
loopback: the dialplan calls FastAGI on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest

from acd.settings import load_settings
from tests.deadlines import until, until_blocking
from tests.sipp.harness import (
    Sipp,
    free_udp_port,
    local_ports,
    render,
    scenario,
    sipp_path,
    stopped_at_exit,
)

REPO = Path(__file__).resolve().parents[2]
ACD = Path(sys.executable).with_name("acd")
Headers = dict[str, str]
SUPERVISOR_TOKEN = "e2e-supervisor-token-0123456789"


@dataclass(frozen=True, slots=True)
class Pbx:
    """Where the test Asterisk listens, and its secrets."""

    ami_host: str
    ami_port: int
    ami_secret: str
    sip: str
    # The test's own AMI login (all events), not acd's filtered one.
    watcher: str
    passwords: dict[str, str]
    fastagi_port: int


@pytest.fixture(scope="module")
def pbx() -> Pbx:
    """The Asterisk named by ACD_TEST_ASTERISK, or a skip saying why there is none."""
    target = os.environ.get("ACD_TEST_ASTERISK")
    if not target:
        pytest.skip("ACD_TEST_ASTERISK is not set: no real Asterisk to test against")
    if sipp_path() is None:
        pytest.skip("sipp is not installed (apt-get install sip-tester)")
    host, _, port = target.rpartition(":")
    secret = os.environ.get("ACD_TEST_AMI_SECRET")
    passwords_file = os.environ.get("ACD_TEST_SIP_PASSWORDS")
    if not secret or not passwords_file:
        pytest.fail("ACD_TEST_ASTERISK is set: set ACD_TEST_AMI_SECRET and ACD_TEST_SIP_PASSWORDS")
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            pass
    except OSError as exc:
        pytest.fail(f"ACD_TEST_ASTERISK={target} is unreachable: {exc}")
    passwords = tomllib.loads(Path(passwords_file).read_text(encoding="utf-8"))
    return Pbx(
        ami_host=host,
        ami_port=int(port),
        ami_secret=secret,
        sip=os.environ.get("ACD_TEST_ASTERISK_SIP", f"{host}:5060"),
        watcher=os.environ.get("ACD_TEST_AMI_WATCHER", "acd-watch"),
        passwords={str(k): str(v) for k, v in passwords.items()},
        fastagi_port=int(os.environ.get("ACD_TEST_FASTAGI_PORT", "4573")),
    )


@dataclass
class AmiWatch:
    """A second AMI login (the watcher's user) that keeps every event with the time it arrived."""

    pbx: Pbx
    events: list[tuple[float, Headers]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sock: socket.socket | None = None

    def start(self) -> None:
        self._sock = socket.create_connection((self.pbx.ami_host, self.pbx.ami_port), timeout=5)
        self._sock.sendall(
            f"Action: Login\r\nUsername: {self.pbx.watcher}\r\nSecret: {self.pbx.ami_secret}\r\n"
            "Events: system,call,agent,agi,dtmf\r\n\r\n".encode()
        )
        self._sock.settimeout(None)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(lambda h: h.get("Message") == "Authentication accepted", 5)

    def _read(self) -> None:
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                raw, buffer = buffer.split(b"\r\n\r\n", 1)
                headers: Headers = {}
                for line in raw.decode("utf-8", "replace").split("\r\n"):
                    key, sep, value = line.partition(": ")
                    if sep:
                        headers.setdefault(key, value)
                with self._lock:
                    self.events.append((time.time(), headers))

    def send(self, action: str, fields: list[tuple[str, str]]) -> None:
        """Send one AMI action as the watcher (its reply arrives among the events)."""
        assert self._sock is not None
        lines = [f"Action: {action}", *(f"{key}: {value}" for key, value in fields)]
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def stop(self) -> None:
        """Hang up the test's channels still up (killed SIPp peers never send BYE), log off."""
        if self._sock is None:
            return
        created = {h["Channel"] for _, h in self.matching(event("Newchannel"))}
        gone = {h["Channel"] for _, h in self.matching(event("Hangup"))}
        for channel in sorted(created - gone):
            self._sock.sendall(f"Action: Hangup\r\nChannel: {channel}\r\n\r\n".encode())
        if created - gone:
            self.wait_for(lambda h: h.get("Event") == "Hangup", 5, count=len(gone | created))
        self._sock.close()

    def matching(self, predicate: Callable[[Headers], bool]) -> list[tuple[float, Headers]]:
        with self._lock:
            return [(t, h) for t, h in self.events if predicate(h)]

    def wait_for(
        self, predicate: Callable[[Headers], bool], timeout: float, count: int = 1
    ) -> list[tuple[float, Headers]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"AMI: fewer than {count} matching events within {timeout} s")


@pytest.fixture
def ami(pbx: Pbx) -> Iterator[AmiWatch]:
    """AMI events seen during the test."""
    watch = AmiWatch(pbx)
    watch.start()
    yield watch
    watch.stop()


def event(name: str, **wanted: str) -> Callable[[Headers], bool]:
    """An AMI event predicate: Event name and headers that must start with the given values."""
    return lambda h: (
        h.get("Event") == name and all(h.get(k, "").startswith(v) for k, v in wanted.items())
    )


def silence_wav(workdir: Path) -> Path:
    """One second of G.711 mu-law silence (0xFF) in a WAV file, for SIPp's ``rtp_stream``."""
    path = workdir / "silence-pcmu.wav"
    data = b"\xff" * 8000
    fmt = (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    fmt += (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt
    body += b"data" + len(data).to_bytes(4, "little") + data
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    return path


def phone_scenario(workdir: Path, ring_ms: int, talk_ms: int, *, media: bool = False) -> str:
    """advisor-phone.xml with its timers, each in-call request with a branch of its own.

    As an out-of-call scenario, SIPp gives every call the same ``[branch]``: on a real Asterisk
    the second BYE within 32 s matched the first BYE's finished transaction and was ignored, so
    the conversation lasted 32 s longer (seen on 22.10.1).

    ``media``: once answered, the phone sends RTP (silence, PCMU) as a real phone does. Without
    any media on the advisor's channel, ChanSpy never lets go of it: a spyer hung up waits in
    ``ast_audiohook_detach`` for a frame on the spied-on channel that never comes (22.10.1).
    """
    path = Path(render("advisor-phone.xml", {"answer": ring_ms, "advisor_bye": talk_ms}, workdir))
    bye, refer = "branch=z9hG4bK-acd-[call_id]-bye", "branch=z9hG4bK-acd-[call_id]-refer"
    head, _, tail = path.read_text(encoding="utf-8").partition("branch=[branch]")
    text = head + bye + tail.replace("branch=[branch]", refer)
    if media:
        answered = '<recv request="ACK" crlf="true"/>'
        stream = f'<nop><action><exec rtp_stream="{silence_wav(workdir)},-1,0"/></action></nop>'
        text = text.replace(answered, f"{answered}\n  {stream}", 1)
        path = path.with_name(f"{path.stem}-rtp.xml")
    path.write_text(text, encoding="utf-8")
    return str(path)


def phone(pbx: Pbx, workdir: Path, endpoint: str, mode: str, scenario_file: str) -> Sipp:
    """A registering advisor phone (advisor-register.xml + the phone scenario out of call)."""
    return Sipp(
        f"phone-{endpoint}-{mode}",
        [
            "-sf",
            scenario("advisor-register.xml"),
            "-oocsf",
            scenario_file,
            "-m",
            "1",
            "-key",
            "user",
            endpoint,
            "-key",
            "expires",
            "300",
            "-au",
            endpoint,
            "-ap",
            pbx.passwords[f"a{endpoint}"],
            "-set",
            "registered_ms",
            "120000",
            "-set",
            "mode",
            mode,
            "-set",
            "transfer_to",
            "8001",
            *local_ports(),
            pbx.sip,
        ],
        workdir,
    )


def callers(pbx: Pbx, workdir: Path, count: int, name: str = "callers") -> Sipp:
    """``count`` callers dialling 100 (queue support) at 2 calls/s, patient for 60 s."""
    return Sipp(
        name,
        [
            "-sf",
            render("caller.xml", {"abandon": 60000, "caller_bye": 90000}, workdir),
            "-inf",
            scenario("callers.csv"),
            "-s",
            "100",
            "-m",
            str(count),
            "-r",
            "2",
            *local_ports(),
            "-timeout",
            "100s",
            pbx.sip,
        ],
        workdir,
    )


def wait_registered(phones: list[Sipp], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(any(e.kind == "registered" for e in p.events()) for p in phones):
            return
        time.sleep(0.1)
    raise AssertionError("phones did not register: " + " | ".join(p.errors() for p in phones))


@dataclass
class Acd:
    """One acd daemon run by the test (own SQLite database and log)."""

    pbx: Pbx
    workdir: Path
    agents: dict[str, str]
    skills: dict[str, int] = field(default_factory=dict)
    policy: str = "longest_idle"
    max_missed: int = 3
    # The supervisor's desk: acd's HTTP API on this port, a supervisor whose phone is this
    # endpoint (None: HTTP off, as before).
    http_port: int | None = None
    supervisor_phone: str | None = None
    # Callbacks: the customer's dial string (with {number}); None: the defaults.
    callbacks_trunk: str | None = None
    # The queue's closed action (docs/hours.md) with a schedule closed all day today in the
    # centre's zone (Europe/Paris) and open from midnight; None: no schedule, always open.
    closed: str | None = None
    # The queue's record setting and where Asterisk writes recordings ([ami] recordings_dir).
    record: str | None = None
    recordings_dir: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def database(self) -> Path:
        return self.workdir / "acd.sqlite3"

    @property
    def log(self) -> Path:
        return self.workdir / "acd.log"

    def config(self) -> str:
        lines = [
            "[ami]",
            f'host = "{self.pbx.ami_host}"',
            f"port = {self.pbx.ami_port}",
            'username = "acd"',
            *([f'recordings_dir = "{self.recordings_dir}"'] if self.recordings_dir else []),
            "[fastagi]",
            'bind = "127.0.0.1"',
            f"port = {self.pbx.fastagi_port}",
            'allowed_hosts = ["127.0.0.1"]',
            "[http]",
            *(
                ["enabled = true", f"port = {self.http_port}"]
                if self.http_port is not None
                else ["enabled = false"]
            ),
            "[daemon]",
            "auto_login = true",
            "[database]",
            f'url = "sqlite+aiosqlite:///{self.database}"',
            f'spool_dir = "{self.workdir / "spool"}"',
            "[logging]",
            'format = "json"',
            'level = "debug"',
            "[workload]",
            "enabled = false",
            "[queues.support]",
            'language = "en"',
            'steps = [{ expression = "support>=1" }]',
            f'policy = "{self.policy}"',
            "ring_timeout_s = 4",
            "wrap_up_s = 1",
            "announce_interval_s = 1",
            *([f'record = "{self.record}"'] if self.record is not None else []),
        ]
        if self.closed is not None:
            today = datetime.datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
            lines += [
                'schedule = "e2e"',
                f'closed = "{self.closed}"',
                "[schedules.e2e]",
                'weekdays = ["00:00-24:00"]',
                'saturday = ["00:00-24:00"]',
                'sunday = ["00:00-24:00"]',
                'public_holidays = "open"',
                f'exceptions = [{{ date = {today}, open = [], reason = "e2e" }}]',
            ]
        if self.callbacks_trunk is not None:
            lines += [
                "[callbacks]",
                f'trunk = "{self.callbacks_trunk}"',
                "caller_id = '\"Centre\" <0140000000>'",
                "originate_timeout_s = 10",
                "ring_timeout_s = 10",
                "retry_spacing_s = 5",
            ]
        if self.supervisor_phone is not None:
            lines += [
                "[supervisors.sup]",
                'name = "Sup"',
                f'token = "{SUPERVISOR_TOKEN}"',
                f'phone = "{self.supervisor_phone}"',
            ]
        for agent_id, endpoint in self.agents.items():
            lines += [
                f"[agents.{agent_id}]",
                f'endpoint = "{endpoint}"',
                'queues = ["support"]',
                f"skills = {{ support = {self.skills.get(agent_id, 3)} }}",
                f"max_missed = {self.max_missed}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        config = self.workdir / "acd.toml"
        config.write_text(self.config(), encoding="utf-8")
        env = {**os.environ, "ACD_AMI_SECRET": self.pbx.ami_secret}
        subprocess.run(
            [str(ACD), "db", "upgrade", "--database-url", f"sqlite+aiosqlite:///{self.database}"],
            check=True,
            capture_output=True,
            env=env,
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(ACD), "run", "-c", str(config)], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + 15
        while '"phones_resynced"' not in self.log.read_text(encoding="utf-8", errors="replace"):
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "acd did not log in to AMI"
            time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)

    def rows(self, query: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.database) as db:
            return db.execute(query).fetchall()

    def wait_calls(self, count: int, timeout: float = 10) -> None:
        """Until ``count`` call records are written (at the end of the advisor's wrap-up)."""
        deadline = time.monotonic() + timeout
        while len(self.rows("select call_id from calls")) < count:
            assert time.monotonic() < deadline, f"fewer than {count} call records"
            time.sleep(0.1)


class StartAcd(Protocol):
    def __call__(self, agents: dict[str, str], **options: object) -> Acd: ...


@pytest.fixture
def start_acd(pbx: Pbx, tmp_path: Path) -> Iterator[StartAcd]:
    """Start acd with the given advisors (id → endpoint); stopped at the end of the test."""
    started: list[Acd] = []

    def start(agents: dict[str, str], **options: object) -> Acd:
        acd = Acd(pbx, tmp_path, agents, **options)  # type: ignore[arg-type]
        started.append(acd)
        acd.start()
        return acd

    yield start
    for acd in started:
        acd.stop()


def test_answered_call_is_recorded_and_the_dialplan_hangs_up(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """A caller is answered by 1001 through EXEC Dial; acd records it; the dialplan hangs up."""
    advisor = phone(pbx, tmp_path, "1001", "answer", phone_scenario(tmp_path, 500, 2000))
    caller = callers(pbx, tmp_path, 1)
    with stopped_at_exit([advisor, caller]):
        advisor.start()
        wait_registered([advisor])
        acd = start_acd({"a1001": "PJSIP/1001"})
        caller.start()
        assert caller.wait(30) == 0, caller.errors()
        acd.wait_calls(1)
        acd.stop()
    (dial_end,) = ami.matching(event("DialEnd", DestChannel="PJSIP/1001-"))
    assert dial_end[1]["DialStatus"] == "ANSWER"
    channel = dial_end[1]["Channel"]
    assert ami.matching(event("AGIExecStart", Channel=channel, Command="EXEC Dial PJSIP/1001,4,m"))
    assert not ami.matching(event("QueueCallerJoin", Channel=channel))
    assert any(e.kind == "bye_received" for e in caller.events())  # the dialplan's Hangup()
    assert acd.rows("select outcome, agent_id from calls") == [("answered", "a1001")]


def test_no_answer_and_busy_go_to_the_next_advisor(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """NOANSWER and BUSY come back in DIALSTATUS and the caller goes to the next advisor."""
    answering = phone_scenario(tmp_path, 300, 1500)
    phones = [
        phone(pbx, tmp_path, "1002", "busy", answering),
        phone(pbx, tmp_path, "1004", "noanswer", answering),
        phone(pbx, tmp_path, "1001", "answer", answering),
    ]
    caller = callers(pbx, tmp_path, 1)
    with stopped_at_exit([*phones, caller]):
        for p in phones:
            p.start()
        wait_registered(phones)
        # best_skill rings 1002 (busy), then 1004 (no answer), then 1001; one miss pauses an
        # advisor, so neither is rung again for this call (with 3, best_skill rang 1002 and
        # 1004 in turn three times each while 1001 was free).
        acd = start_acd(
            {"a1002": "PJSIP/1002", "a1004": "PJSIP/1004", "a1001": "PJSIP/1001"},
            skills={"a1002": 5, "a1004": 4, "a1001": 1},
            policy="best_skill",
            max_missed=1,
        )
        caller.start()
        ami.wait_for(event("DialEnd", DialStatus="ANSWER"), 30)
        assert caller.wait(30) == 0, caller.errors()
        acd.wait_calls(1)
        acd.stop()
    dials = [
        (h["DestChannel"].split("-")[0], h["DialStatus"]) for _, h in ami.matching(event("DialEnd"))
    ]
    assert dials == [("PJSIP/1002", "BUSY"), ("PJSIP/1004", "NOANSWER"), ("PJSIP/1001", "ANSWER")]
    rows = acd.rows("select outcome, agent_id, agents_tried from calls")
    assert rows == [("answered", "a1001", "a1002,a1004,a1001")]


def read_line(conn: socket.socket) -> bytes:
    """One line from a FastAGI socket, byte by byte (so nothing after it is consumed)."""
    line = b""
    while not line.endswith(b"\n"):
        byte = conn.recv(1)
        if not byte:
            break
        line += byte
    return line


@contextlib.contextmanager
def answered_agi_call(pbx: Pbx, tmp_path: Path) -> Iterator[socket.socket]:
    """One caller's FastAGI session, answered, driven by hand; at the end ACD_STATE=done, and
    the dialplan ([acd-after-agi]) hangs the caller up."""
    server = socket.create_server(("127.0.0.1", pbx.fastagi_port))
    server.settimeout(15)
    caller = callers(pbx, tmp_path, 1)
    with stopped_at_exit([caller]), server:
        caller.start()
        conn, _ = server.accept()
        with conn:
            while read_line(conn) not in (b"\n", b""):
                pass  # the agi_* environment
            conn.sendall(b"ANSWER\n")
            assert read_line(conn).startswith(b"200 result=0")
            yield conn
            conn.settimeout(5)
            conn.sendall(b'SET VARIABLE ACD_STATE "done"\n')
            assert read_line(conn).startswith(b"200 result=1")
        assert caller.wait(20) == 0, caller.errors()


def test_res_agi_stops_a_stream_for_a_new_command_without_replying_to_it(
    pbx: Pbx, tmp_path: Path
) -> None:
    """A NOOP sent during STREAM FILE stops the prompt; only the NOOP is answered (res_agi.c)."""
    with answered_agi_call(pbx, tmp_path) as conn:
        conn.sendall(b'STREAM FILE queue-periodic-announce ""\n')  # about 8 s long
        time.sleep(0.5)  # fixed-sleep: the prompt plays a while before the NOOP, the case
        sent = time.monotonic()
        conn.sendall(b'NOOP "interrupt"\n')
        reply = read_line(conn)
        elapsed = time.monotonic() - sent
        conn.settimeout(1.0)
        with pytest.raises(TimeoutError):
            conn.recv(100)  # nothing more: no reply for the interrupted stream
    assert reply == b"200 result=0\n"
    assert elapsed < 0.2


def test_res_agi_leaves_a_line_read_with_the_stream_unseen_until_more_bytes_come(
    pbx: Pbx, tmp_path: Path
) -> None:
    """STREAM FILE and NOOP in one write: the NOOP sits in res_agi's stdio buffer and the prompt
    plays on; a second NOOP stops it, and both NOOPs are answered, in order (pbxsim's model)."""
    with answered_agi_call(pbx, tmp_path) as conn:
        conn.sendall(b'STREAM FILE queue-periodic-announce ""\nNOOP "first"\n')
        conn.settimeout(1.0)
        with pytest.raises(TimeoutError):
            conn.recv(100)  # the NOOP went unseen: no reply while the 8 s prompt plays
        conn.settimeout(5)
        sent = time.monotonic()
        conn.sendall(b'NOOP "second"\n')
        replies = [read_line(conn), read_line(conn)]
        elapsed = time.monotonic() - sent
    assert replies == [b"200 result=0\n", b"200 result=0\n"]  # no endpos: the stream stopped
    assert elapsed < 0.2


def test_acd_stops_a_prompt_it_has_just_started(pbx: Pbx, tmp_path: Path) -> None:
    """interrupt_stream() right after STREAM FILE stops it within the guard, whether res_agi read
    the NOOP with the stream's line or not; the session stays in step for the next command."""
    import asyncio

    from acd.asterisk.fastagi import AgiSession, FastAgiServer, FastAgiSettings, StreamOutcome

    results: list[object] = []

    async def handler(session: AgiSession) -> None:
        await session.answer()
        prompt = asyncio.create_task(
            session.stream_file("queue-periodic-announce", reply_within=30)
        )
        await asyncio.sleep(0)  # the STREAM FILE line is on the socket, the NOOP right behind it
        started = time.monotonic()
        results.append(await session.interrupt_stream())
        results.append((await prompt).outcome)
        results.append(time.monotonic() - started)
        results.append((await session.set_variable("ACD_STATE", "done")).ok)

    async def serve() -> None:
        settings = FastAgiSettings(host="127.0.0.1", port=pbx.fastagi_port)
        async with FastAgiServer(settings, handler):
            caller.start()
            await until(lambda: len(results) == 4, within=20, what="the handler's results")

    caller = callers(pbx, tmp_path, 1)
    with stopped_at_exit([caller]):
        asyncio.run(serve())
        assert caller.wait(20) == 0, caller.errors()
    interrupted, outcome, elapsed, state_set = results
    assert interrupted is True
    assert outcome is StreamOutcome.INTERRUPTED
    assert isinstance(elapsed, float)
    assert elapsed < 0.3  # the 0.1 s guard at worst, never the 8 s prompt
    assert state_set is True


def test_a_freed_advisor_is_rung_at_once_even_during_a_prompt(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """Advisor free (end of wrap-up) to DialBegin stays short, prompts or not; prints figures."""
    advisor = phone(pbx, tmp_path, "1001", "answer", phone_scenario(tmp_path, 300, 1500))
    caller = callers(pbx, tmp_path, 4)
    with stopped_at_exit([advisor, caller]):
        advisor.start()
        wait_registered([advisor])
        acd = start_acd({"a1001": "PJSIP/1001"})
        caller.start()
        assert caller.wait(60) == 0, caller.errors()
        acd.stop()
    dials = [t for t, _ in ami.matching(event("DialBegin", DestChannel="PJSIP/1001-"))]
    freed = [
        float(str(at))
        for (at,) in acd.rows(
            "select at from agent_states where dimension = 'activity'"
            " and old = 'wrap_up' and new = 'available' order by at"
        )
    ]
    gaps = [min(d - f for d in dials if d >= f - 0.01) for f in freed if any(d >= f for d in dials)]
    interrupted = ami.matching(event("AGIExecStart", Command="NOOP"))
    print(
        f"advisor free to DialBegin (ms): {[round(g * 1000, 1) for g in gaps]}; "
        f"prompts interrupted: {len(interrupted)}"
    )
    assert len(dials) == 4
    assert len(gaps) == 3
    assert max(gaps) < 0.3
    warnings = acd.log.read_text(encoding="utf-8")
    assert "agi_reply_dropped" not in warnings
    assert "prompt_stop_timed_out" not in warnings


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "crashed"])
def test_callers_waiting_when_acd_stops_go_to_the_fallback_queue(
    pbx: Pbx,
    ami: AmiWatch,
    start_acd: StartAcd,
    tmp_path: Path,
    stop: signal.Signals,
) -> None:
    """acd stops: the waiting caller goes to Queue(support); the conversation goes on."""
    advisor = phone(pbx, tmp_path, "1001", "answer", phone_scenario(tmp_path, 300, 5000))
    caller = callers(pbx, tmp_path, 2)
    with stopped_at_exit([advisor, caller]):
        advisor.start()
        wait_registered([advisor])
        acd = start_acd({"a1001": "PJSIP/1001"})
        caller.start()
        (talking,) = ami.wait_for(event("DialEnd", DialStatus="ANSWER", Context="acd-call"), 15)
        # The second caller waits with music (the first, rung at once, heard Dial's own m).
        ami.wait_for(
            lambda h: (
                event("AGIExecStart", Command="SET MUSIC ON")(h)
                and h["Channel"] != talking[1]["Channel"]
            ),
            10,
        )
        stopped_at = time.time()
        acd.stop(stop)
        joined = ami.wait_for(event("QueueCallerJoin", Queue="support"), 10)
        (hangup,) = ami.wait_for(event("Hangup", Channel=talking[1]["Channel"]), 15)
        caller.stop()
    assert joined[0][0] - stopped_at < 5  # after the fallback prompt (queue-thankyou)
    assert joined[0][1]["Channel"] != talking[1]["Channel"]
    assert hangup[0] - talking[0] > 4  # the advisor's BYE after 5 s, not acd's stop


def api(acd: Acd, method: str, path: str, body: dict[str, object] | None = None) -> Any:
    """acd's HTTP API as the test's supervisor; the JSON answer (raises on an HTTP error)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{acd.http_port}/api/v1{path}",
        method=method,
        data=json.dumps(body or {}).encode() if method == "POST" else None,
        headers={"authorization": f"Bearer {SUPERVISOR_TOKEN}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def test_a_supervisor_listens_to_a_sipp_call_then_whispers_barges_and_leaves(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """S15 on a real Asterisk through acd: the supervisor's phone (1004) is originated into
    ChanSpy on 1001's channel, switched to whisper then barge from the API (PlayDTMF Receive on
    the supervisor's channel: ChanSpy's d option reads 5 and 6), left; the conversation goes on
    and acd records the listening. 1001's phone sends RTP: ChanSpy only lets go of a channel
    that has media (phone_scenario)."""
    advisor = phone(
        pbx, tmp_path, "1001", "answer", phone_scenario(tmp_path, 300, 15000, media=True)
    )
    supervisor = phone(pbx, tmp_path, "1004", "answer", phone_scenario(tmp_path, 200, 30000))
    caller = callers(pbx, tmp_path, 1)
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        http_port = int(spare.getsockname()[1])
    with stopped_at_exit([advisor, supervisor, caller]):
        advisor.start()
        supervisor.start()
        wait_registered([advisor, supervisor])
        acd = start_acd({"a1001": "PJSIP/1001"}, http_port=http_port, supervisor_phone="PJSIP/1004")
        caller.start()
        (talking,) = ami.wait_for(event("DialEnd", DialStatus="ANSWER", Context="acd-call"), 15)
        until_blocking(
            lambda: any(c["state"] == "connected" for c in api(acd, "GET", "/calls")),
            what="acd sees the call connected",
        )
        [call] = [c for c in api(acd, "GET", "/calls") if c["state"] == "connected"]
        listening = api(
            acd, "POST", f"/supervisor/calls/{call['call_id']}/listen", {"mode": "listen"}
        )
        (start,) = ami.wait_for(event("ChanSpyStart", SpyeeChannel="PJSIP/1001-"), 15)
        assert start[1]["SpyerChannel"].startswith("PJSIP/1004-")
        (originated,) = ami.matching(event("Newchannel", Channel="PJSIP/1004-"))
        assert originated[1]["Channel"] == start[1]["SpyerChannel"]
        lid = listening["listening_id"]
        until_blocking(
            lambda: any(
                x["state"] == "listening" for x in api(acd, "GET", "/supervisor/listenings")
            ),
            what="acd saw ChanSpyStart",
        )
        switched = api(acd, "POST", f"/supervisor/listenings/{lid}/mode", {"mode": "whisper"})
        assert switched["modes"] == ["listen", "whisper"]
        switched = api(acd, "POST", f"/supervisor/listenings/{lid}/mode", {"mode": "barge"})
        assert switched["modes"] == ["listen", "whisper", "barge"]
        # ChanSpy read both keys on the supervisor's channel, as if pressed there.
        keys = ami.wait_for(
            event("DTMFEnd", Channel=start[1]["SpyerChannel"], Direction="Received"), 5, count=2
        )
        assert [h["Digit"] for _, h in keys] == ["5", "6"]
        left = api(acd, "POST", f"/supervisor/listenings/{lid}/leave")
        assert left["state"] == "ended"
        ami.wait_for(event("ChanSpyStop", SpyerChannel=start[1]["SpyerChannel"]), 10)
        # The conversation goes on after the spy leaves (S15 a, c).
        assert not ami.matching(event("Hangup", Channel=talking[1]["Channel"]))
        caller.wait(40)
        acd.stop()
    rows = acd.rows("select agent_id, modes, outcome, started_at is not null from listenings")
    assert rows == [("a1001", "listen,whisper,barge", "left", 1)]


def test_a_booked_callback_reaches_a_sipp_customer_from_the_advisors_leg(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """Issue 22 on a real Asterisk: a callback booked over the API reserves 1001, acd originates
    1001 (Async, into [acd-originated] callback: AGI(agi://${ACD_FASTAGI}/callback?${ACD_ARGS});
    Application AGI is
    refused to acd's AMI user, which has no system class), 1001 answers, acd dials the customer (a
    SIPp UAS reached through endpoint 1002's transport at a URI) with the centre's caller ID,
    they talk, and the callback is stored completed."""
    advisor = phone(pbx, tmp_path, "1001", "answer", phone_scenario(tmp_path, 300, 15000))
    customer_port = free_udp_port()
    customer = Sipp(
        "customer",
        [
            "-sf",
            # Talks 8 s: past the greeting (Dial's U(), before the bridge), then hangs up.
            phone_scenario(tmp_path, 500, 8000),
            "-set",
            "mode",
            "answer",
            "-set",
            "transfer_to",
            "8001",
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-p",
            str(customer_port),
            "-mp",
            str(free_udp_port()),
        ],
        tmp_path,
    )
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        http_port = int(spare.getsockname()[1])
    with stopped_at_exit([advisor, customer]):
        advisor.start()
        customer.start()
        wait_registered([advisor])
        acd = start_acd(
            {"a1001": "PJSIP/1001"},
            http_port=http_port,
            supervisor_phone="PJSIP/1004",
            callbacks_trunk=f"PJSIP/1002/sip:{{number}}@127.0.0.1:{customer_port}",
        )
        booked = api(acd, "POST", "/queues/support/callbacks", {"number": "+33612345678"})
        (originated,) = ami.wait_for(event("OriginateResponse", Channel="PJSIP/1001"), 20)
        assert (originated[1]["Response"], originated[1]["Reason"]) == ("Success", "4")
        assert (originated[1]["Context"], originated[1]["Exten"]) == ("acd-originated", "callback")
        # The AGI session of the answered leg, at the callback's id (its first command).
        ami.wait_for(event("AGIExecStart", Channel=originated[1]["Channel"]), 10)
        assert acd.rows("select callback_id from callbacks") == [(booked["callback_id"],)]
        ami.wait_for(event("DialEnd", DialStatus="ANSWER", Channel=originated[1]["Channel"]), 20)
        assert customer.wait(30) == 0, customer.errors()
        until_blocking(
            lambda: acd.rows("select state from callbacks") == [("completed",)],
            within=20,
            what="the callback stored completed",
        )
        acd.stop()
    assert any(e.kind == "answer" for e in customer.events()), "the customer answered"
    # They talked: the customer's channel was bridged with the advisor's after the greeting.
    assert ami.matching(event("BridgeEnter", Channel="PJSIP/1002-"))
    assert acd.rows("select outcome, reason from calls") == [("completed", "callback")]


def test_a_recorded_queue_s_call_is_recorded_by_the_dialplan_and_kept_by_acd(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """S16 b on a real Asterisk: a caller whose DID sets ACD_RECORD=all (placed here by an
    Originate into [acd-call] inbound with ACD_QUEUE and ACD_RECORD, the shipped dialplan has
    no such DID) hears the notice, MixMonitor starts before AGI() (recording=recorded), 1001
    answers and talks; acd stores the recording row and sets the file to 0600 at the end."""
    monitor = os.environ.get("ACD_TEST_RECORDINGS_DIR")
    if not monitor:
        pytest.skip("ACD_TEST_RECORDINGS_DIR is not set: the PBX's recordings are out of reach")
    talking = phone_scenario(tmp_path, 300, 3000, media=True)
    advisor = phone(pbx, tmp_path, "1001", "answer", talking)
    caller_port = free_udp_port()
    caller = Sipp(
        "recorded-caller",
        [
            "-sf",
            phone_scenario(tmp_path, 200, 30000, media=True),
            "-set",
            "mode",
            "answer",
            "-set",
            "transfer_to",
            "8001",
            "-m",
            "1",
            "-i",
            "127.0.0.1",
            "-p",
            str(caller_port),
            "-mp",
            str(free_udp_port()),
        ],
        tmp_path,
    )
    with stopped_at_exit([advisor, caller]):
        advisor.start()
        caller.start()
        wait_registered([advisor])
        acd = start_acd({"a1001": "PJSIP/1001"}, record="all", recordings_dir=monitor)
        ami.send(
            "Originate",
            [
                ("Channel", f"PJSIP/1002/sip:0611000099@127.0.0.1:{caller_port}"),
                ("Context", "acd-call"),
                ("Exten", "inbound"),
                ("Priority", "1"),
                ("CallerID", '"Recorded Caller" <0611000099>'),
                ("Variable", "ACD_QUEUE=support"),
                ("Variable", "ACD_RECORD=all"),
                ("Async", "true"),
            ],
        )
        (agi,) = ami.wait_for(event("AGIExecStart", Command="ANSWER"), 20)
        channel = agi[1]["Channel"]
        ami.wait_for(event("DialEnd", Channel=channel, DialStatus="ANSWER"), 20)
        ami.wait_for(event("Hangup", Channel=channel), 20)
        acd.wait_calls(1)
        until_blocking(
            lambda: acd.rows("select ended_at is not null from recordings") == [(1,)],
            within=10,
            what="the recording closed",
        )
        acd.stop()
    ((status, path),) = acd.rows("select status, path from recordings")
    assert status == "recorded"
    recording = Path(str(path))
    assert recording.name.startswith("acd-")
    assert recording.parent == Path(monitor)
    assert recording.read_bytes()[:4] == b"RIFF"
    # Seconds of 8 kHz 16-bit audio (the size is read when served: the row leaves it empty).
    assert recording.stat().st_size > 16000
    assert recording.stat().st_mode & 0o777 == 0o600
    assert acd.rows("select outcome, agent_id from calls") == [("answered", "a1001")]


def test_a_caller_of_a_closed_queue_hears_when_it_opens_and_the_callback_offer(
    pbx: Pbx, ami: AmiWatch, start_acd: StartAcd, tmp_path: Path
) -> None:
    """Issue 22 on a real Asterisk: the queue is closed today (closed = "callback"); the caller
    hears acd-closed, acd-reopens and the reopening said by Asterisk (SAY DATETIME in the
    centre's zone, answered 200), the closed queue's callback offer, no key, goodbye; the
    dialplan hangs up (ACD_STATE=done) and the call is recorded closed, never offered."""
    advisor = phone(pbx, tmp_path, "1001", "answer", phone_scenario(tmp_path, 300, 2000))
    caller = callers(pbx, tmp_path, 1)
    with stopped_at_exit([advisor, caller]):
        advisor.start()
        wait_registered([advisor])
        acd = start_acd({"a1001": "PJSIP/1001"}, closed="callback")
        caller.start()
        assert caller.wait(60) == 0, caller.errors()
        acd.wait_calls(1)
        acd.stop()
    commands = [h["Command"] for _, h in ami.matching(event("AGIExecStart"))]
    spoken = [c for c in commands if c.startswith(("STREAM FILE", "SAY DATETIME"))]
    assert [c.split()[2] if c.startswith("STREAM") else "SAY DATETIME" for c in spoken] == [
        "acd-closed",
        "acd-reopens",
        "SAY DATETIME",
        "acd-callback-offer-closed",
        "vm-goodbye",
    ]
    (said,) = ami.matching(event("AGIExecEnd", Command="SAY DATETIME"))
    assert (said[1]["ResultCode"], said[1]["Result"]) == ("200", "Success"), said[1]
    assert "Europe/Paris" in said[1]["Command"]
    assert not ami.matching(event("DialBegin", DestChannel="PJSIP/1001-"))
    assert any(e.kind == "bye_received" for e in caller.events())  # the dialplan's Hangup()
    assert acd.rows("select outcome from calls") == [("closed",)]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"http_port": 8123, "supervisor_phone": "PJSIP/1004"},
        {"callbacks_trunk": "PJSIP/{number}@lab-trunk", "policy": "best_skill"},
        {"closed": "callback"},
        {"record": "all", "recordings_dir": "/var/spool/asterisk/monitor"},
    ],
)
def test_the_acd_toml_these_tests_write_is_one_acd_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    """Without an Asterisk too: the acd.toml each real-Asterisk test starts acd with (the
    supervisor's desk, callbacks) loads as acd run would load it: these tests have not run on a
    real Asterisk yet, and a refused file would fail them before the first call."""
    monkeypatch.setenv("ACD_AMI_SECRET", "e2e-secret")
    pbx = Pbx("127.0.0.1", 5038, "e2e-secret", "127.0.0.1:5060", "acd-watch", {}, 4573)
    acd = Acd(pbx, tmp_path, {"a1001": "PJSIP/1001", "a1002": "PJSIP/1002"}, **options)
    config = tmp_path / "acd.toml"
    config.write_text(acd.config(), encoding="utf-8")
    settings = load_settings(config)
    assert sorted(settings.agents) == ["a1001", "a1002"]
    assert settings.http.enabled is ("http_port" in options)
    if "supervisor_phone" in options:
        assert settings.supervisors["sup"].phone == "PJSIP/1004"
