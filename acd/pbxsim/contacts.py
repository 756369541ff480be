"""Campaign contacts behind the trunk: people, answering machines, busy lines, unanswered rings.

An outbound campaign dials contacts, not advisors. Each contact is a pbxsim phone named by its
number (the dial string ``PJSIP/<number>``, as the callback tests dial customers), whose
behaviour is drawn once from a ``ContactPopulation``: a person answers after a log-normal delay
(a few rings) and talks; an answering machine answers after its rings, plays its greeting and
hangs up; a busy line refuses at once (486, S13 b); an unanswered one rings until the
Originate's ``Timeout`` (S13 c). Draws use their own seeded generator: the same numbers and seed
give the same contacts.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from acd.pbxsim.config import PhoneConfig, TalkDistribution
from acd.pbxsim.pbx import Pbx
from acd.pbxsim.phones import Phone, PhoneBehaviour

ContactKind = Literal["human", "machine", "busy", "no_answer"]


@dataclass(frozen=True)
class ContactPopulation:
    """Probabilities of each kind of contact (the rest never answer) and their delays (s)."""

    human: float = 0.25
    machine: float = 0.08
    busy: float = 0.07
    answer_mean_s: float = 12.0
    answer_sd_s: float = 6.0
    min_answer_s: float = 2.0
    talk_mean_s: float = 180.0
    talk_distribution: TalkDistribution = "exponential"
    machine_greeting_s: float = 20.0

    def __post_init__(self) -> None:
        shares = (self.human, self.machine, self.busy)
        if any(p < 0 for p in shares) or sum(shares) > 1:
            raise ValueError("human, machine and busy are probabilities summing to at most 1")
        if self.answer_mean_s <= 0 or self.answer_sd_s < 0 or self.talk_mean_s <= 0:
            raise ValueError("answer_mean_s and talk_mean_s must be > 0, answer_sd_s >= 0")

    def draw(self, rng: random.Random) -> tuple[ContactKind, PhoneBehaviour]:
        """One contact's kind and phone behaviour."""
        roll = rng.random()
        if roll < self.human:
            return "human", PhoneBehaviour(
                mode="answer",
                answer_delay=self._answer_delay(rng),
                talk_time=self.talk_mean_s,
                talk_distribution=self.talk_distribution,
                busy_when_in_call=True,
            )
        if roll < self.human + self.machine:
            return "machine", PhoneBehaviour(
                mode="answer",
                answer_delay=self._answer_delay(rng),
                talk_time=self.machine_greeting_s,
                machine=True,
            )
        if roll < self.human + self.machine + self.busy:
            return "busy", PhoneBehaviour(mode="busy")
        return "no_answer", PhoneBehaviour(mode="no_answer")

    def _answer_delay(self, rng: random.Random) -> float:
        if self.answer_sd_s == 0:
            return max(self.min_answer_s, self.answer_mean_s)
        sigma2 = math.log1p((self.answer_sd_s / self.answer_mean_s) ** 2)
        mu = math.log(self.answer_mean_s) - sigma2 / 2
        return max(self.min_answer_s, rng.lognormvariate(mu, math.sqrt(sigma2)))


def contact_phones(
    numbers: Iterable[str], population: ContactPopulation, seed: int = 0
) -> dict[str, tuple[ContactKind, Phone]]:
    """A phone per number (``+`` dropped from the endpoint name), with its drawn kind."""
    rng = random.Random(f"{seed}:contacts")
    phones: dict[str, tuple[ContactKind, Phone]] = {}
    for number in numbers:
        name = number.lstrip("+")
        kind, behaviour = population.draw(rng)
        config = PhoneConfig(name=name, number=name, display_name="", context="acd-contacts")
        phones[number] = (kind, Phone(config=config, behaviour=behaviour))
    return phones


def add_contacts(
    pbx: Pbx, numbers: Iterable[str], population: ContactPopulation, seed: int = 0
) -> dict[str, ContactKind]:
    """Put the contacts on ``pbx`` (reachable, idle); returns each number's kind."""
    kinds: dict[str, ContactKind] = {}
    for number, (kind, phone) in contact_phones(numbers, population, seed).items():
        pbx.phones[phone.name] = phone
        pbx.devices[phone.device] = "NOT_INUSE"
        kinds[number] = kind
    return kinds
