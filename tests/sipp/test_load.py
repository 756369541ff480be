"""tests/sipp/load.py: the load advisors' config it writes is valid for acd and its generator."""

from __future__ import annotations

import tomllib
from pathlib import Path

from acd.pjsip_endpoints import parse_passwords, render_fallback_queues, render_pjsip_endpoints
from acd.settings import parse_settings
from tests.deploy.conf import parse_conf, read_conf
from tests.sipp.load import main


def test_write_config_gives_agents_acd_accepts_and_endpoints_for_them(tmp_path: Path) -> None:
    """write-config's agents load into acd's settings and become authenticated endpoints."""
    assert main(["write-config", "--advisors", "3", "--out", str(tmp_path)]) == 0
    agents = tomllib.loads((tmp_path / "agents.toml").read_text(encoding="utf-8"))
    queues = {"support": {}, "billing": {"language": "fr"}, "support_en": {"language": "en"}}
    settings = parse_settings({"queues": queues, **agents}, "<load>")
    assert sorted(settings.agents) == ["load1001", "load1002", "load1003"]
    passwords = parse_passwords((tmp_path / "passwords.toml").read_text(encoding="utf-8"))
    assert (tmp_path / "passwords.toml").stat().st_mode & 0o077 == 0
    sections = parse_conf(render_pjsip_endpoints(settings, passwords))
    assert [s.name for s in sections if s.parents == ["acd-advisor"]] == ["1001", "1002", "1003"]
    assert "member => PJSIP/1003" in render_fallback_queues(settings)


def test_load_trunk_is_identified_by_the_callers_header() -> None:
    """The load-test trunk lands in [acd-inbound] and matches the header caller.xml sends."""
    sections = read_conf("pjsip_loadtest.conf")
    endpoint = next(s for s in sections if s.get("type") == "endpoint")
    identify = next(s for s in sections if s.get("type") == "identify")
    assert endpoint.get("context") == "acd-inbound"
    assert identify.get("endpoint") == endpoint.name
    header = identify.get("match_header")
    assert header is not None
    caller = (Path(__file__).parent / "scenarios" / "caller.xml").read_text(encoding="utf-8")
    assert header in caller


def test_load_trunk_is_not_included_by_default() -> None:
    """pjsip.conf does not include the load-test trunk: an admin adds it on a test PBX only."""
    includes = [i for s in read_conf("pjsip.conf") for i in s.includes]
    assert "pjsip_loadtest.conf" not in includes
