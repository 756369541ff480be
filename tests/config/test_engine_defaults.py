"""One default per setting: the settings take the engine's defaults; announcements switch off."""

from __future__ import annotations

import tomllib

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.config import AcdConfig, AgentConfig, QueueConfig, WorkloadPolicy
from acd.core.engine import Engine
from acd.settings import (
    SettingsError,
    parse_settings,
)

AGENT = '\n[agents.a1]\nqueues = ["q"]\n'


def test_a_file_that_says_nothing_builds_the_engines_own_defaults() -> None:
    """Queue, advisor, workload and centre left unset equal the engine's own defaults."""
    core = parse_settings(tomllib.loads("[queues.q]\n" + AGENT)).to_core()
    assert core.queues == (QueueConfig("q"),)
    assert core.agents == (AgentConfig("a1", queues=("q",)),)
    assert core.workload == WorkloadPolicy()
    bare = AcdConfig(queues=(QueueConfig("q"),), agents=(AgentConfig("a1", queues=("q",)),))
    assert core.short_abandon_s == bare.short_abandon_s


def _queue_config(toml: str) -> QueueConfig:
    core = parse_settings(tomllib.loads(toml)).to_core()
    (queue,) = core.queues
    return queue


def test_a_queue_left_unset_announces_every_30_s() -> None:
    """A queue that says nothing about announcements gets the engine's 30 s interval."""
    assert _queue_config("[queues.q]\n" + AGENT).announce_interval_s == 30.0


def test_announce_interval_zero_in_toml_turns_announcements_off() -> None:
    """``announce_interval_s = 0`` in TOML: no announcement timer is ever asked for."""
    queue = _queue_config("[queues.q]\nannounce_interval_s = 0\n" + AGENT)
    assert queue.announce_interval_s is None
    engine = Engine(AcdConfig(queues=(queue,), agents=(AgentConfig("a1", queues=("q",)),)))
    out = engine.handle(ev.CallArrived(at=0.0, call_id="c1", queue="q"))
    assert not [c for c in out if isinstance(c, cmd.StartTimer) and "announce" in c.timer_id]


def test_a_negative_announce_interval_names_the_field() -> None:
    """A negative interval is refused with the field's path, not silently turned off."""
    with pytest.raises(SettingsError, match="announce_interval_s"):
        parse_settings(tomllib.loads("[queues.q]\nannounce_interval_s = -1\n" + AGENT))
