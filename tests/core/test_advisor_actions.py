"""One mapping from an advisor's action to its event, shared by feature codes, HTTP and MQTT."""

from __future__ import annotations

import pytest

from acd.core import events as ev


@pytest.mark.parametrize(
    ("action", "reason", "expected"),
    [
        ("login", None, ev.AgentLoggedIn(at=5.0, agent_id="a1")),
        ("login", "training", ev.AgentLoggedIn(at=5.0, agent_id="a1", paused_reason="training")),
        ("logout", None, ev.AgentLoggedOut(at=5.0, agent_id="a1")),
        ("pause", "lunch", ev.AgentPaused(at=5.0, agent_id="a1", reason="lunch")),
        ("ready", None, ev.AgentReady(at=5.0, agent_id="a1")),
        ("recovery", None, ev.RecoveryPauseRequested(at=5.0, agent_id="a1")),
        ("end_wrap_up", None, ev.WrapUpEnded(at=5.0, agent_id="a1")),
    ],
)
def test_each_action_becomes_its_event(
    action: str, reason: str | None, expected: ev.AdvisorEvent
) -> None:
    """Every advisor action, with or without a reason, maps to exactly one event."""
    assert ev.advisor_event(action, "a1", 5.0, reason) == expected


def test_every_listed_action_is_mapped() -> None:
    """ADVISOR_ACTIONS and the mapping agree: no interface offers an action without an event."""
    for action in ev.ADVISOR_ACTIONS:
        reason = "break" if action == "pause" else None
        assert ev.advisor_event(action, "a1", 0.0, reason).agent_id == "a1"


@pytest.mark.parametrize(
    ("action", "reason", "message"),
    [
        ("pause", None, "pause needs a reason"),
        ("ready", "lunch", "ready takes no reason"),
        ("dance", None, "unknown advisor action 'dance'"),
    ],
)
def test_bad_actions_are_refused_with_the_reason(
    action: str, reason: str | None, message: str
) -> None:
    """A pause without reason, a reason where none applies, an unknown action: ValueError."""
    with pytest.raises(ValueError, match=message):
        ev.advisor_event(action, "a1", 0.0, reason)
