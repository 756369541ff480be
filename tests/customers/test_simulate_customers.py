"""`acd simulate` routes on customers as the daemon does: VIP priority, repeat callers' advisor."""

from __future__ import annotations

from pathlib import Path

from acd.core.config import AcdConfig, AgentConfig, QueueConfig, RoutingStep, WorkloadPolicy
from acd.core.customers import CustomerRouting
from acd.sim.distributions import Constant
from acd.sim.scenario import QueueDemand, Scenario
from acd.sim.scenario_file import read_arrivals_csv
from acd.sim.simulator import run_day


def centre(routing: CustomerRouting, advisors: int) -> AcdConfig:
    return AcdConfig(
        queues=(
            QueueConfig(
                name="q",
                steps=(RoutingStep("any"),),
                announce_interval_s=None,
                wrap_up_s=0.0,
            ),
        ),
        agents=tuple(AgentConfig(id=f"a{i}", queues=("q",)) for i in range(1, advisors + 1)),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0.0),
        customers=routing,
    )


def day(tmp_path: Path, rows: str) -> Scenario:
    path = tmp_path / "arrivals.csv"
    path.write_text("time,queue,handle_s,patience_s,customer_id,vip,preferred_agent\n" + rows)
    return Scenario(
        open_s=0.0,
        close_s=3600.0,
        queues=(QueueDemand("q"),),
        arrivals=tuple(read_arrivals_csv(path)),
        ring_delay_s=Constant(0.0),
    )


def test_a_vip_is_answered_before_callers_who_came_first(tmp_path: Path) -> None:
    """One busy advisor, two waiting callers: the VIP who came second is answered first."""
    scenario = day(
        tmp_path,
        "00:00:00,q,100,,,,\n00:00:10,q,50,,,,\n00:00:20,q,50,,c9,3,\n",
    )
    result = run_day(centre(CustomerRouting(vip_priority={3: 50}), advisors=1), scenario)
    answered = sorted(result.calls, key=lambda c: c.answered_at or 0.0)
    assert [c.call_id for c in answered] == ["c000001", "c000003", "c000002"]


def test_a_repeat_caller_gets_the_advisor_who_answered_them_last(tmp_path: Path) -> None:
    """With preferred_hold_s, customer c1's second call goes to their first call's advisor."""
    scenario = day(
        tmp_path,
        "00:00:00,q,30,,c1,,\n00:00:01,q,30,,,,\n00:10:00,q,30,,c1,,\n",
    )
    config = centre(CustomerRouting(preferred_hold_s={"q": 60.0}), advisors=3)
    result = run_day(config, scenario)
    by_id = {c.call_id: c for c in result.calls}
    assert by_id["c000003"].agent_id == by_id["c000001"].agent_id
    without = run_day(centre(CustomerRouting(), advisors=3), scenario)
    other = {c.call_id: c.agent_id for c in without.calls}
    # Longest idle alone would not have picked the same advisor again.
    assert other["c000003"] != other["c000001"]


def test_an_english_speaker_is_routed_to_the_english_queue_in_a_simulated_day(
    tmp_path: Path,
) -> None:
    """The arrivals CSV's ``language`` column reaches the engine: an English caller is answered
    in q_en by the English-speaking advisor, the others in q."""
    path = tmp_path / "arrivals.csv"
    path.write_text("time,queue,handle_s,patience_s,language\n00:00:00,q,30,,en\n00:00:01,q,30,,\n")
    config = AcdConfig(
        queues=(
            QueueConfig(name="q", steps=(RoutingStep("any"),), announce_interval_s=None),
            QueueConfig(name="q_en", steps=(RoutingStep("english"),), announce_interval_s=None),
        ),
        agents=(
            AgentConfig(id="fr1", queues=("q",)),
            AgentConfig(id="en1", queues=("q", "q_en"), skills={"english": 1}),
        ),
        workload=WorkloadPolicy(enabled=False, min_wrap_up_s=0.0),
        customers=CustomerRouting(language_queues={"q": {"en": "q_en"}}),
    )
    scenario = Scenario(
        open_s=0.0,
        close_s=3600.0,
        queues=(QueueDemand("q"),),
        arrivals=tuple(read_arrivals_csv(path)),
        ring_delay_s=Constant(0.0),
    )
    by_id = {c.call_id: (c.queue, c.agent_id) for c in run_day(config, scenario).calls}
    assert by_id == {"c000001": ("q_en", "en1"), "c000002": ("q", "fr1")}
