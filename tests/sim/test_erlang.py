"""Erlang B, C and A formulas: known values, limits, identities and numerical stability."""

from __future__ import annotations

import math

import pytest

from acd.sim.erlang import agents_needed, erlang_a, erlang_b, erlang_c


def test_erlang_b_matches_the_closed_form_for_small_groups() -> None:
    """The stable recursion equals a^c/c! / sum(a^k/k!) where the closed form is computable."""
    for a, c in [(1.0, 1), (2.5, 3), (7.0, 10)]:
        closed = (a**c / math.factorial(c)) / sum(a**k / math.factorial(k) for k in range(c + 1))
        assert erlang_b(a, c) == pytest.approx(closed, rel=1e-12)


def test_erlang_c_textbook_value() -> None:
    """10 Erlangs on 11 advisors: probability of waiting 0.6821 (standard tables)."""
    theory = erlang_c(10 / 180, 180.0, 11, 20.0)
    assert theory.probability_of_wait == pytest.approx(0.6821, abs=1e-4)
    assert theory.asa_s == pytest.approx(0.6821 * 180 / 1, rel=1e-3)
    assert theory.service_level == pytest.approx(1 - 0.68212 * math.exp(-20 / 180), abs=1e-4)


def test_erlang_c_is_unstable_at_or_above_full_load() -> None:
    """With the load at the number of advisors, nobody is answered within any threshold."""
    theory = erlang_c(10 / 180, 180.0, 10, 20.0)
    assert not theory.stable
    assert theory.service_level == 0.0


def test_erlang_a_tends_to_erlang_c_as_patience_grows() -> None:
    """Very patient callers make Erlang A's figures Erlang C's."""
    c = erlang_c(9.5 / 180, 180.0, 11, 20.0)
    a = erlang_a(9.5 / 180, 180.0, 11, 20.0, 1e7)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-3)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-2)
    assert a.abandon_rate < 1e-4


def test_erlang_a_abandon_rate_equals_theta_times_mean_queue_over_lambda() -> None:
    """Flow balance: abandons per second = θ·E[queue], computed independently of the formula."""
    rate, handle, agents, patience = 12 / 180, 180.0, 10, 90.0
    mu, theta = 1 / handle, 1 / patience
    weights = [1.0]
    for k in range(1, 400):
        weights.append(weights[-1] * rate / (min(k, agents) * mu + max(k - agents, 0) * theta))
    total = sum(weights)
    mean_queue = sum(max(k - agents, 0) * w for k, w in enumerate(weights)) / total
    theory = erlang_a(rate, handle, agents, 20.0, patience)
    assert theory.abandon_rate == pytest.approx(theta * mean_queue / rate, rel=1e-9)
    assert theory.stable  # with abandons the queue settles even over full load


def test_erlang_a_service_level_at_zero_threshold_is_immediate_answer() -> None:
    """Answered within 0 s means found a free advisor: 1 − P(wait)."""
    theory = erlang_a(8 / 180, 180.0, 10, 0.0, 120.0)
    assert theory.service_level == pytest.approx(1 - theory.probability_of_wait)


def test_erlang_a_handles_hundreds_of_advisors_without_overflow() -> None:
    """500 advisors at 98 % load: finite, sensible figures (no factorial, no overflow)."""
    theory = erlang_a(490 / 300, 300.0, 500, 20.0, 180.0)
    assert 0 < theory.service_level < 1
    assert math.isfinite(theory.asa_s)
    assert 0 < theory.abandon_rate < 0.1


def test_agents_needed_is_the_fewest_meeting_the_target() -> None:
    """The answer meets the target and one advisor fewer does not (C and A)."""
    for patience in (math.inf, 120.0):
        needed = agents_needed(300 / 3600, 240.0, 20.0, 0.8, patience)
        assert needed.service_level >= 0.8
        fewer = erlang_a(300 / 3600, 240.0, needed.agents - 1, 20.0, patience)
        assert fewer.service_level < 0.8
    assert (
        agents_needed(300 / 3600, 240.0, 20.0, 0.8, 120.0).agents
        <= agents_needed(300 / 3600, 240.0, 20.0, 0.8).agents
    )


def test_invalid_inputs_are_refused() -> None:
    """Zero rate, zero advisors or a negative threshold raise ValueError."""
    with pytest.raises(ValueError, match="arrival rate"):
        erlang_c(0.0, 180.0, 3, 20.0)
    with pytest.raises(ValueError, match="advisor"):
        erlang_c(0.1, 180.0, 0, 20.0)
    with pytest.raises(ValueError, match="threshold"):
        erlang_a(0.1, 180.0, 3, -1.0, 60.0)
