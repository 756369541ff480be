"""panoramisk's Manager and a raw socket client both log in, run every action, receive events."""

from __future__ import annotations

import asyncio

from panoramisk import Manager

from acd.pbxsim import PbxSim
from acd.pbxsim.phones import PhoneBehaviour
from tests.pbxsim.lab import LAB_200, lab_config
from tests.pbxsim.recording import get
from tests.pbxsim.wire import TIMEOUT, RawAmi


async def test_panoramisk_manager_drives_pbxsim() -> None:
    """panoramisk logs in, gets lists and Originate results, and receives call events."""
    sim = PbxSim(lab_config(LAB_200))
    sim.phone("agent1").behaviour = PhoneBehaviour(answer_delay=0.05)
    sim.phone("agent3").behaviour = PhoneBehaviour(answer_delay=0.05)
    async with sim:
        manager = Manager(
            loop=asyncio.get_running_loop(),
            host="127.0.0.1",
            port=sim.ami_port,
            username="acd",
            secret="acdsecret",
            ping_delay=60,
        )
        events: list[str] = []
        booted = asyncio.Event()
        hung_up = asyncio.Event()

        def on_event(_manager: Manager, message: object) -> None:
            name = getattr(message, "event", "")
            events.append(name)
            if name == "FullyBooted":
                booted.set()
            if name == "Hangup":
                hung_up.set()

        manager.register_event("*", on_event)
        await asyncio.wait_for(manager.connect(), TIMEOUT)
        await asyncio.wait_for(booted.wait(), TIMEOUT)
        try:
            pong = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), TIMEOUT)
            assert pong.success
            assert pong["Ping"] == "Pong"
            originated = await asyncio.wait_for(
                manager.send_action(
                    {
                        "Action": "Originate",
                        "Channel": "PJSIP/agent1",
                        "Context": "lab-orig",
                        "Exten": "hold",
                        "Priority": "1",
                        "CallerID": '"ACD Engine" <7000>',
                        "Async": "true",
                    }
                ),
                TIMEOUT,
            )
            final = originated[-1]
            assert final.event == "OriginateResponse"
            assert final["Response"] == "Success"
            channel = final["Channel"]
            listed = await asyncio.wait_for(
                manager.send_action({"Action": "CoreShowChannels"}), TIMEOUT
            )
            assert [m.event for m in listed[1:]] == ["CoreShowChannel", "CoreShowChannelsComplete"]
            for action in ("DeviceStateList", "PJSIPShowEndpoints", "Status"):
                items = await asyncio.wait_for(manager.send_action({"Action": action}), TIMEOUT)
                assert items[0].success, action
                assert items[-1].event.endswith("Complete"), action
            contacts = await asyncio.wait_for(
                manager.send_action({"Action": "PJSIPShowContacts"}), TIMEOUT
            )
            assert contacts["Response"] == "Error"
            setvar = await asyncio.wait_for(
                manager.send_action(
                    {"Action": "Setvar", "Channel": channel, "Variable": "X", "Value": "1"}
                ),
                TIMEOUT,
            )
            assert setvar.success
            getvar = await asyncio.wait_for(
                manager.send_action({"Action": "Getvar", "Channel": channel, "Variable": "X"}),
                TIMEOUT,
            )
            assert getvar["Value"] == "1"
            command = await asyncio.wait_for(
                manager.send_command("core show channels concise"), TIMEOUT
            )
            assert command["Message"] == "Command output follows"
            hungup = await asyncio.wait_for(
                manager.send_action({"Action": "Hangup", "Channel": channel}), TIMEOUT
            )
            assert hungup["Message"] == "Channel Hungup"
            await asyncio.wait_for(hung_up.wait(), TIMEOUT)
            assert {"Newchannel", "Newstate", "DialBegin", "Hangup"} <= set(events)
        finally:
            manager.close()


async def test_raw_client_runs_every_supported_action() -> None:
    """Every action pbxsim lists answers a raw client with a well-formed response."""
    sim = PbxSim(lab_config(LAB_200))
    for name in ("agent1", "agent3"):
        sim.phone(name).behaviour = PhoneBehaviour(answer_delay=0.02)
    async with sim:
        client = await RawAmi.connect(sim.ami_port)
        await client.login()
        for agent, action_id in (("agent1", "o1"), ("agent3", "o3")):
            await client.action(
                "Originate",
                ("ActionID", action_id),
                ("Channel", f"PJSIP/{agent}"),
                ("Exten", "hold"),
                ("Context", "lab-orig"),
                ("Async", "true"),
            )
        responses = await client.wait_for("Event: OriginateResponse", count=2)
        one, three = (get(m, "Channel") or "" for m in responses)
        plan = [
            ("Ping", []),
            ("CoreShowChannels", []),
            ("DeviceStateList", []),
            ("PJSIPShowEndpoints", []),
            ("PJSIPShowEndpoint", [("Endpoint", "agent1")]),
            ("PJSIPShowContacts", []),
            ("Status", [("Channel", one)]),
            ("Setvar", [("Channel", one), ("Variable", "ACD"), ("Value", "v")]),
            ("Getvar", [("Channel", one), ("Variable", "ACD")]),
            ("Command", [("Command", "core show channels concise")]),
            ("CoreStatus", []),
            ("QueueStatus", []),
            ("QueueSummary", []),
            ("QueuePause", [("Interface", "PJSIP/agent2"), ("Paused", "true")]),
            ("QueueAdd", [("Queue", "support"), ("Interface", "PJSIP/agent4")]),
            ("QueueRemove", [("Queue", "support"), ("Interface", "PJSIP/agent4")]),
            ("ExtensionStateList", []),
            ("ListCommands", []),
            ("Redirect", [("Channel", one), ("Context", "lab-orig"), ("Exten", "moved")]),
            ("Bridge", [("Channel1", one), ("Channel2", three)]),
            ("BridgeList", []),
            ("Hangup", [("Channel", three)]),
        ]
        for index, (action, headers) in enumerate(plan):
            await client.action(action, ("ActionID", f"a{index}"), *headers)
            found = await client.wait_for(f"ActionID: a{index}")
            response = next(m for m in found if m[0][0] == "Response")
            assert response[:2] == [("Response", response[0][1]), ("ActionID", f"a{index}")]
            expected_error = action == "PJSIPShowContacts"
            assert (response[0][1] == "Error") == expected_error, (action, response)
        await client.wait_for("Event: Hangup", count=2)
        await client.close()
        assert sim.live_channels() == []
