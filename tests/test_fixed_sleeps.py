"""No test waits a fixed time: every sleep in the tests polls a condition inside a deadline loop."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# A sleep that is not a wait (pacing scripted traffic, a stall under test, the window of a
# negative check) says so on its line or the line above, with the reason after the marker.
MARKER = "# fixed-sleep:"


def _is_sleep(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "sleep"


def _yields_only(call: ast.Call) -> bool:
    """``asyncio.sleep(0)`` hands the loop one turn: not a wait on the clock."""
    return bool(call.args) and isinstance(call.args[0], ast.Constant) and call.args[0].value == 0


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_deadline_loop(loop: ast.While) -> bool:
    """A ``while`` loop that reads the clock or compares with a deadline bounds its own wait."""
    for child in ast.walk(loop):
        if "deadline" in _name(child):
            return True
        if isinstance(child, ast.Call) and _name(child.func) in {
            "monotonic",
            "time",
            "perf_counter",
        }:
            return True
    return False


def fixed_sleeps(source: str) -> list[int]:
    """Line numbers of sleeps that are neither a loop turn, in a deadline loop, nor marked."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    found = []
    for node in ast.walk(tree):
        if not _is_sleep(node) or _yields_only(node):  # type: ignore[arg-type]
            continue
        lineno = node.lineno  # type: ignore[attr-defined]
        if any(
            MARKER in line and line.split(MARKER, 1)[1].strip()
            for line in lines[max(0, lineno - 2) : lineno]
        ):
            continue
        scope = parents.get(node)
        while scope is not None and not isinstance(
            scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            if isinstance(scope, ast.While) and _is_deadline_loop(scope):
                break
            scope = parents.get(scope)
        else:
            found.append(node.lineno)  # type: ignore[attr-defined]
    return sorted(found)


def test_no_fixed_sleep_in_the_tests() -> None:
    """Every sleep in tests/ is a poll inside a deadline loop, a loop turn, or marked with why."""
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line in fixed_sleeps(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], (
        "fixed sleeps (wait on a condition with tests/deadlines.py):\n" + "\n".join(offenders)
    )


def test_the_lint_tells_a_poll_from_a_fixed_sleep() -> None:
    """The checker flags a bare sleep and an unbounded poll, and accepts a deadline loop."""
    source = (
        "import asyncio, time\n"
        "async def bare():\n"
        "    await asyncio.sleep(0.5)\n"
        "async def unbounded(done):\n"
        "    while not done():\n"
        "        await asyncio.sleep(0.1)\n"
        "async def bounded(done):\n"
        "    deadline = time.monotonic() + 5\n"
        "    while not done() and time.monotonic() < deadline:\n"
        "        await asyncio.sleep(0.1)\n"
        "async def turn():\n"
        "    await asyncio.sleep(0)\n"
        "def stall():\n"
        "    time.sleep(1)  # fixed-sleep: the stall under test\n"
        "def unexplained(done):\n"
        "    while not done():\n"
        "        time.sleep(1)\n"
        "    time.sleep(1)  # fixed-sleep:\n"
    )
    assert fixed_sleeps(source) == [3, 6, 17, 18]
