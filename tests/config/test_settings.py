"""Settings: TOML + ACD_* environment variables, validated with field-precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.core.config import Policy, TargetKind
from acd.settings import SettingsError, load_settings, parse_settings

GOOD_TOML = """
[centre]
timezone = "Europe/Paris"

[ami]
secret = "amisecret"

[queues.support]
policy = "best_skill"
weight = 2.0
max_wait_s = 300
overflow = "extension:voicemail@support"
steps = [
  { expression = "french>=4 and billing>=3", for_s = 30 },
  { expression = "french>=2", for_s = 60 },
  { expression = "any" },
]

[queues.sales]

[agents.1001]
name = "Zoé Martin"
endpoint = "PJSIP/1001"
pin = "4321"
skills = { french = 5, billing = 3 }
queues = ["support", "sales"]
wrap_up_s = 15
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "acd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_run_without_a_file() -> None:
    """With no file, the embedded defaults are SQLite, MQTT off and the API on 127.0.0.1."""
    settings = load_settings(None)
    assert settings.database.url.get_secret_value().startswith("sqlite+aiosqlite:///")
    assert settings.mqtt.enabled is False
    assert settings.http.bind == "127.0.0.1"
    assert settings.workload.enabled is True
    assert settings.workload.occupancy_cap == 0.85


def test_a_good_file_builds_the_engine_config(tmp_path: Path) -> None:
    """A valid acd.toml becomes the engine's AcdConfig with queues, steps, overflow and advisors."""
    config = load_settings(write(tmp_path, GOOD_TOML)).to_core()
    support = config.queue("support")
    assert support is not None
    assert support.policy is Policy.BEST_SKILL
    assert [s.expires_after_s for s in support.steps] == [30, 60, None]
    assert support.overflow is not None
    assert support.overflow.kind is TargetKind.EXTENSION
    (agent,) = config.agents
    assert agent.id == "1001"
    assert agent.wrap_up_s == 15
    assert dict(agent.skills) == {"french": 5, "billing": 3}


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ACD_DATABASE_URL and ACD_AMI_SECRET override database.url and ami.secret from the file."""
    monkeypatch.setenv("ACD_DATABASE_URL", "postgresql+asyncpg://acd@db/acd")
    monkeypatch.setenv("ACD_AMI_SECRET", "fromenv")
    settings = load_settings(write(tmp_path, GOOD_TOML))
    assert settings.database.url.get_secret_value() == "postgresql+asyncpg://acd@db/acd"
    assert settings.ami.resolved_secret().get_secret_value() == "fromenv"


def test_secrets_never_print(tmp_path: Path) -> None:
    """The AMI secret, advisor PINs and the database URL are masked in repr and str."""
    settings = load_settings(write(tmp_path, GOOD_TOML))
    text = repr(settings) + str(settings)
    assert "amisecret" not in text
    assert "4321" not in text


def test_secret_file_is_read(tmp_path: Path) -> None:
    """ami.secret_file supplies the secret, without its trailing newline."""
    secret = tmp_path / "ami.secret"
    secret.write_text("filesecret\n", encoding="utf-8")
    settings = parse_settings({"ami": {"secret_file": str(secret)}})
    assert settings.ami.resolved_secret().get_secret_value() == "filesecret"


@pytest.mark.parametrize(
    ("line", "patch", "where", "what"),
    [
        ("weight = 2.0", "weight = -1.0", "queues.support.weight", "greater than 0"),
        ('policy = "best_skill"', 'policy = "random"', "queues.support.policy", "longest_idle"),
        ('policy = "best_skill"', 'colour = "blue"', "queues.support.colour", "Extra inputs"),
        (
            'overflow = "extension:voicemail@support"',
            'overflow = "somewhere"',
            "queues.support.overflow",
            "expected queue:NAME",
        ),
    ],
)
def test_bad_queue_values_name_file_and_field(
    tmp_path: Path, line: str, patch: str, where: str, what: str
) -> None:
    """A bad queue value is reported with the file name and the dotted field path."""
    text = GOOD_TOML.replace(line, patch)
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "acd.toml"))
    assert where in message
    assert what in message


def test_skill_expression_error_points_at_the_column(tmp_path: Path) -> None:
    """A malformed skill expression reports the step and the position of the syntax error."""
    text = GOOD_TOML.replace("french>=4 and billing>=3", "french>=4 and and billing>=3")
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, text))
    assert "queues.support.steps[0].expression" in str(info.value)
    assert "position 14" in str(info.value)


def test_unknown_queue_reference_is_an_error(tmp_path: Path) -> None:
    """An advisor serving an undefined queue is refused with the advisor's field path."""
    text = GOOD_TOML.replace('queues = ["support", "sales"]', 'queues = ["support", "nope"]')
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, text))
    assert "agents[1001].queues" in str(info.value)
    assert "nope" in str(info.value)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    """Broken TOML and a missing file are SettingsErrors naming the file, not tracebacks."""
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write(tmp_path, "[queues\n"))
    with pytest.raises(SettingsError, match="file not found"):
        load_settings(tmp_path / "absent.toml")


def test_bad_pin_is_refused() -> None:
    """An advisor PIN that is not 4-12 digits is refused without echoing it."""
    with pytest.raises(SettingsError) as info:
        parse_settings({"agents": {"a1": {"pin": "12x"}}})
    assert "agents.a1.pin" in str(info.value)
    assert "12x" not in str(info.value)
