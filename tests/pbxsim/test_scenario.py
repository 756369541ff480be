"""Scenario files (issue 18): phones, callers and queues written in TOML, replayed by
``acd pbxsim --scenario``; a bad file is refused with the key at fault."""

from __future__ import annotations

import asyncio
import json
import random
import tomllib
from pathlib import Path

import pytest

from acd.pbxsim.__main__ import main
from acd.pbxsim.config import PbxConfig
from acd.pbxsim.pbx import AmiEvent
from acd.pbxsim.scenario import ScenarioError, load_scenario, parse_scenario, play
from acd.pbxsim.sim import PbxSim

DOCS = Path(__file__).resolve().parents[2] / "docs"

STORY = """
[scenario]
name = "two callers, a busy phone, an offline one"
duration_s = 4
time_scale = 0.05

[pbx]
agi_url = "agi://127.0.0.1:{port}/inbound"

[endpoints.agent1]
answer = "busy"

[endpoints.agent2]
answer = "unreachable"

[endpoints.agent3]
answer_after_s = 1
talk_s = 3
keys = [[1, "7"]]

[queues.support]
members = ["agent1", "agent2", "agent3"]
ring_timeout_s = 5
retry_s = 1

[[callers]]
at_s = 0
caller_num = "5551001"
keys = [[0.5, "4"]]
dtmf_mode = "info"

[[callers]]
at_s = 1
caller_num = "5551002"
patience_s = 2
"""


async def closed_port() -> int:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port


async def test_the_documented_example_loads() -> None:
    """docs/pbxsim-incident.toml is a valid scenario with what its comments say."""
    scenario = load_scenario(DOCS / "pbxsim-incident.toml")
    assert [p.name for p in scenario.config.phones] == ["agent1", "agent2", "agent3"]
    assert [p.registered for p in scenario.config.phones] == [True, False, True]
    assert scenario.behaviours["agent3"].mode == "no_answer"
    assert scenario.behaviours["agent1"].answer_delay == 2.5
    assert scenario.phone_keys["agent1"][0].digit == "5"
    assert scenario.callers[0].caller_name == "Élodie Lefèvre"
    assert [k.digit for k in scenario.callers[0].keys] == ["1", "2", "#"]
    assert scenario.callers[1].sends_audio is False
    assert scenario.arrivals[0].steps == ((0.0, 60.0), (3600.0, 240.0))
    assert scenario.config.dialplan.fallback_queue == "support"


async def test_a_story_replays_with_its_phones_callers_and_keys() -> None:
    """Busy and offline phones are skipped, keys reach AMI, the impatient caller abandons."""
    port = await closed_port()
    scenario = parse_scenario(tomllib.loads(STORY.format(port=port)), PbxConfig())
    sim = PbxSim(scenario.config)
    seen: list[AmiEvent] = []
    sim.subscribe(seen.append)
    async with sim:
        records = await asyncio.wait_for(play(scenario, sim), 10)
    first, second = records
    assert first.path == second.path == "fallback"
    assert first.agi_status == "FAILURE"
    assert sim.counters["answered_by_fallback"] == 1
    assert second.abandoned
    called = [dict(e.headers)["Interface"] for e in seen if e.name == "AgentCalled"]
    # The busy phone is rung (486), the offline one never, agent3 answers.
    assert {"PJSIP/agent1", "PJSIP/agent3"} <= set(called)
    assert "PJSIP/agent2" not in called
    dtmf = [(dict(e.headers)["Channel"].split("-")[0], e.name) for e in seen if "DTMF" in e.name]
    assert ("PJSIP/callers", "DTMFEnd") in dtmf
    assert ("PJSIP/callers", "DTMFBegin") not in dtmf  # SIP INFO: DTMFEnd alone
    assert ("PJSIP/agent3", "DTMFEnd") in dtmf


def test_the_command_line_replays_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``acd pbxsim --scenario FILE`` runs the story and prints the counters as JSON."""
    port = asyncio.run(closed_port())
    path = tmp_path / "story.toml"
    path.write_text(STORY.format(port=port), encoding="utf-8")
    assert main(["--scenario", str(path), "--ami-port", "0", "--run-for", "20"]) == 0
    counters = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counters["calls_placed"] == 2
    assert counters["channels_created"] == counters["channels_destroyed"]


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("[scenario]\nnmae = 'x'\n", "unknown key(s) nmae"),
        ("[endpoints.a1]\nanswer = 'maybe'\n", "answer must be one of"),
        ("[endpoints.a1]\ntalk_s = -1\n", "talk_s must be a number"),
        ("[endpoints.a1]\nkeys = [[1, 'x']]\n", "keys must be [seconds, digit]"),
        ("[queues.q]\nmembers = ['ghost']\n", "member 'ghost' is not an [endpoints]"),
        ("[[callers]]\nqueue = 'nowhere'\n", "queue 'nowhere' is not a [queues]"),
        ("[queues.q]\ncalls_per_hour = [['9h', 3]]\n", "not seconds nor"),
        ("[queues.q]\npatience_s = {distribution = 'pareto'}\n", "patience_s"),
        ("[pbx]\nami_port = 'x'\n", "ami_port must be a port"),
        ("[scenario]\nseed = 1.5\n", "seed must be an integer"),
    ],
)
def test_a_bad_file_is_refused_with_the_key_at_fault(text: str, fault: str) -> None:
    """Every key is validated: unknown keys, bad values and dangling names are refused."""
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(tomllib.loads(text), PbxConfig())
    assert fault in str(refused.value)


def test_the_command_line_refuses_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad scenario file exits 2 with the reason, no traceback."""
    path = tmp_path / "bad.toml"
    path.write_text("[endpoints.a1]\nanswer = 'maybe'\n", encoding="utf-8")
    assert main(["--scenario", str(path), "--ami-port", "0"]) == 2
    assert "answer must be one of" in capsys.readouterr().err
    assert main(["--scenario", str(tmp_path / "missing.toml"), "--ami-port", "0"]) == 2


def test_answer_option_makes_silent_callers() -> None:
    """``--answer S`` keeps its meaning (every answer takes S: silent callers); without it
    callers send audio and answers take ms."""
    from acd.pbxsim.__main__ import build_config, parser

    silent = build_config(parser().parse_args(["--answer", "0.5"])).timings
    assert (silent.answer, silent.callers_send_audio) == (0.5, False)
    talking = build_config(parser().parse_args([])).timings
    assert talking.callers_send_audio
    assert talking.answer_with_audio < 0.01


def test_distributions_read_as_acd_simulate_reads_them() -> None:
    """patience_s/handle_s take acd simulate's distributions; draws have the stated mean."""
    text = """
[queues.q]
patience_s = { distribution = "lognormal", mean = 100, sd = 50 }
handle_s = { distribution = "gamma", mean = 200, sd = 100 }
calls_per_hour = 3600
[scenario]
duration_s = 2000
"""
    scenario = parse_scenario(tomllib.loads(text), PbxConfig())
    rng = random.Random(3)
    for distribution, mean in (
        (scenario.arrivals[0].patience, 100),
        (scenario.arrivals[0].handle, 200),
    ):
        draws = [distribution.draw(rng) or 0.0 for _ in range(4000)]
        assert abs(sum(draws) / len(draws) - mean) < mean * 0.05
