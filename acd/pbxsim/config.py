"""Configuration of the virtual Asterisk: plain frozen dataclasses, every delay in seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# "silent": a stale contact that never answers the INVITE at all (no 180, leg stays Down).
AnswerMode = Literal["answer", "no_answer", "busy", "silent"]
TalkDistribution = Literal["fixed", "exponential", "lognormal"]


@dataclass(frozen=True)
class AmiUser:
    """A manager.conf user; ``read`` lists the event classes it receives (``all`` for every one)."""

    username: str = "acd"
    secret: str = "acdsecret"
    read: tuple[str, ...] = ("all",)
    write: tuple[str, ...] = ("all",)

    def __post_init__(self) -> None:
        if not self.username or not self.secret:
            raise ValueError("an AMI user needs a username and a secret")


@dataclass(frozen=True)
class PhoneConfig:
    """An advisor's PJSIP endpoint. ``registered=False`` models an AOR without contact."""

    name: str
    number: str
    display_name: str
    registered: bool = True
    context: str = "acd-agents"

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "-" in self.name:
            raise ValueError(f"invalid endpoint name {self.name!r}")


@dataclass(frozen=True)
class QueueConfig:
    """An app_queue queue (the dialplan's fallback): strategy leastrecent, static members given
    as endpoint names (``agent1``) or interfaces (``PJSIP/agent1``)."""

    name: str = "support"
    members: tuple[str, ...] = ()
    member_ring_timeout: float = 5.0
    retry: float = 1.0
    autopause: bool = True
    # autofill=yes (the lab's): as many waiting callers ring members at once as members are
    # available; no: only the head caller rings.
    autofill: bool = True
    # app_queue's RECHECK (a compile-time 1 s): how often a caller not yet at its turn looks
    # again; a member freed meanwhile waits for the next look. None: 1 s × Timings.time_scale.
    recheck: float | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a queue needs a name")
        if self.member_ring_timeout <= 0 or self.retry < 0 or (self.recheck or 1.0) <= 0:
            raise ValueError("member_ring_timeout and recheck must be > 0, retry >= 0")


@dataclass(frozen=True)
class DialplanConfig:
    """The inbound dialplan around ``AGI()``; the handled-call contract of docs/architecture.md.

    After AGI: ``state_variable`` = ``done`` → Hangup; ``connected`` with DIALSTATUS ANSWER →
    Hangup; ``overflow`` → Dial the endpoint named by ``overflow_variable``; anything else →
    optional ``fallback_prompt`` then the fallback queue (Hangup when ``fallback_queue`` is None).
    """

    context: str = "acd-inbound"
    state_variable: str = "ACD_STATE"
    overflow_variable: str = "ACD_OVERFLOW_TARGET"
    fallback_prompt: str | None = None
    fallback_queue: str | None = "support"
    fallback_timeout: float | None = 120.0
    answer_before_agi: bool = False
    # False models a plain ``Answer(), Queue()`` extension (the lab's 100): no AGI step at all.
    run_agi: bool = True
    done_values: tuple[str, ...] = ("done",)
    # Other acd addresses (``host:port``) AGI() is tried on, in turn, when a connection is
    # refused (AGISTATUS FAILURE, nothing reached): the shipped dialplan's active/standby pair.
    agi_alternates: tuple[str, ...] = ()
    # Extensions of the advisors' context that a transfer (REFER) can reach, e.g.
    # ``{"7002": "Dial(PJSIP/agent2,20)", "7400": "AGI(agi://127.0.0.1:4573/transfer)"}``.
    agent_extensions: dict[str, str] = field(default_factory=dict)
    # Inbound numbers that skip the ACD and run one application after Answer(), e.g.
    # ``{"300": "MusicOnHold(default,60)"}`` (the lab's long call for AMI tests, S6).
    extensions: dict[str, str] = field(default_factory=dict)
    # Other extensions, ``"context,exten"`` → one application per priority from 1: what an
    # Originate's Context/Exten, a Local channel's ``;2`` half or a ``failed`` extension runs,
    # e.g. ``{"lab-outbound,connect": ("NoOp()", "Dial(PJSIP/agent2,10)", "Hangup()")}``.
    routines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Applications run before ``AGI()`` on an inbound call, e.g. ``("MixMonitor(lab-${UNIQUEID}
    # .wav)",)`` as the lab's 402 (S16 b).
    before_agi: tuple[str, ...] = ()
    # Where each step of this dialplan sits (the Priority of the caller's events), for a
    # dialplan numbered otherwise than pbxsim's own (NoOp 1, the before_agi applications, AGI,
    # everything after at 3):
    # ``answer`` (Answer() of answer_before_agi), ``agi``, ``handled`` (the Hangup of a call
    # the daemon handled), ``overflow``, ``fallback_prompt``, ``fallback_queue``, ``hangup``
    # (the last Hangup). The lab's 400 is {"fallback_prompt": 7, "fallback_queue": 8,
    # "hangup": 10, "handled": 12}.
    priorities: dict[str, int] = field(default_factory=dict)

    def priority(self, step: str) -> int:
        """The priority of a step: ``priorities``, else pbxsim's own numbering."""
        if step in self.priorities:
            return self.priorities[step]
        if step == "answer":
            return 1
        if step == "agi":
            return len(self.before_agi) + 2
        return 3


@dataclass(frozen=True)
class Timings:
    """Every delay the simulator waits for, so tests compress time by configuration."""

    # Answering a caller (AGI ANSWER, EXEC Answer, Answer() in the dialplan) takes as long as
    # Asterisk waits for the caller's first media frame: a few ms from a caller that sends audio
    # (S15/S16: 2.5-3.8 ms), 0.5 s from one that sends none (the lab's SIPp callers: S1, S4, S9,
    # S14 all 0.50 s). ``answer`` is the silent caller's; ``callers_send_audio`` says which
    # kind a call is unless place_call(sends_audio=...) says otherwise.
    answer: float = 0.5
    answer_with_audio: float = 0.003
    callers_send_audio: bool = True
    # res_agi's round trip for each AGI command (read, run, reply), before the command's own
    # work: 0.28 ms median over the S4/S9/S12 recordings (SET/GET/CHANNEL STATUS/NOOP/VERBOSE).
    # 0 here so tests run at full speed; `acd pbxsim` and the e2e bench turn it on.
    agi_command: float = 0.0
    login_failure_delay: float = 1.0
    ami_write_timeout: float = 1.0
    # Multiplies every duration named by the dialplan or by AGI commands (prompt lengths, Dial
    # and Wait timeouts), so a test replays a recorded scenario in a fraction of its time.
    time_scale: float = 1.0
    playback_after_agi: float | None = None
    qualify_timeout: float = 3.0
    contact_expiry_check: float = 30.0


@dataclass(frozen=True)
class PbxConfig:
    """Everything PbxSim needs; defaults start a small centre listening on free loopback ports."""

    ami_host: str = "127.0.0.1"
    ami_port: int = 0
    agi_url: str = "agi://127.0.0.1:4573/inbound"
    ami_users: tuple[AmiUser, ...] = (AmiUser(),)
    phones: tuple[PhoneConfig, ...] = ()
    queues: tuple[QueueConfig, ...] = (QueueConfig(),)
    trunk: str = "callers"
    dialplan: DialplanConfig = field(default_factory=DialplanConfig)
    timings: Timings = field(default_factory=Timings)
    seed: int = 1
    max_ami_backlog: int = 20000
    # Where MixMonitor writes a relative file name (Asterisk: astspooldir/monitor).
    monitor_dir: str = "/var/spool/asterisk/monitor"
    # asterisk.conf's systemname: prefixes every Uniqueid (``pbx-a-1733400000.12``), as each box
    # of a multi-PBX centre must have its own.
    systemname: str = ""
    # queues.conf [general] shared_lastcall (yes in the lab): a member's CallsTaken and
    # LastCall count the calls of every queue it belongs to.
    shared_lastcall: bool = True
