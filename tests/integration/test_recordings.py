"""Call recording against pbxsim: the information notice before AGI() with its objection key,
MixMonitor from the dialplan (S16 b) or on demand, the advisor's mute, the file referenced from
the call's record and served to supervisors with range requests, every listening logged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from acd.admin import build_http_app
from acd.app import Daemon
from acd.core.states import Activity
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim
from acd.runtime.ports import ListeningRefusedError, Recording, RecordingStatus
from acd.settings import parse_settings
from tests.deadlines import until
from tests.integration.test_daemon_calls import AGENTS, PIN, pbx_config

# The shipped dialplan's notice (dialplan/acd-call.conf), as pbxsim runs it before AGI().
NOTICE = (
    "Read(ACD_OBJECTION,acd-recording-notice,1,,1,1)",
    "Set(ACD_RECORDING=allowed)",
    'ExecIf($["${ACD_RECORD}" = "all"]?Set(ACD_RECORDING=recorded))',
    'ExecIf($["${ACD_OBJECTION}" = "9"]?Set(ACD_RECORDING=objected))',
    'ExecIf($["${ACD_RECORDING}" = "recorded"]?MixMonitor(acd-${UNIQUEID}.wav,i(ACD_MIXID)))',
)
SUPERVISOR = {"authorization": "Bearer nadia-token-0123"}


@dataclass
class Studio:
    pbx: PbxSim
    daemon: Daemon
    folder: Path

    def call(self, **kwargs: Any) -> Any:
        # pbxsim adds the queue; the dialplan's outcome of the notice rides in the URL.
        url = f"agi://127.0.0.1:{self.daemon.fastagi_port}/inbound?recording=${{ACD_RECORDING}}"
        return self.pbx.place_call(agi_url=url, **kwargs)

    def kept(self, call_id: str) -> Recording | None:
        return next((r for r in self.daemon.recordings_kept if r.call_id == call_id), None)

    async def talking(self) -> tuple[str, str]:
        """(call id, advisor) of the call an advisor talks on."""

        def found() -> tuple[str, str] | None:
            for agent_id in AGENTS:
                view = self.daemon.engine.agent_view(agent_id)
                if view.activity is Activity.ON_CALL and view.call_id is not None:
                    return view.call_id, agent_id
            return None

        await until(lambda: found() is not None, what="a caller talking to an advisor")
        result = found()
        assert result is not None
        return result


@contextlib.asynccontextmanager
async def studio(folder: Path, record: str, talk_time: float | None) -> AsyncIterator[Studio]:
    config = pbx_config()
    dialplan = replace(config.dialplan, before_agi=(f"Set(ACD_RECORD={record})", *NOTICE))
    config = replace(config, dialplan=dialplan, monitor_dir=str(folder))
    settings = parse_settings(
        {
            "ami": {
                "port": 0,
                "secret": "acdsecret",
                "ping_interval_s": 5,
                "recordings_dir": str(folder),
            },
            "fastagi": {"port": 0},
            "workload": {"min_wrap_up_s": 0},
            "queues": {"support": {"announce_interval_s": None, "wrap_up_s": 0, "record": record}},
            "agents": {
                name: {
                    "endpoint": f"PJSIP/{name}",
                    "queues": ["support"],
                    "pin": PIN,
                    "token": f"token-{name}",
                }
                for name in AGENTS
            },
            "supervisors": {"nadia": {"name": "Nadia", "token": "nadia-token-0123"}},
        }
    )
    async with PbxSim(config) as pbx:
        for name in AGENTS:
            pbx.phone(name).behaviour = PhoneBehaviour(answer_delay=0.05, talk_time=talk_time)
        ami = settings.ami.model_copy(update={"port": pbx.ami_port})
        daemon = Daemon(settings.model_copy(update={"ami": ami}), auto_login=True)
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.started.wait(), 5)
        await daemon.ami.wait_connected(5)
        await daemon.dispatcher.drain()
        try:
            yield Studio(pbx, daemon, folder)
        finally:
            daemon.stop()
            await asyncio.wait_for(task, 10)


def actions(studio: Studio, call_id: str) -> list[tuple[str, str]]:
    return [(a.actor, a.action) for a in studio.daemon.recording_actions if a.call_id == call_id]


async def test_a_caller_who_does_not_object_is_recorded_and_the_file_referenced(
    tmp_path: Path,
) -> None:
    """record = all: the notice plays before AGI(), MixMonitor starts in the dialplan, and when
    the call ends its record names the file (0600, the call's length of audio) and the advisor."""
    async with studio(tmp_path, "all", talk_time=0.4) as s:
        record = s.call()
        await asyncio.wait_for(record.done.wait(), 15)
        assert record.path == "handled"
        call_id = next(iter(s.daemon.recordings_kept)).call_id
        await until(lambda: s.kept(call_id).ended_at is not None, what="the recording closed")
        [recording] = await s.daemon.recordings(10)
        assert recording.status is RecordingStatus.RECORDED
        assert recording.path == str(tmp_path / f"acd-{call_id}.wav")
        assert recording.agent_id in AGENTS
        # 16000 bytes per second of call time (S16), closed with the caller's channel.
        await until(lambda: s.daemon._sized(recording).size_bytes > 44 + 16000 * 0.3)
        assert stat.S_IMODE(os.stat(recording.path).st_mode) == 0o600
        assert actions(s, call_id) == [("dialplan", "started")]


async def test_the_objection_key_means_no_recording_and_the_record_says_so(
    tmp_path: Path,
) -> None:
    """Key 9 during the notice: no MixMonitor, no file, the recording row says ``objected`` and
    the log names the caller; the advisor cannot start one either."""
    async with studio(tmp_path, "on_demand", talk_time=None) as s:
        s.call(keys=((0.1, "9"),))
        call_id, agent_id = await s.talking()
        recording = s.daemon.live_recordings[call_id][0]
        assert recording.status is RecordingStatus.OBJECTED
        assert recording.path == ""
        assert not s.pbx.routines.mixmonitor.recordings
        with pytest.raises(ListeningRefusedError) as refused:
            await s.daemon.start_recording(agent_id, f"advisor:{agent_id}")
        assert refused.value.code == "caller_objected"
        assert os.listdir(tmp_path) == []
        await until(lambda: actions(s, call_id) == [("caller", "objected")], what="the log")


async def test_on_demand_the_advisor_starts_then_mutes_and_unmutes(tmp_path: Path) -> None:
    """record = on_demand: nothing records until the advisor starts it (AMI MixMonitor); mute
    and unmute reach MixMonitorMute on the caller's channel; each is logged with who did it;
    the call in progress then reads ``recording: recorded``."""
    async with studio(tmp_path, "on_demand", talk_time=None) as s:
        s.call()
        call_id, agent_id = await s.talking()
        assert not s.pbx.routines.mixmonitor.recordings
        actor = f"advisor:{agent_id}"
        started = await s.daemon.start_recording(agent_id, actor)
        assert started.status is RecordingStatus.RECORDED
        [channel] = s.pbx.routines.mixmonitor.recordings
        [live] = s.pbx.routines.mixmonitor.recordings[channel]
        assert live.path == str(tmp_path / f"acd-{call_id}.wav")
        await s.daemon.mute_recording(agent_id, True, actor)
        assert live.muted == {"both"}
        await s.daemon.mute_recording(agent_id, False, actor)
        assert live.muted == set()
        assert [a for _, a in actions(s, call_id)] == ["started", "muted", "unmuted"]
        # The supervisor sees the call recorded, in the calls in progress.
        app = build_http_app(s.daemon.feed, s.daemon, recordings=s.daemon)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
            shown = await client.get(f"/api/v1/calls/{call_id}", headers=SUPERVISOR)
            assert (shown.json()["recording"], shown.json()["listened"]) == ("recorded", False)


async def test_a_supervisor_streams_a_recording_with_ranges_and_is_logged(
    tmp_path: Path,
) -> None:
    """Over HTTP: the supervisor lists the recording, asks to listen (logged), and the ticket
    serves byte ranges (206); an advisor's token may neither list nor fetch it."""
    async with studio(tmp_path, "all", talk_time=0.4) as s:
        record = s.call()
        await asyncio.wait_for(record.done.wait(), 15)
        call_id = next(iter(s.daemon.recordings_kept)).call_id
        await until(lambda: s.kept(call_id).ended_at is not None, what="the recording closed")
        await until(lambda: s.pbx.routines.mixmonitor.recordings == {}, what="the file closed")
        app = build_http_app(s.daemon.feed, s.daemon, recordings=s.daemon)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://acd") as client:
            listed = (await client.get("/api/v1/recordings", headers=SUPERVISOR)).json()
            assert [(x["call_id"], x["status"]) for x in listed] == [(call_id, "recorded")]
            ticket = await client.post(f"/api/v1/recordings/{call_id}/listen", headers=SUPERVISOR)
            url = ticket.json()["url"]
            part = await client.get(url, headers={"range": "bytes=0-99"})
            assert part.status_code == 206
            assert part.content[:4] == b"RIFF"
            assert len(part.content) == 100
            assert part.headers["content-range"].startswith("bytes 0-99/")
            whole = await client.get(url)
            assert len(whole.content) == os.stat(s.kept(call_id).path).st_size > 100
            advisor = {"authorization": f"Bearer token-{AGENTS[0]}"}
            assert (await client.get("/api/v1/recordings", headers=advisor)).status_code == 403
            refused = await client.get(f"/api/v1/recordings/{call_id}/audio", headers=advisor)
            assert refused.status_code == 403
            forged = await client.get(f"/api/v1/recordings/{call_id}/audio?ticket=forged")
            assert forged.status_code == 401
            detail = (await client.get(f"/api/v1/recordings/{call_id}", headers=SUPERVISOR)).json()
            assert [(x["actor"], x["action"]) for x in detail["log"]] == [
                ("dialplan", "started"),
                ("supervisor:nadia", "listened"),
            ]
