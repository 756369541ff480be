"""The supervisor's breather alert on MQTT (docs/mqtt.md): a queue's stats count the callers held
only by breathers, and the call event stream carries a ``breather_hold`` line for each."""

from __future__ import annotations

from acd.core import commands as cmd
from acd.mqtt.payloads import call_event, queue_stats
from tests.core.test_breather_trade_off import _one_advisor_busy_until_105


def test_the_breather_alert_is_in_the_queue_stats_and_the_event_stream() -> None:
    """The only able advisor starts a breather: ``queues/sales/stats`` says one caller is held,
    ``calls/events`` has the caller's ``breather_hold`` with how many advisors breathe; 0 after."""
    h = _one_advisor_busy_until_105()
    out = h.fire("wrap_up:a1:")
    assert queue_stats(h.engine.queue_view("sales", h.t), h.t)["breather_hold"] == 1
    [held] = [
        call_event(c)
        for c in out
        if isinstance(c, cmd.RecordCallEvent) and c.kind == "breather_hold"
    ]
    assert (held["call_id"], held["queue"], held["agent_id"]) == ("c2", "sales", None)
    assert held["data"]["advisors"] == 1  # able advisors in a breather
    h.fire("breather:a1:")
    assert queue_stats(h.engine.queue_view("sales", h.t), h.t)["breather_hold"] == 0
