"""acd's own prompts: placeholders shipped for French and English, check-config warns when one is
missing from Asterisk's sound directory."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

from typer.testing import CliRunner

from acd.asterisk.prompts import OWN_PROMPTS
from acd.cli import app
from tests.config.test_cli import write_config

PLACEHOLDERS = Path(__file__).resolve().parent.parent.parent / "sounds" / "placeholder"


def test_every_own_prompt_ships_a_placeholder_asterisk_can_play() -> None:
    """Each prompt of the catalogue has a French and an English WAV, 8 kHz mono 16-bit."""
    for name in OWN_PROMPTS:
        for language in ("fr", "en"):
            with wave.open(str(PLACEHOLDERS / language / f"{name}.wav"), "rb") as sound:
                assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (
                    8000,
                    1,
                    2,
                ), f"{language}/{name}"
                assert sound.getnframes() > 4000, f"{language}/{name} is under half a second"


def test_check_config_warns_about_a_missing_prompt(tmp_path: Path) -> None:
    """With --sounds, a prompt missing for a queue's language is a warning (exit 0), by path."""
    config = write_config(tmp_path)
    sounds = tmp_path / "sounds"
    shutil.copytree(PLACEHOLDERS / "fr", sounds / "fr")
    (sounds / "fr" / "acd-closed.wav").unlink()
    result = CliRunner().invoke(app, ["check-config", str(config), "--sounds", str(sounds)])
    assert result.exit_code == 0, result.output
    assert f"prompt {sounds / 'fr' / 'acd-closed'} not found" in result.output
    assert "acd-reopens" not in result.output
