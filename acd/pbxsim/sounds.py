"""Prompt lengths in 8 kHz samples, as STREAM FILE reports them in ``endpos`` (from the lab)."""

from __future__ import annotations

SAMPLE_RATE = 8000

# Measured on the lab's Debian asterisk-core-sounds-en-wav (endpos values in S4/S9 recordings).
SOUND_SAMPLES = {
    "beep": 3404,
    "queue-thereare": 18054,
    "queue-thankyou": 12720,
    "hello-world": 11200,
    "demo-congrats": 160000,
    "queue-callswaiting": 10640,
    "queue-holdtime": 11040,
    "queue-minutes": 5440,
    "queue-youarenext": 9760,
    "queue-periodic-announce": 32000,
    "vm-goodbye": 6080,
    "silence/1": 8000,
}

DEFAULT_SAMPLES = SAMPLE_RATE


def samples_of(name: str) -> int:
    """Length of a prompt; ``silence/N`` is N seconds, unknown prompts last one second."""
    if name.startswith("silence/"):
        try:
            return int(name.split("/", 1)[1]) * SAMPLE_RATE
        except ValueError:
            return DEFAULT_SAMPLES
    return SOUND_SAMPLES.get(name, DEFAULT_SAMPLES)
