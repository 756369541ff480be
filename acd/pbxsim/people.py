"""Simulated people: callers arriving by queue (Poisson with a rate profile, bursts, scripted lists)
and advisors' phones with drawn behaviours. Everything is drawn from one seeded generator."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from acd.pbxsim.config import AnswerMode, PhoneConfig, TalkDistribution
from acd.pbxsim.dialplan import CallRecord
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim

FIRST_NAMES = (
    "Élodie",
    "François",
    "Anaïs",
    "Jérôme",
    "Hélène",
    "Zoé",
    "Gaëlle",
    "Noël",
    "Cécile",
    "Loïc",
    "Bérénice",
    "Aurélien",
    "Maëlys",
    "Raphaël",
    "Inès",
    "Sébastien",
)
LAST_NAMES = (
    "Lefèvre",
    "Dupré",
    "Gagné",
    "Bélanger",
    "Lévêque",
    "Pâquet",
    "Côté",
    "Mélançon",
    "Boulangé",
    "Ménard",
    "Thérien",
    "Groß",
    "Nuñez",
    "Aït-Ouméziane",
)


@dataclass(frozen=True)
class RateStep:
    """From ``start`` seconds on, callers arrive at ``calls_per_s`` (Poisson)."""

    start: float
    calls_per_s: float

    def __post_init__(self) -> None:
        if self.start < 0 or self.calls_per_s < 0:
            raise ValueError("rate steps need start >= 0 and calls_per_s >= 0")


@dataclass(frozen=True)
class Burst:
    """``count`` callers at once at ``at`` seconds (an outage elsewhere, a TV advert)."""

    at: float
    count: int


@dataclass(frozen=True)
class ScriptedCall:
    """One caller placed at an exact time, for reproducing a story."""

    at: float
    caller_num: str
    caller_name: str
    patience: float | None = None


@dataclass(frozen=True)
class CallerStream:
    """Callers of one queue: arrival profile, bursts, scripted calls and patience (exponential)."""

    queue: str
    number: str = "400"
    profile: tuple[RateStep, ...] = (RateStep(0.0, 1.0),)
    bursts: tuple[Burst, ...] = ()
    scripted: tuple[ScriptedCall, ...] = ()
    mean_patience: float | None = 60.0
    # Callers may end the conversation themselves (exponential); None leaves it to advisors.
    mean_talk_time: float | None = None


def caller_identity(rng: random.Random) -> tuple[str, str]:
    """A French mobile number and an accented name."""
    number = f"+336{rng.randrange(10**8):08d}"
    return number, f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def arrival_times(stream: CallerStream, duration: float, rng: random.Random) -> list[float]:
    """Piecewise-constant Poisson arrivals over [0, duration), plus bursts."""
    steps = sorted(stream.profile, key=lambda step: step.start)
    times: list[float] = []
    for index, step in enumerate(steps):
        end = steps[index + 1].start if index + 1 < len(steps) else duration
        t = step.start
        while step.calls_per_s > 0:
            t += rng.expovariate(step.calls_per_s)
            if t >= min(end, duration):
                break
            times.append(t)
    for burst in stream.bursts:
        if burst.at < duration:
            times.extend([burst.at] * burst.count)
    return sorted(times)


@dataclass
class Crowd:
    """Places every caller of the given streams on a running PbxSim; ``run`` returns the records."""

    sim: PbxSim
    streams: tuple[CallerStream, ...]
    duration: float
    seed: int = 1
    records: list[CallRecord] = field(default_factory=list)

    async def run(self) -> list[CallRecord]:
        rng = random.Random(self.seed)
        plan: list[tuple[float, CallerStream, str, str, float | None]] = []
        talk: dict[int, float | None] = {}
        for stream in self.streams:
            for at in arrival_times(stream, self.duration, rng):
                number, name = caller_identity(rng)
                patience = (
                    rng.expovariate(1.0 / stream.mean_patience) if stream.mean_patience else None
                )
                plan.append((at, stream, number, name, patience))
                talk[len(plan) - 1] = (
                    rng.expovariate(1.0 / stream.mean_talk_time) if stream.mean_talk_time else None
                )
            for scripted in stream.scripted:
                plan.append(
                    (
                        scripted.at,
                        stream,
                        scripted.caller_num,
                        scripted.caller_name,
                        scripted.patience,
                    )
                )
        order = sorted(range(len(plan)), key=lambda index: plan[index][0])
        loop = asyncio.get_running_loop()
        started = loop.time()
        for index in order:
            at, stream, number, name, patience = plan[index]
            delay = started + at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.records.append(
                self.sim.place_call(
                    number=stream.number,
                    queue=stream.queue,
                    caller_num=number,
                    caller_name=name,
                    patience=patience,
                    talk_time=talk.get(index),
                )
            )
        return self.records


@dataclass(frozen=True)
class AdvisorMix:
    """How a population of advisors' phones behaves; shares are fractions of the phones."""

    answer_delay: float = 2.0
    mean_talk_time: float = 120.0
    talk_distribution: TalkDistribution = "exponential"
    never_answer: float = 0.0
    busy: float = 0.0
    unregistered: float = 0.0


def advisor_phones(
    count: int, prefix: str = "agent", first_number: int = 6001
) -> tuple[PhoneConfig, ...]:
    """``count`` PJSIP endpoints named agent1..agentN with numbers 6001...."""
    rng = random.Random(count)
    phones = []
    for index in range(1, count + 1):
        _, name = caller_identity(rng)
        phones.append(PhoneConfig(f"{prefix}{index}", str(first_number + index - 1), name))
    return tuple(phones)


def apply_mix(sim: PbxSim, mix: AdvisorMix, seed: int = 1) -> None:
    """Give every phone a behaviour drawn from the mix (seeded)."""
    rng = random.Random(seed)
    for phone in sim.pbx.phones.values():
        draw = rng.random()
        if draw < mix.unregistered:
            phone.registered = False
            sim.pbx.update_device(phone.name)
            continue
        draw -= mix.unregistered
        mode: AnswerMode = "answer"
        if draw < mix.never_answer:
            mode = "no_answer"
        elif draw < mix.never_answer + mix.busy:
            mode = "busy"
        phone.behaviour = PhoneBehaviour(
            mode=mode,
            answer_delay=mix.answer_delay * (0.5 + rng.random()),
            talk_time=mix.mean_talk_time,
            talk_distribution=mix.talk_distribution,
        )
