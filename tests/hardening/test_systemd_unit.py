"""The shipped systemd units, parsed where systemd cannot run: paths, limits, hardening, purge."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def unit(name: str) -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str  # type: ignore[assignment,method-assign]
    parsed.read(ROOT / "systemd" / name)
    return parsed


def test_the_service_has_its_runtime_directory_descriptors_and_documented_binary() -> None:
    """RuntimeDirectory for /run/acd, LimitNOFILE, the binary docs/real-asterisk.md installs."""
    service = unit("acd.service")["Service"]
    assert service["RuntimeDirectory"] == "acd"
    assert int(service["LimitNOFILE"]) >= 4096
    assert service["UMask"] == "0077"
    binary = service["ExecStart"].split()[0]
    assert binary == "/opt/acd/bin/acd"
    assert binary in (ROOT / "docs" / "real-asterisk.md").read_text(encoding="utf-8")


def test_the_service_is_hardened() -> None:
    """The settings that move systemd-analyze security's score from 8.5 "exposed" are all set."""
    service = unit("acd.service")["Service"]
    expected = {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
        "PrivateDevices": "true",
        "PrivateUsers": "true",
        "ProtectKernelTunables": "true",
        "ProtectKernelModules": "true",
        "ProtectKernelLogs": "true",
        "ProtectControlGroups": "true",
        "ProtectClock": "true",
        "ProtectHostname": "true",
        "ProtectProc": "invisible",
        "RestrictNamespaces": "true",
        "RestrictRealtime": "true",
        "RestrictSUIDSGID": "true",
        "LockPersonality": "true",
        "MemoryDenyWriteExecute": "true",
        "CapabilityBoundingSet": "",
        "SystemCallArchitectures": "native",
    }
    assert {key: service.get(key) for key in expected} == expected
    assert set(service["RestrictAddressFamilies"].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}


def test_a_timer_runs_the_purge_every_night() -> None:
    """acd-purge.timer starts acd-purge.service, which runs acd db purge with the config."""
    timer = unit("acd-purge.timer")
    assert "OnCalendar" in timer["Timer"]
    assert timer["Timer"]["Persistent"] == "true"
    purge = unit("acd-purge.service")["Service"]
    assert purge["Type"] == "oneshot"
    assert purge["ExecStart"] == "/opt/acd/bin/acd db purge -c /etc/acd/acd.toml"
