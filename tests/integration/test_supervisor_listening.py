"""The supervisor's desk against pbxsim: the supervisor's phone originated into ChanSpy (S15) in
each mode, switched from the page, left; every use recorded for the advisor."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from acd.admin import build_http_app
from acd.app import Daemon
from acd.core.states import Activity
from acd.mqtt import MqttBridge
from acd.pbxsim.config import PhoneConfig
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.pbxsim.supervision import Spy
from acd.runtime.ports import Listening, ListeningMode, ListeningRefusedError, ListeningState
from acd.settings import parse_settings
from acd.storage import upgrade_schema
from acd.storage.listenings import save_listening
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, PIN, pbx_config
from tests.mqtt.centre import subscriber, unique_prefix

SUPERVISOR_PHONE = PhoneConfig("supervisor1", "6901", "Supervisor One", context="lab-agents")


@dataclass
class Desk:
    pbx: PbxSim
    daemon: Daemon

    def spies(self) -> list[Spy]:
        return list(self.pbx.routines.chanspy.spies.values())

    async def connected_call(self) -> tuple[str, str]:
        """A caller talking to an advisor: (call id, advisor id)."""
        url = f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound"
        self.pbx.place_call(agi_url=url, caller_num="0612345678")

        def talking() -> tuple[str, str] | None:
            for agent_id in AGENTS:
                view = self.daemon.engine.agent_view(agent_id)
                if view.activity is Activity.ON_CALL and view.call_id is not None:
                    return view.call_id, agent_id
            return None

        await until(lambda: talking() is not None, what="a caller talking to an advisor")
        found = talking()
        assert found is not None
        return found


def settings(
    ami_port: int, listening_indicator: bool = False, database: dict[str, str] | None = None
) -> Any:
    return parse_settings(
        {
            **({"database": database} if database else {}),
            "centre": {"listening_indicator": listening_indicator},
            "ami": {"port": ami_port, "secret": "acdsecret", "ping_interval_s": 5},
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0.2}},
            "agents": {
                name: {
                    "endpoint": f"PJSIP/{name}",
                    "queues": ["support"],
                    "pin": PIN,
                    "token": f"token-{name}",
                }
                for name in AGENTS
            },
            "supervisors": {
                "nadia": {
                    "name": "Nadia",
                    "token": "nadia-token-0123",
                    "phone": "PJSIP/supervisor1",
                }
            },
        }
    )


@contextlib.asynccontextmanager
async def running_desk(
    listening_indicator: bool = False, database: dict[str, str] | None = None
) -> AsyncIterator[Desk]:
    config = pbx_config()
    config = replace(config, phones=(*config.phones, SUPERVISOR_PHONE))
    async with PbxSim(config) as pbx:
        for name in AGENTS:
            # The advisors talk until the test ends the call.
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=None)
        pbx.phone("supervisor1").behaviour = PhoneBehaviour(answer_delay=0.05)
        daemon = Daemon(
            settings(pbx.ami_port, listening_indicator, database),
            auto_login=True,
            persist=database is not None,
        )
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        try:
            yield Desk(pbx, daemon)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    async with running_desk() as desk:
        yield desk


async def start(desk: Desk, mode: ListeningMode) -> tuple[str, str, str]:
    call_id, agent_id = await desk.connected_call()
    listening = await desk.daemon.listen(
        supervisor="supervisor:nadia",
        phone="PJSIP/supervisor1",
        agent_id=agent_id,
        call_id=call_id,
        queue="support",
        mode=mode,
    )
    await until(
        lambda: listening.state is ListeningState.LISTENING, what="ChanSpyStart for the spy"
    )
    return listening.listening_id, call_id, agent_id


@pytest.mark.parametrize("mode", list(ListeningMode))
async def test_each_mode_attaches_the_supervisor_in_that_mode(
    desk: Desk, mode: ListeningMode
) -> None:
    """Listen, whisper and barge each ring the supervisor's phone into ChanSpy on the advisor's
    channel in that mode; leaving hangs it up and the record says who, whom, how long, which
    mode."""
    listening_id, call_id, agent_id = await start(desk, mode)
    [spy] = desk.spies()
    assert spy.spyee.name.startswith(f"PJSIP/{agent_id}-")
    assert spy.spyer.name.startswith("PJSIP/supervisor1-")
    assert spy.mode == mode.value
    assert desk.daemon.listened_now(agent_id)
    left = await desk.daemon.leave(listening_id)
    await until(lambda: not desk.spies(), what="the spy gone from pbxsim")
    assert left.state is ListeningState.ENDED
    assert left.outcome == "left"
    assert left.listened_s > 0
    assert not desk.daemon.listened_now(agent_id)
    [record] = await desk.daemon.history(agent_id, 10)
    assert (record.supervisor, record.call_id, record.modes) == (
        "supervisor:nadia",
        call_id,
        [mode],
    )


async def test_an_ended_listening_is_in_the_history_before_its_row_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The advisor's page asks for the history as soon as a listening ends: it is there, ended,
    while its row is still being written in the background."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'acd.sqlite3'}"
    await upgrade_schema(url)
    release = asyncio.Event()

    async def slow_end(db: Any, listening: Listening) -> None:
        if listening.state is ListeningState.ENDED:
            await release.wait()
        await save_listening(db, listening)

    monkeypatch.setattr("acd.app.save_listening", slow_end)
    database = {"url": url, "spool_dir": str(tmp_path / "spool")}
    async with running_desk(database=database) as desk:
        listening_id, _, agent_id = await start(desk, ListeningMode.LISTEN)
        await desk.daemon.leave(listening_id)
        [record] = await desk.daemon.history(agent_id, 10)
        assert (record.listening_id, record.state, record.outcome) == (
            listening_id,
            ListeningState.ENDED,
            "left",
        )
        release.set()


async def test_the_page_switches_the_mode_with_the_phones_keys(desk: Desk) -> None:
    """A switch from the page reaches ChanSpy as the mode's key (PlayDTMF Receive): whisper, then
    barge, then listen; the record keeps every mode in order."""
    listening_id, _, agent_id = await start(desk, ListeningMode.WHISPER)
    for mode in (ListeningMode.BARGE, ListeningMode.LISTEN):
        await desk.daemon.switch(listening_id, mode)
        await until(lambda m=mode: desk.spies()[0].mode == m.value, what=f"pbxsim in {mode}")
    await desk.daemon.leave(listening_id)
    [record] = await desk.daemon.history(agent_id, 10)
    assert record.modes == [ListeningMode.WHISPER, ListeningMode.BARGE, ListeningMode.LISTEN]


async def test_the_phones_keys_switch_the_mode_too(desk: Desk) -> None:
    """ChanSpy runs with ``d``: key 6 pressed on the supervisor's phone turns listening into
    barging, and acd records the switch from the phone's DTMFEnd."""
    listening_id, _, agent_id = await start(desk, ListeningMode.LISTEN)
    [spy] = desk.spies()
    assert desk.pbx.press_key(spy.spyer.name, "6", mode="info")
    await until(lambda: spy.mode == "barge", what="barge from the phone's key")
    [live] = desk.daemon.live()
    await until(lambda: live.mode is ListeningMode.BARGE, what="acd saw the key")
    await desk.daemon.leave(listening_id)
    [record] = await desk.daemon.history(agent_id, 10)
    assert record.modes == [ListeningMode.LISTEN, ListeningMode.BARGE]


async def test_the_call_ending_ends_the_listening(desk: Desk) -> None:
    """When the advisor's call ends, ChanSpy ends (E) and the record says the call ended."""
    listening_id, _, agent_id = await start(desk, ListeningMode.BARGE)
    [spy] = desk.spies()
    desk.pbx.pbx.request_hangup(spy.spyee)
    await until(lambda: not desk.daemon.live(), what="the listening ended")
    [record] = await desk.daemon.history(agent_id, 10)
    assert record.listening_id == listening_id
    await until(lambda: record.outcome == "call_ended", what="the call's end told")


async def test_a_phone_that_does_not_answer_ends_as_no_answer(desk: Desk) -> None:
    """The supervisor's phone not answering: OriginateResponse Failure, the use recorded as
    ``no_answer``, nothing attached."""
    desk.pbx.phone("supervisor1").behaviour = PhoneBehaviour(mode="no_answer")
    desk.daemon.spies.ring_s = 1.0
    call_id, agent_id = await desk.connected_call()
    listening = await desk.daemon.listen(
        supervisor="supervisor:nadia",
        phone="PJSIP/supervisor1",
        agent_id=agent_id,
        call_id=call_id,
        queue="support",
        mode=ListeningMode.LISTEN,
    )
    await until(lambda: listening.state is ListeningState.ENDED, what="the listening ended")
    assert listening.outcome == "no_answer"
    assert listening.started_at is None
    assert not desk.spies()


async def test_one_phone_listens_to_one_call_at_a_time(desk: Desk) -> None:
    """A second listening on a phone already listening is refused with a stable code."""
    _, call_id, agent_id = await start(desk, ListeningMode.LISTEN)
    with pytest.raises(ListeningRefusedError) as refused:
        await desk.daemon.listen(
            supervisor="supervisor:nadia",
            phone="PJSIP/supervisor1",
            agent_id=agent_id,
            call_id=call_id,
            queue="support",
            mode=ListeningMode.BARGE,
        )
    assert refused.value.code == "already_listening"


async def test_over_http_a_supervisor_listens_and_the_advisor_sees_it() -> None:
    """Through the API: the supervisor listens to a call of their queue, switches to whisper and
    leaves; the advisor sees it live (centre setting on) and in their list afterwards; another
    advisor may not read that list."""
    async with running_desk(listening_indicator=True) as desk:
        app = build_http_app(desk.daemon.feed, desk.daemon, listening=desk.daemon)
        transport = httpx.ASGITransport(app=app)
        nadia = {"authorization": "Bearer nadia-token-0123"}
        async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
            call_id, agent_id = await desk.connected_call()
            other = next(a for a in AGENTS if a != agent_id)
            advisor = {"authorization": f"Bearer token-{agent_id}"}
            started = await client.post(
                f"/api/v1/supervisor/calls/{call_id}/listen", headers=nadia, json={}
            )
            assert started.status_code == 201, started.text
            listening_id = started.json()["listening_id"]
            await until(lambda: len(desk.spies()) == 1, what="the spy attached")
            await until(lambda: desk.daemon.listened_now(agent_id), what="the listening started")
            live = (await client.get("/api/v1/supervisor/listenings", headers=nadia)).json()
            assert [(x["agent_id"], x["state"]) for x in live] == [(agent_id, "listening")]
            session = await client.get(f"/api/v1/agents/{agent_id}/session", headers=advisor)
            assert session.json()["listened_now"] is True
            switched = await client.post(
                f"/api/v1/supervisor/listenings/{listening_id}/mode",
                headers=nadia,
                json={"mode": "whisper"},
            )
            assert switched.json()["modes"] == ["listen", "whisper"]
            left = await client.post(
                f"/api/v1/supervisor/listenings/{listening_id}/leave", headers=nadia
            )
            assert left.json()["state"] == "ended"
            seen = await client.get(f"/api/v1/agents/{agent_id}/listenings", headers=advisor)
            assert seen.json()["listened_now"] is False
            [shown] = seen.json()["listenings"]
            assert (shown["supervisor"], shown["call_id"], shown["modes"]) == (
                "Nadia",
                call_id,
                ["listen", "whisper"],
            )
            peeking = await client.get(
                f"/api/v1/agents/{agent_id}/listenings",
                headers={"authorization": f"Bearer token-{other}"},
            )
            assert peeking.status_code == 403
            refused = await client.post(
                f"/api/v1/supervisor/calls/{call_id}/listen", headers=advisor, json={}
            )
            assert refused.status_code == 403


async def test_without_the_centre_setting_the_advisor_learns_of_it_afterwards() -> None:
    """With the live indicator off (the default), the advisor's page says nothing while a
    supervisor listens, and lists the listening once it ended."""
    async with running_desk() as desk:
        app = build_http_app(desk.daemon.feed, desk.daemon, listening=desk.daemon)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
            listening_id, _, agent_id = await start(desk, ListeningMode.LISTEN)
            advisor = {"authorization": f"Bearer token-{agent_id}"}
            session = await client.get(f"/api/v1/agents/{agent_id}/session", headers=advisor)
            assert session.json()["listened_now"] is None
            during = await client.get(f"/api/v1/agents/{agent_id}/listenings", headers=advisor)
            assert during.json() == {"agent_id": agent_id, "listened_now": None, "listenings": []}
            await desk.daemon.leave(listening_id)
            after = await client.get(f"/api/v1/agents/{agent_id}/listenings", headers=advisor)
            assert [x["state"] for x in after.json()["listenings"]] == ["ended"]


async def test_mqtt_tells_supervisors_who_is_listened_to(mqtt_url: str) -> None:
    """The retained ``supervisor/desk`` topic lists the listening while it lasts (advisor, mode,
    state), and is emptied when the supervisor leaves."""
    prefix = unique_prefix()
    async with running_desk() as desk, subscriber(mqtt_url, prefix) as seen:
        options = parse_settings({"mqtt": {"enabled": True, "url": mqtt_url, "prefix": prefix}})
        bridge = MqttBridge(options.mqtt, desk.daemon.engine, desk.daemon.dispatcher)
        desk.daemon.mqtt = bridge
        bridging = asyncio.create_task(bridge.run())
        try:
            await asyncio.wait_for(bridge.connected.wait(), 5)
            listening_id, call_id, agent_id = await start(desk, ListeningMode.WHISPER)
            topic = f"{prefix}/supervisor/desk"

            def listened() -> list[Any]:
                body = seen.latest(topic)
                return body["listenings"] if body else []

            [shown] = await seen.wait_for(
                lambda: [x for x in listened() if x["state"] == "listening"]
            )
            assert (shown["agent_id"], shown["call_id"], shown["mode"]) == (
                agent_id,
                call_id,
                "whisper",
            )
            await desk.daemon.leave(listening_id)
            await seen.wait_for(lambda: seen.latest(topic) and not listened())
        finally:
            bridging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bridging


async def test_stopping_acd_hangs_up_the_supervisor_and_closes_the_record() -> None:
    """acd stops while a supervisor listens: their phone is hung up (no listening goes on
    unrecorded) and the listening ends as ``daemon_stopped``."""
    async with running_desk() as desk:
        _, _, agent_id = await start(desk, ListeningMode.LISTEN)
        [spy] = desk.spies()
        desk.daemon.stop()
        await until(lambda: spy.spyer.dead, what="the supervisor's phone hung up")
        [record] = desk.daemon.listenings
        assert (record.agent_id, record.outcome) == (agent_id, "daemon_stopped")
