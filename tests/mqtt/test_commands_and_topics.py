"""Command validation, topic names and the bounded outbox, without a broker."""

from __future__ import annotations

import json
import time

import pytest
import structlog

from acd.core.engine import Engine
from acd.core.events import AgentLoggedIn, AgentPaused, CallArrived, WrapUpEnded
from acd.mqtt import InvalidCommandError, MqttBridge, TopicError, Topics, parse_command
from acd.runtime.clock import SteadyWallClock
from acd.runtime.dispatcher import Dispatcher
from acd.settings import MqttSettings, parse_settings


def test_a_valid_pause_becomes_the_engine_event() -> None:
    """A pause command with a reason and a request id becomes AgentPaused for that advisor."""
    command = parse_command(
        "a1", json.dumps({"action": "pause", "reason": " lunch ", "request_id": "r-1"}).encode()
    )
    assert command.request_id == "r-1"
    assert command.to_event(12.0) == AgentPaused(at=12.0, agent_id="a1", reason="lunch")


def test_every_action_maps_to_its_event() -> None:
    """login (optionally paused), logout, ready, recovery and end_wrap_up each map to one event."""
    login = parse_command("a1", b'{"action": "login", "reason": "training"}').to_event(1.0)
    assert login == AgentLoggedIn(at=1.0, agent_id="a1", paused_reason="training")
    names = {
        action: type(
            parse_command("a1", json.dumps({"action": action}).encode()).to_event(1.0)
        ).__name__
        for action in ("logout", "ready", "recovery", "end_wrap_up")
    }
    assert names == {
        "logout": "AgentLoggedOut",
        "ready": "AgentReady",
        "recovery": "RecoveryPauseRequested",
        "end_wrap_up": "WrapUpEnded",
    }
    assert parse_command("a1", b'{"action": "end_wrap_up"}').to_event(2.0) == WrapUpEnded(
        at=2.0, agent_id="a1"
    )


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b'"pause"', "JSON object"),
        (b'{"action": "fly"}', "action must be one of"),
        (b'{"action": "pause"}', "needs a reason"),
        (b'{"action": "pause", "reason": ""}', "reason"),
        (b'{"action": "pause", "reason": "a\\nb"}', "reason"),
        (b'{"action": "pause", "reason": 5}', "reason"),
        (b'{"action": "logout", "reason": "x"}', "takes no reason"),
        (b'{"action": "ready", "request_id": "bad id!"}', "request_id"),
        (b'{"action": "ready", "agent": "other"}', "unknown fields"),
        (b'{"action": "ready", "x": "' + b"y" * 5000 + b'"}', "over 4096 bytes"),
    ],
)
def test_invalid_commands_are_refused_with_the_reason(payload: bytes, problem: str) -> None:
    """Malformed commands raise InvalidCommandError naming what is wrong."""
    with pytest.raises(InvalidCommandError, match=problem):
        parse_command("a1", payload)


def test_topics_follow_the_documented_layout() -> None:
    """Every topic sits under the prefix, as docs/mqtt.md lists them."""
    topics = Topics("centre/acd/v1")
    assert topics.agent_state("a1") == "centre/acd/v1/agents/a1/state"
    assert topics.agent_results("a1") == "centre/acd/v1/agents/a1/results"
    assert topics.agent_commands == "centre/acd/v1/agents/+/commands"
    assert topics.queue_stats("support") == "centre/acd/v1/queues/support/stats"
    assert topics.call_events == "centre/acd/v1/calls/events"
    assert topics.call_completed == "centre/acd/v1/calls/completed"
    assert topics.status == "centre/acd/v1/status"
    assert topics.commanded_agent("centre/acd/v1/agents/a1/commands") == "a1"
    assert topics.commanded_agent("centre/acd/v1/agents/a1/state") is None
    assert topics.commanded_agent("other/agents/a1/commands") is None


@pytest.mark.parametrize("prefix", ["", "/acd", "acd/", "acd/#", "acd/+/v1", "a//b", "acd v1"])
def test_unusable_prefixes_are_refused(prefix: str) -> None:
    """A prefix with wildcards, empty levels or spaces never becomes a Topics."""
    with pytest.raises(TopicError):
        Topics(prefix)


def test_ids_that_cannot_be_a_topic_level_are_refused() -> None:
    """An advisor id with a wildcard or separator cannot be turned into a topic."""
    with pytest.raises(TopicError):
        Topics().agent_state("a/b")
    with pytest.raises(TopicError):
        Topics().queue_stats("#")


def test_outbox_is_bounded_and_observe_never_waits() -> None:
    """With no broker, call events beyond the outbox size drop the oldest and are counted."""
    settings = parse_settings(
        {
            "workload": {"enabled": False},
            "queues": {"q": {"announce_interval_s": None}},
            "agents": {"a": {"endpoint": "PJSIP/a", "queues": ["q"]}},
        }
    )
    clock = SteadyWallClock()
    engine = Engine(settings.to_core(), start_at=clock.now())
    dispatcher = Dispatcher(engine, clock)
    bridge = MqttBridge(MqttSettings(enabled=True), engine, dispatcher, outbox_size=10)
    started = time.perf_counter()
    with structlog.testing.capture_logs() as entries:
        for i in range(40):
            event = CallArrived(at=clock.now(), call_id=f"c{i}", queue="q")
            bridge.observe(event, engine.handle(event))
    elapsed = time.perf_counter() - started
    assert [e["event"] for e in entries] == ["mqtt_outbox_full"]
    assert len(bridge.outbox) == 10
    assert bridge.dropped == 30
    assert bridge.outbox[-1].call_id == "c39"
    assert elapsed < 0.5


def test_a_url_with_another_scheme_is_refused() -> None:
    """Only mqtt:// and mqtts:// broker URLs are accepted."""
    settings = parse_settings({})
    engine = Engine(settings.to_core())
    dispatcher = Dispatcher(engine, SteadyWallClock())
    with pytest.raises(ValueError, match="scheme"):
        MqttBridge(MqttSettings(url="http://broker:1883"), engine, dispatcher)
