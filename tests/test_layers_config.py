"""The import contracts hold without exceptions: no ``ignore_imports`` anywhere, and the admin
adapter reads the settings only through its port (``acd/admin/settings_port.py``)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_contract_has_exceptions() -> None:
    """Every import-linter contract is kept as written: none lists ignored imports."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert contracts
    excepted = [c["name"] for c in contracts if c.get("ignore_imports")]
    assert excepted == []


def test_the_admin_adapter_never_imports_the_settings_module() -> None:
    """No module of acd/admin imports acd.settings (the daemon hands it a SettingsHolder)."""
    offenders = []
    for path in sorted((ROOT / "acd" / "admin").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "acd.settings":
                offenders.append(path.name)
            if isinstance(node, ast.Import) and any(a.name == "acd.settings" for a in node.names):
                offenders.append(path.name)
    assert offenders == []
