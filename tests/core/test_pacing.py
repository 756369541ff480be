"""Outbound pacing: preview never dials, progressive one per free advisor, predictive capped."""

from __future__ import annotations

import pytest

from acd.core.errors import ConfigError
from acd.core.pacing import (
    AbandonMeter,
    DialMode,
    Pacer,
    PacingInputs,
    PacingPolicy,
    predictive_dials,
    progressive_dials,
)


def inputs(
    free: int = 10, busy: int = 0, wrapping: int = 0, in_flight: int = 0, waiting: int = 0
) -> PacingInputs:
    return PacingInputs(
        free_advisors=free,
        busy_advisors=busy,
        wrapping_advisors=wrapping,
        in_flight=in_flight,
        waiting=waiting,
        mean_handle_s=180.0,
        wrap_up_s=5.0,
        answer_delay_s=12.0,
    )


def measured_pacer(mode: DialMode, answers: int = 25, results: int = 100) -> Pacer:
    pacer = Pacer(PacingPolicy(mode=mode))
    for i in range(results):
        pacer.resolved(answered=i < answers)
    return pacer


def test_preview_never_dials_by_itself() -> None:
    """Preview: the advisor clicks to call; the pacer asks for no dial."""
    assert measured_pacer(DialMode.PREVIEW).dials_now(0.0, inputs(free=10)) == 0


def test_progressive_dials_one_per_free_advisor_not_yet_covered() -> None:
    """Progressive: free advisors minus dials in flight and contacts waiting."""
    pacer = measured_pacer(DialMode.PROGRESSIVE)
    assert pacer.dials_now(0.0, inputs(free=10)) == 10
    assert pacer.dials_now(0.0, inputs(free=10, in_flight=7, waiting=1)) == 2
    assert progressive_dials(inputs(free=2, in_flight=5)) == 0


def test_predictive_dials_more_than_free_advisors_at_a_low_answer_rate() -> None:
    """At a 25 % answer rate, predictive dials several contacts per free advisor."""
    dials = predictive_dials(inputs(free=20), answer_rate=0.25, target=0.03)
    assert 20 < dials < 80


def test_predictive_counts_advisors_about_to_free_up() -> None:
    """Advisors on a call free up while the dials ring: more dials than with nobody busy."""
    alone = predictive_dials(inputs(free=10), 0.25, 0.03)
    with_busy = predictive_dials(inputs(free=10, busy=90), 0.25, 0.03)
    assert with_busy > alone


def test_predictive_never_dials_when_contacts_already_wait() -> None:
    """Answered contacts waiting for every free advisor: no new dial."""
    assert predictive_dials(inputs(free=3, waiting=3), 0.25, 0.03) == 0


def test_predictive_respects_the_window_budget() -> None:
    """With no room left in the window's abandon budget, dial no more than is safe."""
    generous = predictive_dials(inputs(free=20), 0.25, 0.03)
    none_left = predictive_dials(inputs(free=20), 0.25, 0.03, budget=0.0)
    assert none_left < generous


def test_predictive_starts_progressive_until_the_answer_rate_is_measured() -> None:
    """Before ``prior_weight`` dials have a result, predictive dials progressively."""
    pacer = measured_pacer(DialMode.PREDICTIVE, answers=2, results=10)
    assert pacer.dials_now(0.0, inputs(free=10)) == 10
    measured = measured_pacer(DialMode.PREDICTIVE)
    assert measured.dials_now(0.0, inputs(free=10)) > 10


def test_predictive_falls_back_to_progressive_near_the_cap() -> None:
    """Once the 15-minute window nears the 3 % cap, no more overdialing."""
    pacer = measured_pacer(DialMode.PREDICTIVE)
    for i in range(100):
        pacer.connected(float(i))
    for i in range(3):
        pacer.abandoned(100.0 + i)
    assert pacer.over_cap(110.0)
    assert pacer.dials_now(110.0, inputs(free=10)) == 10
    # Fifteen minutes later the window has forgotten them, but the day has not.
    assert pacer.over_cap(100.0 + 901.0)


def test_abandon_meter_windows_slide() -> None:
    """The 15-minute window forgets after 900 s, the day after 24 h."""
    meter = AbandonMeter()
    meter.record(0.0, abandoned=True)
    meter.record(10.0, abandoned=False)
    assert meter.window(899.0) == (1, 2)
    assert meter.window(900.0) == (0, 1)
    assert meter.day(900.0) == (1, 2)
    assert meter.day(86_400.0) == (0, 1)


def test_policy_is_checked() -> None:
    """An abandon cap above 20 % or a zero no-advisor delay is refused."""
    with pytest.raises(ConfigError, match="abandon_cap"):
        PacingPolicy(abandon_cap=0.5)
    with pytest.raises(ConfigError, match="no_advisor_s"):
        PacingPolicy(no_advisor_s=0)
