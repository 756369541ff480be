"""A ring that cannot reach the advisor's phone is no miss, and is not retried in a loop (pbxsim).

Found with a phone whose contact was gone while the PBX still showed it idle (S11d: Dial returns
CHANUNAVAIL at once, with no channel and no device event): it was counted as the advisor's miss,
so ``max_missed`` such rings paused an advisor who had done nothing. Now the phone is marked
unreachable, the caller goes to the next advisor, and the phone is rung again only once the PBX
reports it back (unavailable, then idle) or after a back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from acd.app import Daemon
from acd.core.commands import RingAgent
from acd.core.engine import UNREACHABLE_RETRY_S
from acd.core.events import AgentPaused, AgentReady
from acd.core.states import Activity, PhoneState
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.settings import parse_settings
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, Centre, EventLog, pbx_config


@contextlib.asynccontextmanager
async def strict_centre() -> AsyncIterator[Centre]:
    """pbxsim and the daemon, every advisor logged in, one miss enough to pause them."""
    async with PbxSim(pbx_config()) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=0.3)
        settings = parse_settings(
            {
                "ami": {"port": pbx.ami_port, "secret": "acdsecret", "ping_interval_s": 5},
                "fastagi": {"port": 0},
                "workload": {"min_wrap_up_s": 0},
                "queues": {
                    "support": {"announce_interval_s": None, "wrap_up_s": 0.2, "ring_timeout_s": 2}
                },
                "agents": {
                    name: {"endpoint": f"PJSIP/{name}", "queues": ["support"], "max_missed": 1}
                    for name in AGENTS
                },
            }
        )
        daemon = Daemon(settings, auto_login=True)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        try:
            yield Centre(pbx, daemon)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


async def _submit(centre: Centre, event_type: Any, **fields: Any) -> None:
    dispatcher = centre.daemon.dispatcher
    await dispatcher.submit(event_type(at=dispatcher.now(), **fields))


def _rings(seen: EventLog, agent_id: str) -> int:
    return sum(1 for c in seen.commands if isinstance(c, RingAgent) and c.agent_id == agent_id)


def _rung_once_within_back_off(seen: EventLog, marked: float) -> bool:
    """agent1 rung once since it was marked, unless a box so loaded that the back-off ran out."""
    return _rings(seen, "agent1") == 1 or time.monotonic() - marked >= UNREACHABLE_RETRY_S


async def test_unreachable_phone_is_no_miss_and_the_caller_reaches_the_next_advisor() -> None:
    """agent1's contact is gone while the PBX shows it idle (max_missed=1): the ring returns
    CHANUNAVAIL, agent1 is shown unreachable with no miss and no pause, is not rung again for
    the waiting caller, and the caller is answered by agent2 once agent2 is ready; when the phone
    registers again (UNAVAILABLE, then NOT_INUSE) agent1 takes the next caller."""
    async with strict_centre() as centre:
        seen = EventLog()
        centre.daemon.dispatcher.live_views.append(seen)
        for name in AGENTS[1:]:
            await _submit(centre, AgentPaused, agent_id=name, reason="lunch")
        # The contact vanished without a device event reaching acd (S11d).
        centre.pbx.phone("agent1").reachable = False
        first = centre.call(caller_num="0611111111")
        await until(
            lambda: centre.agent("agent1").phone is PhoneState.UNREACHABLE,
            within=10,
            what="agent1 marked unreachable by the ring",
        )
        marked = time.monotonic()
        advisor = centre.agent("agent1")
        assert (advisor.activity, advisor.missed_in_row) == (Activity.AVAILABLE, 0)
        assert not advisor.routable
        # A second caller arriving meanwhile does not ring the unreachable phone either.
        second = centre.call(caller_num="0622222222")
        await until(lambda: len(centre.queue().waiting) == 2, within=10, what="two callers waiting")
        assert _rung_once_within_back_off(seen, marked)
        await _submit(centre, AgentReady, agent_id="agent2")
        await asyncio.wait_for(first.done.wait(), 15)
        assert (first.dial_status, first.path) == ("ANSWER", "handled")
        assert _rung_once_within_back_off(seen, marked)
        # The phone registers again: the PBX reports it unavailable, then idle.
        phone = centre.pbx.phone("agent1")
        centre.pbx.pbx.update_device("agent1")
        phone.reachable = True
        centre.pbx.pbx.update_device("agent1")
        await asyncio.wait_for(second.done.wait(), 15)
        assert (second.dial_status, second.path) == ("ANSWER", "handled")
        await centre.daemon.dispatcher.drain()
        advisor = centre.agent("agent1")
        assert advisor.phone is not PhoneState.UNREACHABLE
        assert advisor.missed_in_row == 0
        last_rung = {c.call_id: c.agent_id for c in seen.commands if isinstance(c, RingAgent)}
        assert sorted(last_rung.values()) == ["agent1", "agent2"]
        assert centre.pbx.counters["fallbacks"] == 0
