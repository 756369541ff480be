"""The admin's reference stays true: every key documented, the example valid, the unit sane."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from pydantic import BaseModel

from acd.settings import (
    AgentSettings,
    CampaignSettings,
    ExceptionSettings,
    PbxSettings,
    QueueSettings,
    ScheduleSettings,
    Settings,
    StepSettings,
    SupervisorSettings,
    load_settings,
)

ROOT = Path(__file__).resolve().parents[2]


def all_keys() -> list[str]:
    keys: list[str] = []
    for section, field in Settings.model_fields.items():
        if section in ("queues", "agents", "schedules", "supervisors", "campaigns", "pbx"):
            continue
        model = field.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        keys += [f"{section}.{key}" for key in model.model_fields]
    keys += [f"queues.NAME.{key}" for key in QueueSettings.model_fields]
    keys += [f"queues.NAME.steps.{key}" for key in StepSettings.model_fields]
    keys += [f"agents.ID.{key}" for key in AgentSettings.model_fields]
    keys += [f"pbx.NAME.{key}" for key in PbxSettings.model_fields if key in ("agi_hosts", "trunk")]
    keys += [f"schedules.NAME.{key}" for key in ScheduleSettings.model_fields]
    keys += [f"schedules.NAME.exceptions.{key}" for key in ExceptionSettings.model_fields]
    keys += [f"supervisors.ID.{key}" for key in SupervisorSettings.model_fields]
    keys += [f"campaigns.NAME.{key}" for key in CampaignSettings.model_fields]
    return keys


def test_every_setting_is_documented() -> None:
    """docs/configuration.md has a row for every key of every section."""
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", doc, flags=re.MULTILINE)
    missing = []
    for key in all_keys():
        section, name = key.split(".")[0], key.split(".")[-1]
        body = next((s for s in sections if s.startswith(f"`[{section}")), "")
        if f"| `{name}` |" not in body and f"`{name}`" not in body:
            missing.append(key)
    assert missing == []


def test_example_config_is_valid() -> None:
    """examples/acd.toml passes every check the daemon makes."""
    config = load_settings(ROOT / "examples" / "acd.toml").to_core()
    assert {q.name for q in config.queues} == {"support", "sales"}
    assert len(config.agents) == 3


def test_systemd_unit_uses_notify_and_watchdog() -> None:
    """The shipped unit waits for READY=1, has a watchdog and reloads with SIGHUP."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "systemd" / "acd.service")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > Settings().daemon.watchdog_stall_s
    assert "acd run -c" in service["ExecStart"]
    assert "kill -HUP $MAINPID" in service["ExecReload"]
    assert service["Restart"] == "on-failure"
