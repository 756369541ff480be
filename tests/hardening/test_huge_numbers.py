"""Huge, infinite and NaN numbers at every edge are refused with the field named.

Edges: the configuration file and the ``ACD_*`` variables (tests/data/bad-configs holds the file
cases), the HTTP API's queue tuning over a real socket, MQTT commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acd.mqtt.commands import InvalidCommandError, parse_command
from tests.admin.conftest import Api

GOOD = Path(__file__).resolve().parents[1] / "data" / "good-config.toml"


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("ACD_AMI_PING_INTERVAL_S", "1e999", "ami.ping_interval_s"),
        ("ACD_FASTAGI_MAX_SESSIONS", "99999999999999999999", "fastagi.max_sessions"),
        ("ACD_DATABASE_FLUSH_MS", "1e20", "database.flush_ms"),
        ("ACD_FASTAGI_SOURCE_LOCK_S", "nan", "fastagi.source_lock_s"),
    ],
)
def test_a_huge_number_in_a_variable_names_the_variable(
    variable: str, value: str, field: str
) -> None:
    """check-config with a huge value in an ACD_* variable: one line naming field and variable."""
    done = subprocess.run(
        [sys.executable, "-m", "acd.cli", "check-config", "-c", str(GOOD)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", variable: value},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"{field} (from {variable})" in lines[0]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"max_wait_s": 1e999}', "body.max_wait_s"),
        ('{"max_wait_s": 1e300}', "body.max_wait_s"),
        ('{"ring_timeout_s": 1e12}', "body.ring_timeout_s"),
        ('{"wrap_up_s": NaN}', "body.wrap_up_s"),
        ('{"weight": 1e300}', "body.weight"),
        ('{"steps": [{"expression": "french >= 1", "for_s": 1e308}]}', "body.steps.0.for_s"),
        ('{"priority": 1' + "0" * 40 + "}", "body.priority"),
    ],
)
async def test_queue_tuning_refuses_huge_numbers_naming_the_field(
    api: Api, raw: str, field: str
) -> None:
    """PATCH /api/v1/queues/support with a huge or non-finite number: 422 invalid_input naming
    the field; the settings in force are unchanged."""
    before = api.daemon.settings
    response = await api.client.patch(
        "/api/v1/queues/support",
        headers={**api.admin, "content-type": "application/json"},
        content=raw.encode(),
    )
    body = response.json()
    assert (response.status_code, body["error"]["code"]) == (422, "invalid_input")
    assert field in [f["field"] for f in body["error"]["fields"]]
    assert api.daemon.settings is before


async def test_a_number_too_long_to_parse_is_refused_not_a_crash(api: Api) -> None:
    """A 5,000-digit integer (beyond Python's int parsing limit): 400 bad_request (the body cannot
    be parsed, so no field can be named), and the daemon answers."""
    response = await api.client.patch(
        "/api/v1/queues/support",
        headers={**api.admin, "content-type": "application/json"},
        content=('{"priority": ' + "9" * 5000 + "}").encode(),
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert (await api.client.get("/api/v1/health")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "pause", "reason": 1e308}, "reason"),
        ({"action": "pause", "reason": "lunch", "request_id": 10**30}, "request_id"),
    ],
)
def test_mqtt_commands_refuse_numbers_naming_the_field(body: dict[str, object], field: str) -> None:
    """An MQTT command whose field holds a (huge) number is invalid_command naming the field."""
    with pytest.raises(InvalidCommandError, match=f"^{field}:"):
        parse_command("alice", json.dumps(body).encode())


def test_mqtt_commands_refuse_infinity() -> None:
    """JSON's non-standard Infinity in an MQTT command is refused like any non-string."""
    with pytest.raises(InvalidCommandError, match=r"^reason:"):
        parse_command("alice", b'{"action": "pause", "reason": Infinity}')
