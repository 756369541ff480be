"""Advisors' phones as a SIP user agent would behave: answer, ring out, refuse busy, hang up."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from acd.pbxsim.config import AnswerMode, PhoneConfig, TalkDistribution


@dataclass
class PhoneBehaviour:
    """What the phone does with an INVITE. Delays in seconds; ``talk_time=None`` never hangs up."""

    mode: AnswerMode = "answer"
    ring_delay: float = 0.0
    answer_delay: float = 0.2
    talk_time: float | None = None
    talk_distribution: TalkDistribution = "fixed"
    busy_when_in_call: bool = True
    # An answering machine: Asterisk's AMD() hears its long greeting (AMDSTATUS=MACHINE); a
    # person says a short "allô" then waits (HUMAN).
    machine: bool = False
    # A blind transfer (REFER) to this extension of the advisors' context, ``transfer_after``
    # seconds into the conversation, instead of hanging up.
    blind_transfer_to: str | None = None
    transfer_after: float = 0.0
    # An attended transfer: hold after ``hold_after`` s of talk, consult ``attended_transfer_to``
    # from a second line ``consult_after`` s later, REFER/Replaces ``refer_after`` s after the
    # consulted advisor answered.
    attended_transfer_to: str | None = None
    hold_after: float = 0.0
    consult_after: float = 0.0
    refer_after: float = 0.0

    def __post_init__(self) -> None:
        if self.ring_delay < 0 or self.answer_delay < 0:
            raise ValueError("phone delays must be >= 0")
        if self.talk_time is not None and self.talk_time < 0:
            raise ValueError("talk_time must be >= 0")

    def draw_talk_time(self, rng: random.Random) -> float | None:
        if self.talk_time is None:
            return None
        if self.talk_distribution == "exponential":
            return rng.expovariate(1.0 / self.talk_time) if self.talk_time > 0 else 0.0
        if self.talk_distribution == "lognormal":
            # sigma 0.5: most talk times within a factor of 2.7 of the median
            return rng.lognormvariate(0.0, 0.5) * self.talk_time
        return self.talk_time


@dataclass
class Phone:
    """A PJSIP endpoint with its AOR contact; ``reachable`` mirrors qualify results."""

    config: PhoneConfig
    behaviour: PhoneBehaviour = field(default_factory=PhoneBehaviour)
    registered: bool = True
    reachable: bool = True
    # A phone that REGISTERs (dynamic AOR contact) rather than a static contact in pjsip.conf.
    dynamic: bool = False
    contact_port: int = 5060

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def device(self) -> str:
        return f"PJSIP/{self.config.name}"

    @property
    def contact_uri(self) -> str:
        return f"sip:{self.config.name}@127.0.0.1:{self.contact_port}"

    @property
    def has_contact(self) -> bool:
        return self.registered
