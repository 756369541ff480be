"""What acd says to a waiting caller, as AGI command lines. Pure: no I/O.

Sound names are Asterisk's core sounds (``queue-*``, ``digits/*``); the channel's language picks
the voice.
"""

from __future__ import annotations

from acd.asterisk.agi_codec import command_line, quoted, word


def prompt_files(kind: str, position: int, expected_wait_s: int) -> list[str]:
    """Sound files of an announcement (Asterisk's core sound names): position, then expected wait.

    ``position`` 1 is the next caller to be served; an ``expected_wait_s`` of 0 says nothing of it.
    """
    files: list[str] = []
    if kind == "position":
        if position <= 1:
            files.append("queue-youarenext")
        else:
            files += ["queue-thereare", *number_files(position - 1), "queue-callswaiting"]
    if kind in ("position", "expected_wait") and expected_wait_s > 0:
        if expected_wait_s < 60:
            files += ["queue-holdtime", "queue-less-than", *number_files(1), "queue-minute"]
        else:
            files += ["queue-holdtime", *number_files(round(expected_wait_s / 60)), "queue-minutes"]
    return files


def number_files(n: int) -> list[str]:
    """``digits/`` files for n (0–999); the channel language picks the voice."""
    n = max(0, min(n, 999))
    if n <= 20:
        return [f"digits/{n}"]
    if n < 100:
        tens, units = divmod(n, 10)
        return [f"digits/{tens * 10}"] + ([f"digits/{units}"] if units else [])
    hundreds, rest = divmod(n, 100)
    return [f"digits/{hundreds}", "digits/hundred"] + (number_files(rest) if rest else [])


def stream_file(name: str) -> str:
    """``STREAM FILE <name> ""``: no escape digits."""
    return command_line("STREAM FILE", word(name), quoted(""))


def prompt_lines(kind: str, position: int, expected_wait_s: int) -> list[str]:
    """The AGI command lines of one announcement, each a part the leg may interrupt."""
    return [stream_file(name) for name in prompt_files(kind, position, expected_wait_s)]


# How SAY DATETIME says a reopening, per language (Asterisk's say.c format letters: A weekday,
# d day of month, B month, k / I hour, M minutes, p AM/PM; quoted text is a sound file).
SAY_DATETIME_FORMATS = {
    "fr": "AdB 'digits/at' kM",
    "en": "ABd 'digits/at' IMp",
}


def closed_lines(language: str, timezone: str, reopens_at: float | None) -> list[str]:
    """ "We are closed" and, when known, "we open again on" + the date and time said by Asterisk
    (SAY DATETIME, in the channel's language and the centre's zone). ``acd-closed`` and
    ``acd-reopens`` are the centre's own recordings (docs/hours.md)."""
    if reopens_at is None:
        return [stream_file("acd-closed")]
    fmt = SAY_DATETIME_FORMATS.get(language, SAY_DATETIME_FORMATS["en"])
    return [
        stream_file("acd-closed"),
        stream_file("acd-reopens"),
        command_line("SAY DATETIME", str(int(reopens_at)), quoted(""), quoted(fmt), word(timezone)),
    ]
