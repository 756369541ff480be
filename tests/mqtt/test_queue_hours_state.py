"""The queue's opening hours in its retained MQTT state, without a broker."""

from __future__ import annotations

from acd.core.calendar import Opening, Reason
from acd.core.engine import Engine
from acd.core.events import QueueHoursChanged
from acd.mqtt import MqttBridge, payloads
from acd.runtime.clock import SteadyWallClock
from acd.runtime.dispatcher import Dispatcher
from acd.settings import MqttSettings, parse_settings

CLOSED_FOR_NOEL = Opening(
    open=False,
    reason=Reason.HOLIDAY,
    detail="Noël",
    next_change=1_000_086_400.0,
    next_open=True,
    in_hours=False,
)


def _engine() -> Engine:
    settings = parse_settings(
        {
            "workload": {"enabled": False},
            "queues": {"support": {"announce_interval_s": None}},
            "agents": {"a": {"endpoint": "PJSIP/a", "queues": ["support"]}},
        }
    )
    return Engine(settings.to_core(), start_at=1_000_000_000.0)


def test_queue_stats_carry_the_hours_in_force() -> None:
    """After a closing, the retained queue state says closed, why, and when it reopens."""
    engine = _engine()
    opened = payloads.queue_stats(engine.queue_view("support"), engine.now)["hours"]
    assert opened["open"] is True
    assert opened["next_change"] is None
    engine.handle(QueueHoursChanged(at=1_000_000_001.0, queue="support", opening=CLOSED_FOR_NOEL))
    hours = payloads.queue_stats(engine.queue_view("support"), engine.now)["hours"]
    assert hours == {
        "open": False,
        "reason": "holiday",
        "detail": "Noël",
        "next_change": 1_000_086_400.0,
        "next_open": True,
    }


def test_an_opening_change_marks_the_queue_state_for_republishing() -> None:
    """A QueueHoursChanged, which changes no call, still marks the queue's retained state dirty."""
    engine = _engine()
    clock = SteadyWallClock()
    bridge = MqttBridge(MqttSettings(enabled=True), engine, Dispatcher(engine, clock))
    bridge._dirty_queues.clear()
    event = QueueHoursChanged(at=1_000_000_001.0, queue="support", opening=CLOSED_FOR_NOEL)
    bridge.observe(event, engine.handle(event))
    assert bridge._dirty_queues == {"support"}
