"""The pure layers import only an allow-list of the standard library (and nothing third-party).

``acd.core`` and the call leg (``acd/asterisk/call_leg.py`` with the pure modules it uses) run
the same in the daemon, in ``acd simulate`` and in a replay: no clock, no I/O, no asyncio. A
deny-list lets ``import os`` through; this allow-list does not. Dates and time zones are the
calendar module's alone (``acd/core/calendar.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ACD = Path(__file__).resolve().parent.parent / "acd"

# Data structures and pure computation only.
PURE_STDLIB = frozenset(
    {
        "__future__",
        "array",
        "bisect",
        "collections",
        "collections.abc",
        "dataclasses",
        "enum",
        "heapq",
        "itertools",
        "math",
        "re",
        "types",
        "typing",
    }
)
# Only the calendar module reads dates and zones (passed in as data; it never reads the clock).
CALENDAR_STDLIB = PURE_STDLIB | {"datetime", "zoneinfo"}
CALENDAR = ACD / "core" / "calendar.py"
# The AGI codec the leg builds its lines with: it also parses the script's query string.
AGI_CODEC_STDLIB = PURE_STDLIB | {"urllib.parse"}

CALL_LEG_MODULES = [
    ACD / "asterisk" / name
    for name in (
        "call_leg.py",
        "callback_leg.py",
        "outbound_leg.py",
        "prompts.py",
        "agi_codec.py",
        "errors.py",
    )
] + [ACD / "asterisk" / "pin_locks.py"]  # the feature codes' wrong-PIN counts: pure as well


def pure_modules() -> list[Path]:
    return sorted((ACD / "core").rglob("*.py")) + CALL_LEG_MODULES


def imported(path: Path) -> set[str]:
    """Absolute module names a file imports (``acd.*`` included), wherever the import sits."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def allowed_for(path: Path) -> frozenset[str]:
    if path == CALENDAR:
        return CALENDAR_STDLIB
    if path.name == "agi_codec.py":
        return AGI_CODEC_STDLIB
    return PURE_STDLIB


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(ACD)))
def test_a_pure_module_imports_only_the_allowed_standard_library(path: Path) -> None:
    """Each module of acd.core and of the call leg imports only allowed stdlib modules, and from
    acd only the core (the call leg: the core and its pure Asterisk siblings)."""
    own = {"acd.core"} | (
        {f"acd.asterisk.{p.stem}" for p in CALL_LEG_MODULES} if path in CALL_LEG_MODULES else set()
    )
    outside = {
        name
        for name in imported(path)
        if not (
            name in allowed_for(path) or any(name == o or name.startswith(o + ".") for o in own)
        )
    }
    assert outside == set(), f"{path.relative_to(ACD)} imports {sorted(outside)}"


def test_the_allow_list_sees_what_it_must_refuse(tmp_path: Path) -> None:
    """A module importing os, time, asyncio or datetime (outside the calendar) is refused."""
    module = tmp_path / "leg.py"
    module.write_text("import os\nfrom time import monotonic\nimport asyncio\nimport datetime\n")
    assert imported(module) - allowed_for(module) == {"os", "time", "asyncio", "datetime"}
