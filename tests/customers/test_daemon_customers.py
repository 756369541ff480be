"""The whole daemon against pbxsim: a known caller's profile and language reach the call."""

from __future__ import annotations

from typing import Any

from acd.core.customers import Customer
from acd.core.events import AgentPaused, CallArrived
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, EventLog, running_centre


async def test_a_known_caller_hears_their_language_and_carries_their_profile() -> None:
    """The queue is French and the channel English: an English-speaking customer needs no SET
    (one command less), an unknown caller gets the queue's French; the customer's profile is in
    CallArrived.data before the engine routes."""
    async with running_centre() as centre:
        daemon = centre.daemon
        await daemon.customers.save(
            Customer(
                customer_id="c7",
                name="Emma Taylor",
                vip_level=2,
                language="en",
                numbers=("+33199000007",),
            ),
            at=0.0,
        )
        seen = EventLog()
        daemon.dispatcher.live_views.append(seen)
        for name in AGENTS:
            await daemon.dispatcher.submit(
                AgentPaused(at=daemon.dispatcher.now(), agent_id=name, reason="lunch")
            )
        known = centre.call(caller_num="0199000007", patience=30)
        stranger = centre.call(caller_num="0612345678", patience=30)
        await until(lambda: len(centre.queue().waiting) == 2, what="both callers waiting")
        await until(lambda: known.channel and stranger.channel, what="channels named")

        def language(record: Any) -> str | None:
            channel = centre.pbx.pbx.channels.get(record.channel)
            return None if channel is None else channel.variables.get("CHANNEL(language)")

        await until(lambda: language(stranger) == "fr", what="the stranger's SET")
        assert language(known) is None
        arrivals = [e for e in seen.events if isinstance(e, CallArrived)]
        profile = next(dict(e.data) for e in arrivals if e.caller_number == "0199000007")
        assert (profile["customer_id"], profile["vip"], profile["language"]) == ("c7", "2", "en")
