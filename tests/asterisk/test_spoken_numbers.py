"""Numbers in announcements are spoken by Asterisk (SAY NUMBER), by say.c's rules of the language.

``say_c`` below transcribes the file sequences of Asterisk's main/say.c (ast_say_number_full_en
and ast_say_number_full_fr, Asterisk 22) for 0-9999: what a caller hears for the one
``SAY NUMBER`` line acd sends. The old hand-built ``digits/`` lists said 21 as "vingt un" and
80 as "huitante"; say.c says "vingt et un" and "quatre-vingts".
"""

from __future__ import annotations

import pytest

from acd.asterisk.prompts import prompt_lines, say_number

LARGER = [101, 121, 171, 180, 199, 200, 371, 999, 1000, 1971, 2024, 9999]


def say_c_en(n: int) -> list[str]:
    """ast_say_number_full_en: units and teens, tens then a unit, `hundred`, `thousand`."""
    if n == 0:
        return ["digits/0"]
    files: list[str] = []
    if n >= 1000:
        files += [*say_c_en(n // 1000), "digits/thousand"]
        n %= 1000
    if n >= 100:
        files += [f"digits/{n // 100}", "digits/hundred"]
        n %= 100
    if n >= 20:
        files.append(f"digits/{n // 10 * 10}")
        n %= 10
    if n:
        files.append(f"digits/{n}")
    return files


def say_c_fr(n: int, feminine: bool = False) -> list[str]:
    """ast_say_number_full_fr: `et` before un/onze (21-71), 70-79 as soixante + 10-19, 80-99
    as quatre-vingt(s) + 1-19, `1F` for une, `hundred` alone for 100-199, `thousand` alone for
    1000-1999."""
    if n == 0:
        return ["digits/0"]
    files: list[str] = []
    while n:
        if n == 1:
            files.append("digits/1F" if feminine else "digits/1")
            n = 0
        elif n < 21:
            files.append(f"digits/{n}")
            n = 0
        elif n < 70:
            files.append(f"digits/{n // 10 * 10}")
            if n % 10 == 1:
                files.append("digits/et")
            n %= 10
        elif n < 80:
            files.append("digits/60")
            if n % 10 == 1:
                files.append("digits/et")
            n -= 60
        elif n < 100:
            files.append("digits/80")
            n -= 80
        elif n < 200:
            files.append("digits/hundred")
            n -= 100
        elif n < 1000:
            files += [f"digits/{n // 100}", "digits/hundred"]
            n %= 100
        elif n < 2000:
            files.append("digits/thousand")
            n -= 1000
        else:
            files += [*say_c_fr(n // 1000), "digits/thousand"]
            n %= 1000
    return files


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("n", [*range(0, 101), *LARGER])
def test_a_position_is_one_say_number_line(language: str, n: int) -> None:
    """ "There are N calls waiting" sends exactly one SAY NUMBER N, no digits/ files."""
    lines = prompt_lines("position", n + 1, 0, language)
    if n == 0:
        assert lines == ['STREAM FILE queue-youarenext ""']
        return
    assert lines == [
        'STREAM FILE queue-thereare ""',
        f'SAY NUMBER {n} ""',
        'STREAM FILE queue-callswaiting ""',
    ]
    assert not any("digits/" in line for line in lines)


@pytest.mark.parametrize("n", [1, 21, 31, 41, 51, 61, 71, 81, 91, 101])
def test_minutes_are_feminine_in_french_only(n: int) -> None:
    """ "Une minute", "vingt et une minutes": the wait in French asks say.c for the feminine."""
    fr = prompt_lines("expected_wait", 1, n * 60, "fr")
    en = prompt_lines("expected_wait", 1, n * 60, "en")
    assert f'SAY NUMBER {n} "" f' in fr
    assert f'SAY NUMBER {n} ""' in en
    if n == 1:
        assert say_c_fr(1, feminine=True) == ["digits/1F"]


def test_say_c_speaks_french_as_french_speakers_do() -> None:
    """The forms the hand-built lists got wrong: 21, 71, 80, 91, 100, 1000 as say.c says them."""
    assert say_c_fr(21) == ["digits/20", "digits/et", "digits/1"]
    assert say_c_fr(71) == ["digits/60", "digits/et", "digits/11"]
    assert say_c_fr(77) == ["digits/60", "digits/17"]
    assert say_c_fr(80) == ["digits/80"]
    assert say_c_fr(91) == ["digits/80", "digits/11"]
    assert say_c_fr(100) == ["digits/hundred"]
    assert say_c_fr(121) == ["digits/hundred", "digits/20", "digits/et", "digits/1"]
    assert say_c_fr(1000) == ["digits/thousand"]
    assert say_c_fr(2024) == ["digits/2", "digits/thousand", "digits/20", "digits/4"]
    assert say_c_fr(21, feminine=True) == ["digits/20", "digits/et", "digits/1F"]


def test_say_c_speaks_english_without_and() -> None:
    """English (en): 21 "twenty one", 101 "one hundred one", 1971 "one thousand nine hundred
    seventy one"."""
    assert say_c_en(21) == ["digits/20", "digits/1"]
    assert say_c_en(101) == ["digits/1", "digits/hundred", "digits/1"]
    assert say_c_en(1971) == [
        "digits/1",
        "digits/thousand",
        "digits/9",
        "digits/hundred",
        "digits/70",
        "digits/1",
    ]
    assert [say_c_en(n) for n in range(0, 20)] == [[f"digits/{n}"] for n in range(0, 20)]


def test_say_number_lines_are_valid_agi() -> None:
    """The line quotes empty escape digits and adds the gender only when asked."""
    assert say_number(42) == 'SAY NUMBER 42 ""'
    assert say_number(1, "f") == 'SAY NUMBER 1 "" f'
