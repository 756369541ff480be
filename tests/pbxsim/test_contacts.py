"""pbxsim's campaign contacts: the drawn mix, and Originate outcomes as S13 recorded them."""

from __future__ import annotations

import asyncio
import random

import pytest

from acd.pbxsim.config import PbxConfig
from acd.pbxsim.contacts import ContactPopulation, add_contacts, contact_phones
from acd.pbxsim.originate import OriginateRequest, Originator
from acd.pbxsim.pbx import Pbx
from acd.pbxsim.routines import Routines


def test_population_mix_follows_its_probabilities() -> None:
    """Among 10,000 contacts the kinds come in the configured shares (within 1.5 points)."""
    numbers = [f"+331{i:08d}" for i in range(10_000)]
    kinds = [kind for kind, _ in contact_phones(numbers, ContactPopulation(), seed=1).values()]
    shares = {kind: kinds.count(kind) / len(kinds) for kind in set(kinds)}
    assert shares["human"] == pytest.approx(0.25, abs=0.015)
    assert shares["machine"] == pytest.approx(0.08, abs=0.015)
    assert shares["busy"] == pytest.approx(0.07, abs=0.015)
    assert shares["no_answer"] == pytest.approx(0.60, abs=0.015)


def test_answer_delays_are_realistic() -> None:
    """People pick up after a few rings: mean near 12 s, never under 2 s."""
    rng = random.Random(3)
    population = ContactPopulation(human=1.0, machine=0.0, busy=0.0)
    delays = [population.draw(rng)[1].answer_delay for _ in range(5000)]
    assert min(delays) >= 2.0
    assert sum(delays) / len(delays) == pytest.approx(12.0, rel=0.05)


def test_same_seed_same_contacts() -> None:
    """The same numbers and seed give the same kinds and delays."""
    numbers = [f"+331{i:08d}" for i in range(50)]
    first = contact_phones(numbers, ContactPopulation(), seed=9)
    again = contact_phones(numbers, ContactPopulation(), seed=9)
    assert [(k, p.behaviour) for k, p in first.values()] == [
        (k, p.behaviour) for k, p in again.values()
    ]


def test_bad_population_is_refused() -> None:
    """Probabilities summing over 1 are refused."""
    with pytest.raises(ValueError, match="at most 1"):
        ContactPopulation(human=0.7, machine=0.2, busy=0.2)


@pytest.mark.parametrize(
    ("population", "reason"),
    [
        (
            ContactPopulation(
                human=1.0,
                machine=0.0,
                busy=0.0,
                answer_sd_s=0.0,
                answer_mean_s=0.05,
                min_answer_s=0.0,
                talk_mean_s=0.05,
            ),
            "4",
        ),
        (ContactPopulation(human=0.0, machine=0.0, busy=1.0), "0"),
        (ContactPopulation(human=0.0, machine=0.0, busy=0.0), "3"),
    ],
    ids=["human", "busy", "no_answer"],
)
async def test_originate_to_a_contact_ends_as_s13(
    population: ContactPopulation, reason: str
) -> None:
    """Answered: Success Reason 4; busy: Failure Reason 0; unanswered: Failure Reason 3."""
    pbx = Pbx(PbxConfig())
    responses: list[dict[str, str]] = []
    pbx.event_listeners.append(
        lambda event: (
            responses.append(dict(event.headers)) if event.name == "OriginateResponse" else None
        )
    )
    add_contacts(pbx, ["+33199000001"], population, seed=1)
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    request = OriginateRequest(
        target="PJSIP/33199000001",
        context="acd-outbound",
        exten="connect",
        timeout=0.3,
        caller_num="+33162000001",
        action_id="t1",
    )
    await asyncio.wait_for(Originator(pbx, Routines(pbx)).run(request, outcome), 5)
    assert outcome.done()
    assert outcome.result() is (reason == "4")
    assert [r["Reason"] for r in responses] == [reason]
    assert responses[0]["Response"] == ("Success" if reason == "4" else "Failure")
