"""``/api/v1/health`` tells the truth: 503 while calls cannot be routed, each part named.

Found: it said ``{"status": "ok"}`` while Asterisk's manager was down. Reproduced by closing
pbxsim's AMI listener under a running daemon, over real sockets; the Docker health check (the
command in docker/compose.yaml, run as it is) fails then and passes again once AMI is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml

from acd.app import Daemon
from acd.pbxsim.sim import PbxSim
from acd.runtime.health import Verdict, verdict
from acd.settings import parse_settings
from tests.deadlines import until
from tests.integration.test_daemon_calls import pbx_config

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings(ami_port: int, **extra: Any) -> Any:
    return parse_settings(
        {
            "ami": {"port": ami_port, "secret": "acdsecret", "reconnect_max_s": 0.5},
            "fastagi": {"port": 0},
            "http": {"port": 0},
            "queues": {"support": {}},
            "agents": {"agent1": {"endpoint": "PJSIP/agent1", "queues": ["support"]}},
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def running(pbx: PbxSim, **options: Any) -> AsyncIterator[Daemon]:
    persist = "database" in options
    daemon = Daemon(settings(pbx.ami_port, **options), live_interfaces=True, persist=persist)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.started.wait(), 15)
    try:
        yield daemon
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 15)


async def get(daemon: Daemon, path: str) -> tuple[int, bytes]:
    assert daemon.http is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", daemon.http.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    async with asyncio.timeout(10):
        answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def health(daemon: Daemon) -> tuple[int, dict[str, Any]]:
    status, body = await get(daemon, "/api/v1/health")
    return status, json.loads(body)


def docker_health_command(port: int) -> list[str]:
    """The acd service's health check from docker/compose.yaml, aimed at ``port``."""
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8"))
    test = compose["services"]["acd"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "/api/v1/health" in test[3]
    return [sys.executable, "-c", test[3].replace("127.0.0.1:8080", f"127.0.0.1:{port}")]


async def docker_health_passes(daemon: Daemon) -> bool:
    assert daemon.http is not None
    process = await asyncio.create_subprocess_exec(
        *docker_health_command(daemon.http.port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 20) == 0


async def test_health_is_503_while_ami_is_down_and_ok_once_it_is_back() -> None:
    """AMI listener closed under the daemon: 503 with ami down, the Docker check fails; AMI
    back: 200 ok, the check passes."""
    async with PbxSim(pbx_config()) as pbx, running(pbx) as daemon:
        await daemon.ami.wait_connected(5)
        status, body = await health(daemon)
        assert (status, body["status"]) == (200, "ok")
        assert {name: part["state"] for name, part in body["parts"].items()} == {
            "fastagi": "up",
            "ami": "up",
            "dispatcher": "up",
            "database": "disabled",
            "mqtt": "disabled",
        }
        assert await docker_health_passes(daemon)
        port = pbx.ami_port
        await pbx.ami.stop()
        await until(lambda: not daemon.ami.connected, within=10, what="AMI lost")
        status, body = await health(daemon)
        assert (status, body["status"], body["parts"]["ami"]["state"]) == (503, "down", "down")
        assert body["parts"]["ami"]["routes_calls"] is True
        assert not await docker_health_passes(daemon)
        await pbx.ami.start("127.0.0.1", port)
        await daemon.ami.wait_connected(10)
        status, body = await health(daemon)
        assert (status, body["status"]) == (200, "ok")


async def test_health_is_503_when_ami_never_answered() -> None:
    """Started with AMI unreachable (the fault as found): 503, not ok."""
    async with PbxSim(pbx_config()) as pbx:
        pbx.ami_port = closed_port()
        async with running(pbx) as daemon:
            status, body = await health(daemon)
            assert (status, body["parts"]["ami"]["state"]) == (503, "down")


async def test_a_database_down_is_degraded_not_down(tmp_path: Path) -> None:
    """The database unreachable: records spool, calls are still routed: 200 degraded, with
    the database spooling."""
    url = f"postgresql+asyncpg://acd:x@127.0.0.1:{closed_port()}/acd"
    database = {"url": url, "spool_dir": str(tmp_path / "spool")}
    async with PbxSim(pbx_config()) as pbx, running(pbx, database=database) as daemon:
        await daemon.ami.wait_connected(5)
        status, body = await health(daemon)
        assert (status, body["status"]) == (200, "degraded")
        assert body["parts"]["database"]["state"] == "spooling"
        assert body["parts"]["database"]["routes_calls"] is False


async def test_metrics_carry_ami_build_and_process_figures() -> None:
    """/metrics has acd_ami_connected (1, then 0 without AMI), acd_build_info and the process's
    CPU, memory and descriptors."""
    async with PbxSim(pbx_config()) as pbx, running(pbx) as daemon:
        await daemon.ami.wait_connected(5)
        status, body = await get(daemon, "/metrics")
        text = body.decode()
        assert status == 200
        assert "acd_ami_connected 1.0" in text
        assert 'acd_build_info{python="' in text
        assert "acd_fastagi_listening 1.0" in text
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
            assert f"\n{name} " in text, name
        assert "process_open_fds" in text
        await pbx.ami.stop()
        await until(lambda: not daemon.ami.connected, within=10, what="AMI lost")
        _, body = await get(daemon, "/metrics")
        assert "acd_ami_connected 0.0" in body.decode()


async def test_mqtt_down_is_degraded_not_down() -> None:
    """MQTT on but its broker unreachable: calls are routed, so 200 degraded, mqtt down."""
    mqtt = {"enabled": True, "url": f"mqtt://127.0.0.1:{closed_port()}"}
    async with PbxSim(pbx_config()) as pbx, running(pbx, mqtt=mqtt) as daemon:
        await daemon.ami.wait_connected(5)
        status, body = await health(daemon)
        assert (status, body["status"]) == (200, "degraded")
        assert body["parts"]["mqtt"] == {"state": "down", "routes_calls": False, "detail": ""}


async def test_a_daemon_not_started_is_not_serving() -> None:
    """Before run() has opened FastAGI, the parts calls depend on read starting: down."""
    daemon = Daemon(settings(closed_port()))
    parts = {part.name: part.state.value for part in await daemon.health()}
    assert parts["fastagi"] == "starting"
    assert parts["dispatcher"] == "starting"
    assert verdict(await daemon.health()) is Verdict.DOWN
