"""Shared fixtures: the real PostgreSQL and Mosquitto servers, when the environment names them.

CI sets ``ACD_TEST_POSTGRES_URL`` and ``ACD_TEST_MQTT_URL``; a test that needs one of them fails
when the variable is set but the server is unreachable, and skips with a reason when it is not.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest


def _reachable(url: str, default_port: int) -> tuple[bool, str]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return True, f"{host}:{port}"
    except OSError as exc:
        return False, f"{host}:{port} ({exc})"


def _service_url(variable: str, default_port: int, what: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{variable} is not set: no {what} to test against")
    ok, where = _reachable(url, default_port)
    if not ok:
        pytest.fail(f"{variable} is set but {what} at {where} is unreachable")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the real PostgreSQL server named by ACD_TEST_POSTGRES_URL."""
    return _service_url("ACD_TEST_POSTGRES_URL", 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    """URL of the real MQTT broker named by ACD_TEST_MQTT_URL."""
    return _service_url("ACD_TEST_MQTT_URL", 1883, "MQTT broker")
