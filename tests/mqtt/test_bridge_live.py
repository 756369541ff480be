"""The MQTT bridge on the shared Mosquitto while pbxsim calls flow through the whole daemon."""

from __future__ import annotations

import asyncio
import json

from tests.mqtt.centre import AGENTS, publish, running_centre, subscriber, unique_prefix


async def test_state_and_call_events_arrive_as_documented_while_calls_flow(mqtt_url: str) -> None:
    """Retained advisor and queue state, the call event stream and summaries reach a subscriber."""
    prefix = unique_prefix()
    async with (
        subscriber(mqtt_url, prefix) as seen,
        running_centre(mqtt={"enabled": True, "url": mqtt_url, "prefix": prefix}) as centre,
    ):
        records = [centre.call(caller_num=f"061234567{i}") for i in range(3)]
        await asyncio.wait_for(asyncio.gather(*(r.done.wait() for r in records)), 20)
        assert [r.path for r in records] == ["handled"] * 3
        stats_topic = f"{prefix}/queues/support/stats"
        await seen.wait_for(lambda: (seen.latest(stats_topic) or {}).get("answered") == 3)
        for agent_id in AGENTS:
            topic = f"{prefix}/agents/{agent_id}/state"
            await seen.wait_for(
                lambda t=topic: (seen.latest(t) or {}).get("activity") == "available"
            )
        completed = await seen.wait_for(
            lambda: (
                len(seen.on(f"{prefix}/calls/completed")) == 3
                and seen.on(f"{prefix}/calls/completed")
            )
        )
        assert {c["outcome"] for c in completed} == {"answered"}
        assert {c["caller_number"] for c in completed} == {f"061234567{i}" for i in range(3)}
        events = seen.on(f"{prefix}/calls/events")
        for summary in completed:
            story = [e for e in events if e["call_id"] == summary["call_id"]]
            kinds = [e["kind"] for e in story]
            assert kinds[0] == "offered"
            assert "presented" in kinds
            assert "answered" in kinds
            assert "completed" in kinds
            assert [e["seq"] for e in story] == sorted(e["seq"] for e in story)
        assert seen.latest(f"{prefix}/status") == "online"
        stats = await seen.wait_for(
            lambda: (
                (seen.latest(stats_topic) or {}).get("routable_agents") == 3
                and seen.latest(stats_topic)
            )
        )
        assert stats["waiting"] == 0
        assert stats["service_level"] == 1.0
        # A client connecting now is handed the retained state at once.
        async with subscriber(mqtt_url, prefix) as late:
            await late.wait_for(lambda: len([m for m in late.messages if m[2]]) >= 5)
            retained = {topic for topic, _, flag in late.messages if flag}
            assert {f"{prefix}/agents/{a}/state" for a in AGENTS} <= retained
            assert stats_topic in retained
            assert f"{prefix}/status" in retained
            assert not any(topic.endswith("/events") for topic in retained)
    assert centre.bridge is not None
    assert centre.bridge.dropped == 0


async def test_advisor_commands_work_and_results_are_published(mqtt_url: str) -> None:
    """Pause, ready, logout and login over MQTT change the state; each gets its result back."""
    prefix = unique_prefix()
    mqtt = {"enabled": True, "url": mqtt_url, "prefix": prefix, "commands": True}
    async with subscriber(mqtt_url, prefix) as seen, running_centre(mqtt=mqtt) as centre:
        assert centre.bridge is not None
        await asyncio.wait_for(centre.bridge.connected.wait(), 5)
        results = f"{prefix}/agents/agent2/results"
        state = f"{prefix}/agents/agent2/state"
        commands = f"{prefix}/agents/agent2/commands"

        async def send(body: dict[str, object]) -> dict[str, object]:
            before = len(seen.on(results))
            await publish(mqtt_url, commands, json.dumps(body).encode())
            return await seen.wait_for(
                lambda: len(seen.on(results)) > before and seen.on(results)[-1]
            )

        paused = await send({"action": "pause", "reason": "lunch", "request_id": "r1"})
        assert paused["ok"] is True
        assert paused["request_id"] == "r1"
        assert paused["agent"]["activity"] == "paused"
        await seen.wait_for(lambda: (seen.latest(state) or {}).get("reason") == "lunch")
        assert centre.daemon.engine.agent_view("agent2").activity.value == "paused"
        ready = await send({"action": "ready", "request_id": "r2"})
        assert ready["ok"] is True
        await seen.wait_for(lambda: (seen.latest(state) or {}).get("activity") == "available")
        out = await send({"action": "logout"})
        assert out["agent"]["presence"] == "logged_out"
        again = await send({"action": "logout", "request_id": "r3"})
        assert again["ok"] is False
        assert again["error"]["code"] == "illegal_transition"
        back = await send({"action": "login"})
        assert back["agent"]["activity"] == "available"
        # Routing still works for the advisor commanded back in.
        record = centre.call()
        await asyncio.wait_for(record.done.wait(), 10)
        assert record.path == "handled"


async def test_invalid_commands_are_refused_before_the_engine(mqtt_url: str) -> None:
    """Malformed or unknown commands get an invalid_command result and change nothing."""
    prefix = unique_prefix()
    mqtt = {"enabled": True, "url": mqtt_url, "prefix": prefix, "commands": True}
    async with subscriber(mqtt_url, prefix) as seen, running_centre(mqtt=mqtt) as centre:
        assert centre.bridge is not None
        await asyncio.wait_for(centre.bridge.connected.wait(), 5)
        refusals_before = centre.daemon.dispatcher.events_refused
        cases = [
            b"not json",
            b"[1, 2]",
            json.dumps({"action": "dance", "request_id": "x1"}).encode(),
            json.dumps({"action": "pause"}).encode(),
            json.dumps({"action": "pause", "reason": "x" * 100}).encode(),
            json.dumps({"action": "ready", "reason": "lunch"}).encode(),
            json.dumps({"action": "ready", "extra": 1}).encode(),
            b"{" + b" " * 5000 + b"}",
        ]
        results = f"{prefix}/agents/agent1/results"
        for payload in cases:
            await publish(mqtt_url, f"{prefix}/agents/agent1/commands", payload)
        answers = await seen.wait_for(
            lambda: len(seen.on(results)) == len(cases) and seen.on(results)
        )
        assert all(a["ok"] is False for a in answers)
        assert {a["error"]["code"] for a in answers} == {"invalid_command"}
        assert answers[2]["request_id"] == "x1"
        unknown = f"{prefix}/agents/nobody/results"
        await publish(mqtt_url, f"{prefix}/agents/nobody/commands", b'{"action": "ready"}')
        refused = await seen.wait_for(lambda: seen.latest(unknown))
        assert refused["error"]["code"] == "unknown_agent"
        await centre.daemon.dispatcher.drain()
        assert centre.daemon.engine.agent_view("agent1").activity.value == "available"
        # Only the unknown advisor's command reached the engine (and was refused there).
        assert centre.daemon.dispatcher.events_refused == refusals_before + 1


async def test_commands_are_ignored_when_disabled(mqtt_url: str) -> None:
    """With mqtt.commands off, nothing is subscribed: a command changes nothing, gets no result."""
    prefix = unique_prefix()
    mqtt = {"enabled": True, "url": mqtt_url, "prefix": prefix}
    async with subscriber(mqtt_url, prefix) as seen, running_centre(mqtt=mqtt) as centre:
        assert centre.bridge is not None
        await asyncio.wait_for(centre.bridge.connected.wait(), 5)
        await publish(mqtt_url, f"{prefix}/agents/agent1/commands", b'{"action": "logout"}')
        await asyncio.sleep(0.3)  # fixed-sleep: the window in which no result may come
        assert seen.on(f"{prefix}/agents/agent1/results") == []
        assert centre.daemon.engine.agent_view("agent1").presence.value == "logged_in"


async def test_a_reload_that_removes_an_advisor_deletes_their_retained_state(mqtt_url: str) -> None:
    """After acd reload drops an advisor, their retained state is gone from the broker."""
    prefix = unique_prefix()
    async with running_centre(mqtt={"enabled": True, "url": mqtt_url, "prefix": prefix}) as centre:
        topic = f"{prefix}/agents/agent3/state"
        async with subscriber(mqtt_url, prefix) as seen:
            await seen.wait_for(lambda: seen.latest(topic))
            settings = centre.daemon.settings
            agents = {k: v for k, v in settings.agents.items() if k != "agent3"}
            await centre.daemon.reload(settings.model_copy(update={"agents": agents}))
            await seen.wait_for(lambda: seen.latest(topic) == "")
        async with subscriber(mqtt_url, prefix) as late:
            await late.wait_for(lambda: late.latest(f"{prefix}/agents/agent2/state"))
            await asyncio.sleep(0.1)  # fixed-sleep: the window in which no retained state may come
            assert late.on(topic) == []


async def test_the_screen_pop_goes_out_on_the_ringing_advisors_offer_topic(mqtt_url: str) -> None:
    """Each ring publishes the offer on agents/{id}/offer, never retained (personal data)."""
    prefix = unique_prefix()
    async with (
        subscriber(mqtt_url, prefix) as seen,
        running_centre(mqtt={"enabled": True, "url": mqtt_url, "prefix": prefix}) as centre,
    ):
        assert centre.bridge is not None
        centre.daemon.screen_pops.sinks.append(centre.bridge)
        record = centre.call(caller_num="0612345678")
        await asyncio.wait_for(record.done.wait(), 20)
        offers = await seen.wait_for(
            lambda: [
                (topic, body, retained)
                for topic, body, retained in seen.messages
                if topic.endswith("/offer")
            ]
        )
        topic, offer, retained = offers[0]
        assert topic == f"{prefix}/agents/{offer['agent_id']}/offer"
        assert offer["caller_number"] == "0612345678"
        assert offer["customer"] is None
        assert not retained


async def test_a_crm_books_a_callback_over_mqtt(mqtt_url: str) -> None:
    """A booking on queues/support/callbacks/commands enters the book; a premium-rate number is
    refused with the HTTP API's code; each gets its result on .../callbacks/results."""
    prefix = unique_prefix()
    mqtt = {"enabled": True, "url": mqtt_url, "prefix": prefix, "commands": True}
    async with subscriber(mqtt_url, prefix) as seen, running_centre(mqtt=mqtt) as centre:
        assert centre.bridge is not None
        await asyncio.wait_for(centre.bridge.connected.wait(), 5)
        results = f"{prefix}/queues/support/callbacks/results"
        commands = f"{prefix}/queues/support/callbacks/commands"

        async def send(body: dict[str, object]) -> dict[str, object]:
            before = len(seen.on(results))
            await publish(mqtt_url, commands, json.dumps(body).encode())
            return await seen.wait_for(
                lambda: len(seen.on(results)) > before and seen.on(results)[-1]
            )

        await asyncio.wait_for(centre.bridge.subscribed.wait(), 5)
        at = centre.daemon.dispatcher.now() + 3600
        booked = await send({"number": "06 12 34 56 78", "at": at, "request_id": "b1"})
        assert (booked["ok"], booked["request_id"]) == (True, "b1")
        (book,) = centre.daemon.engine.callbacks()
        assert (book.call_id, book.number, book.due_at) == (
            booked["callback_id"],
            "+33612345678",
            at,
        )
        refused = await send({"number": "0899123456"})
        assert refused["ok"] is False
        assert refused["error"]["code"] == "invalid_number"
        bad = await send({"number": 612345678})
        assert bad["error"]["code"] == "invalid_command"
