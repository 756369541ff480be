"""The whole daemon against pbxsim: a known caller's profile and language reach the call, and a
CRM's late answer sets the caller's language."""

from __future__ import annotations

from typing import Any

from acd.core.customers import Customer
from acd.core.events import AgentPaused, CallArrived
from acd.runtime.crm import CrmLookup, CrmOptions
from tests.customers.crm_server import Reply, fake_crm
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


async def test_a_late_crm_language_is_set_on_the_waiting_callers_channel() -> None:
    """A caller the directory does not know waits in a French queue; the CRM answers late that
    they speak English: the daemon SETs the channel's language to English."""
    async with fake_crm() as crm:
        crm.replies["+33199000008"] = Reply(body=b'{"name": "Ada", "language": "en"}', stall=True)
        async with running_centre() as centre:
            daemon = centre.daemon
            lookup = CrmLookup(CrmOptions(url_template=crm.template, timeout_s=5.0))
            daemon.arrivals.crm = lookup  # as [crm] url_template would configure it
            for name in AGENTS:
                await daemon.dispatcher.submit(
                    AgentPaused(at=daemon.dispatcher.now(), agent_id=name, reason="lunch")
                )
            caller = centre.call(caller_num="0199000008", patience=30)
            await until(lambda: caller.channel, what="the channel named")

            def language() -> str | None:
                channel = centre.pbx.pbx.channels.get(caller.channel)
                return None if channel is None else channel.variables.get("CHANNEL(language)")

            await until(lambda: language() == "fr", what="the queue's SET")
            await until(lambda: crm.asked, what="the CRM asked")
            crm.release.set()
            await until(lambda: language() == "en", what="the caller's own language SET")
            await lookup.close()
