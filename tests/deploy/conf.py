"""Read Asterisk .conf files (sections, templates, ``key = value``/``key => value``, includes)."""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.dialplan import ROOT

_SECTION = re.compile(r"\[([^\]]+)\](?:\(([^)]*)\))?$")


@dataclass(slots=True)
class Section:
    """One ``[name](template, ...)`` block with its options in file order."""

    name: str
    parents: list[str]
    is_template: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        """The last value of ``key`` in this block itself (not its templates)."""
        values = [v for k, v in self.options if k == key]
        return values[-1] if values else None

    def all(self, key: str) -> list[str]:
        """Every value of a repeated ``key`` (``member``, ``require``, ``match``...)."""
        return [v for k, v in self.options if k == key]


def parse_conf(text: str) -> list[Section]:
    """Sections of an Asterisk configuration file; ``#include``s are recorded, not followed."""
    sections: list[Section] = []
    current: Section | None = None
    top_includes: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        if line.startswith(("#include", "#tryinclude")):
            target = line.split(None, 1)[1].strip().strip('"')
            (current.includes if current else top_includes).append(target)
            continue
        match = _SECTION.match(line)
        if match:
            flags = [p.strip() for p in (match.group(2) or "").split(",") if p.strip()]
            current = Section(match.group(1), [f for f in flags if f != "!"], "!" in flags)
            sections.append(current)
            continue
        if current is None:
            raise ValueError(f"option outside a section: {raw}")
        key, sep, value = line.partition("=>") if "=>" in line else line.partition("=")
        if not sep:
            raise ValueError(f"not an option: {raw}")
        current.options.append((key.strip(), value.strip()))
    return sections


def read_conf(name: str) -> list[Section]:
    """Parse ``asterisk-config/<name>``."""
    return parse_conf((ROOT / "asterisk-config" / name).read_text(encoding="utf-8"))


def resolved(sections: list[Section], section: Section) -> dict[str, str]:
    """The options of ``section`` over those of its templates, as Asterisk merges them."""
    by_name = {s.name: s for s in sections if s.is_template}
    merged: dict[str, str] = {}
    for parent in section.parents:
        merged.update(resolved(sections, by_name[parent]))
    merged.update(dict(section.options))
    return merged


def tool(name: str, package: str) -> str | None:
    """Path of a command-line tool (venv first), or None when not installed.

    When the package is one of pyproject's dev dependencies, a missing tool in CI is a failure,
    not a skip: the check must run where it is promised.
    """
    venv_tool = Path(ROOT / ".venv" / "bin" / name)
    path = str(venv_tool) if venv_tool.exists() else shutil.which(name)
    if path is None and os.environ.get("CI") and package in dev_dependencies():
        raise AssertionError(f"{name} missing in CI although {package} is a dev dependency")
    return path


def dev_dependencies() -> set[str]:
    """Names of the packages in pyproject's ``[dev]`` extra."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    deps = data["project"].get("optional-dependencies", {}).get("dev", [])
    return {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() for d in deps}
