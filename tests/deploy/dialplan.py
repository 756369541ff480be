"""A reader and a tiny interpreter for the subset of extensions.conf that acd ships.

Reads ``asterisk-config/extensions.conf`` and the ``dialplan/`` files it ``#include``s (installed as
``/etc/asterisk/acd-dialplan/``), then runs a channel through the dialplan the way Asterisk would
for the applications we use: variables and functions (``${VAR}``, ``${VAR:o:l}``, ``CUT``,
``DIALPLAN_EXISTS``, ``PJSIP_ENDPOINT``, ``CHANNEL``, ``CALLERID``), ``$[...]`` expressions with
``= != & |``, ``Goto``/``GotoIf``/``ExecIf``, ``include =>`` and extension patterns. Applications
that talk to the outside world (``AGI``, ``Queue``, ``Dial``, ``VoiceMail``, ``Playback``) are
recorded, and their results come from a ``World`` the test describes. Anything outside the subset
raises ``UnsupportedError``: the tests then fail instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "asterisk-config"
DIALPLAN_DIR = ROOT / "dialplan"
INCLUDE_PREFIX = "acd-dialplan/"
MAX_STEPS = 500


class UnsupportedError(Exception):
    """The dialplan uses something this interpreter does not model."""


@dataclass(frozen=True, slots=True)
class Step:
    """One priority of an extension: its number, optional label and application call."""

    priority: int
    label: str | None
    app: str
    args: str
    where: str


@dataclass(slots=True)
class Context:
    """A dialplan context: extensions (name → steps in priority order) and included contexts."""

    name: str
    extensions: dict[str, list[Step]] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Dialplan:
    """The parsed dialplan: ``[globals]`` and every context, with the files they came from."""

    globals: dict[str, str]
    contexts: dict[str, Context]
    files: list[Path]

    def steps(self) -> list[tuple[Context, str, Step]]:
        """Every (context, extension, step) in file order."""
        return [
            (ctx, exten, step)
            for ctx in self.contexts.values()
            for exten, steps in ctx.extensions.items()
            for step in steps
        ]

    def find_extension(self, context: str, exten: str) -> tuple[str, str] | None:
        """The (context, extension key) Asterisk would run for ``exten`` in ``context``."""
        seen: set[str] = set()
        return self._find(context, exten, seen)

    def _find(self, context: str, exten: str, seen: set[str]) -> tuple[str, str] | None:
        if context in seen or context not in self.contexts:
            return None
        seen.add(context)
        ctx = self.contexts[context]
        if exten in ctx.extensions:
            return context, exten
        patterns = [key for key in ctx.extensions if key.startswith("_")]
        # Asterisk prefers the most specific pattern; fewer wildcard characters is close enough.
        for key in sorted(patterns, key=lambda k: -len(k.rstrip(".!"))):
            if pattern_regex(key).fullmatch(exten):
                return context, key
        for included in ctx.includes:
            found = self._find(included, exten, seen)
            if found:
                return found
        return None


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """An extension pattern (``_X.``, ``_8[0-3]XX``) as a regular expression."""
    out = ""
    body = pattern[1:]
    i = 0
    while i < len(body):
        c = body[i]
        if c == "X":
            out += "[0-9]"
        elif c == "Z":
            out += "[1-9]"
        elif c == "N":
            out += "[2-9]"
        elif c == ".":
            out += ".+"
        elif c == "!":
            out += ".*"
        elif c == "[":
            end = body.index("]", i)
            out += "[" + body[i + 1 : end] + "]"
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out)


def _strip_comment(line: str) -> str:
    out = []
    escaped = False
    for c in line:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\":
            out.append(c)
            escaped = True
        elif c == ";":
            break
        else:
            out.append(c)
    return "".join(out).strip()


_EXTEN = re.compile(r"(exten|same)\s*=>\s*(.*)")
_PRIORITY = re.compile(r"(\d+|n)(?:\(([A-Za-z0-9_-]+)\))?$")
_APP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$", re.DOTALL)


def _resolve_include(path: str) -> Path:
    if path.startswith(INCLUDE_PREFIX):
        return DIALPLAN_DIR / path[len(INCLUDE_PREFIX) :]
    return CONFIG_DIR / path


def load_dialplan(entry: Path = CONFIG_DIR / "extensions.conf") -> Dialplan:
    """Parse ``extensions.conf`` and its ``#include``s into a ``Dialplan``."""
    plan = Dialplan(globals={}, contexts={}, files=[])
    state: dict[str, object] = {"context": None, "exten": None, "priority": 0}
    _parse_file(entry, plan, state)
    return plan


def _parse_file(path: Path, plan: Dialplan, state: dict[str, object]) -> None:
    plan.files.append(path)
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{number}"
        if raw.startswith("#include"):
            _parse_file(_resolve_include(raw.split(None, 1)[1].strip().strip('"')), plan, state)
            continue
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("["):
            name = line[1 : line.index("]")]
            state.update(context=name, exten=None, priority=0)
            if name not in ("general", "globals"):
                if name in plan.contexts:
                    raise UnsupportedError(f"{where}: context [{name}] defined twice")
                plan.contexts[name] = Context(name)
            continue
        context = state["context"]
        if context in ("general", "globals"):
            key, _, value = line.partition("=")
            if context == "globals":
                plan.globals[key.strip()] = value.strip()
            continue
        if not isinstance(context, str):
            raise UnsupportedError(f"{where}: line outside a context")
        ctx = plan.contexts[context]
        if line.startswith("include"):
            ctx.includes.append(line.split("=>", 1)[1].strip())
            continue
        match = _EXTEN.match(line)
        if not match:
            raise UnsupportedError(f"{where}: not an exten/same/include line: {line}")
        kind, rest = match.groups()
        if kind == "exten":
            exten, rest = (part.strip() for part in rest.split(",", 1))
            state.update(exten=exten, priority=0)
        exten = state["exten"]
        if not isinstance(exten, str):
            raise UnsupportedError(f"{where}: `same` before any `exten`")
        prio_text, app_text = (part.strip() for part in rest.split(",", 1))
        prio_match = _PRIORITY.match(prio_text)
        if not prio_match:
            raise UnsupportedError(f"{where}: priority {prio_text!r}")
        number_text, label = prio_match.groups()
        previous = state["priority"]
        assert isinstance(previous, int)
        priority = previous + 1 if number_text == "n" else int(number_text)
        if priority != previous + 1:
            raise UnsupportedError(f"{where}: priorities must follow each other")
        state["priority"] = priority
        app_match = _APP.match(app_text)
        if not app_match:
            raise UnsupportedError(f"{where}: application call {app_text!r}")
        app, args = app_match.groups()
        ctx.extensions.setdefault(exten, []).append(Step(priority, label, app, args or "", where))


def split_args(text: str, sep: str = ",") -> list[str]:
    """Split application arguments at ``sep`` outside ``()``, ``[]``, ``{}`` and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current = ""
    for c in text:
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "([{":
            depth += 1
        elif not quoted and c in ")]}":
            depth -= 1
        if c == sep and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    return parts


def split_condition(text: str) -> tuple[str, str, str]:
    """``cond?then[:else]`` of GotoIf/ExecIf, the ``?`` and ``:`` taken outside brackets."""
    cond, *rest = split_args(text, "?")
    if len(rest) != 1:
        raise UnsupportedError(f"condition without exactly one '?': {text}")
    branches = split_args(rest[0], ":")
    if len(branches) > 2:
        raise UnsupportedError(f"condition with more than one ':': {text}")
    return cond, branches[0], branches[1] if len(branches) == 2 else ""


@dataclass(frozen=True, slots=True)
class Target:
    """A Goto target; parts may still hold ``${...}`` until expanded."""

    context: str
    exten: str
    priority: str


def parse_target(text: str, context: str, exten: str) -> Target:
    """``[[context,]exten,]priority|label`` relative to the current place."""
    parts = [p.strip() for p in split_args(text)]
    if len(parts) == 1:
        return Target(context, exten, parts[0])
    if len(parts) == 2:
        return Target(context, parts[0], parts[1])
    if len(parts) == 3:
        return Target(parts[0], parts[1], parts[2])
    raise UnsupportedError(f"goto target {text!r}")


@dataclass(slots=True)
class World:
    """What the outside world answers while a channel runs the dialplan.

    ``agi`` is called with the expanded URL and the channel variables and changes them the way
    the daemon (or its absence) would; the other fields are the results of blocking applications.
    """

    agi: Callable[[str, dict[str, str]], None] = lambda url, variables: None
    queue_status: str = "TIMEOUT"
    vm_status: str = "SUCCESS"
    dial_status: str = "NOANSWER"
    endpoints: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class Run:
    """What happened to one channel: the applications it met, in order, and how it ended."""

    events: list[tuple[str, str]] = field(default_factory=list)
    ended: str = ""
    variables: dict[str, str] = field(default_factory=dict)

    def apps(self, name: str) -> list[str]:
        """The expanded arguments of every call to application ``name``."""
        return [args for app, args in self.events if app == name]

    def names(self) -> list[str]:
        """The applications met, in order."""
        return [app for app, _ in self.events]


class Channel:
    """One channel running through a ``Dialplan``."""

    def __init__(
        self,
        plan: Dialplan,
        world: World,
        variables: Mapping[str, str] | None = None,
        endpoint: str = "",
    ) -> None:
        self.plan = plan
        self.world = world
        self.variables: dict[str, str] = dict(plan.globals)
        self.variables.update(variables or {})
        self.endpoint = endpoint
        self.run = Run(variables=self.variables)

    # ---------- expansion ----------

    def expand(self, text: str) -> str:
        """Substitute ``${...}`` and evaluate ``$[...]`` the way pbx_substitute_variables does."""
        out = ""
        i = 0
        while i < len(text):
            if text.startswith("${", i) or text.startswith("$[", i):
                opening, closing = ("{", "}") if text[i + 1] == "{" else ("[", "]")
                end = _matching(text, i + 1, opening, closing)
                inner = self.expand(text[i + 2 : end])
                out += self._variable(inner) if opening == "{" else self._expression(inner)
                i = end + 1
            else:
                out += text[i]
                i += 1
        return out

    def _variable(self, inner: str) -> str:
        func = re.fullmatch(r"([A-Z_]+)\((.*)\)", inner, re.DOTALL)
        if func:
            return self._function(func.group(1), split_args(func.group(2)))
        name, *slice_ = inner.split(":")
        value = self.variables.get(name, "")
        if slice_:
            offset = int(slice_[0])
            length = int(slice_[1]) if len(slice_) > 1 else None
            value = value[offset:] if length is None else value[offset : offset + length]
        return value

    def _function(self, name: str, args: list[str]) -> str:
        if name == "CUT":
            variable, delimiter, field_number = args
            pieces = self.variables.get(variable, "").split(delimiter or "-")
            index = int(field_number) - 1
            return pieces[index] if index < len(pieces) else ""
        if name == "DIALPLAN_EXISTS":
            context, *rest = args
            if not rest:
                return "1" if context in self.plan.contexts else "0"
            found = self.plan.find_extension(context, rest[0])
            if found is None or found[0] != context:
                return "0"
            if len(rest) > 1:
                steps = self.plan.contexts[context].extensions[found[1]]
                return "1" if any(str(s.priority) == rest[1] for s in steps) else "0"
            return "1"
        if name == "PJSIP_ENDPOINT":
            endpoint, option = args
            return self.world.endpoints.get(endpoint, {}).get(option, "")
        if name == "CHANNEL":
            if args == ["endpoint"]:
                return self.endpoint
            return self.variables.get(f"CHANNEL({args[0]})", "")
        if name == "CALLERID":
            return self.variables.get(f"CALLERID({args[0]})", "")
        raise UnsupportedError(f"function {name}")

    def _expression(self, text: str) -> str:
        tokens: list[str] = re.findall(r'"[^"]*"|!=|[=&|()]|[^\s"=&|()!]+', text)
        position = 0

        def peek() -> str | None:
            return tokens[position] if position < len(tokens) else None

        def take() -> str:
            nonlocal position
            position += 1
            return tokens[position - 1]

        def atom() -> str:
            token = take()
            if token == "(":
                value = disjunction()
                take()
                return value
            return token[1:-1] if token.startswith('"') else token

        def comparison() -> str:
            left = atom()
            if peek() in ("=", "!="):
                op = take()
                right = atom()
                return "1" if (left == right) == (op == "=") else "0"
            return left

        def truthy(value: str) -> bool:
            return value not in ("", "0")

        def conjunction() -> str:
            value = comparison()
            while peek() == "&":
                take()
                right = comparison()
                value = "1" if truthy(value) and truthy(right) else "0"
            return value

        def disjunction() -> str:
            value = conjunction()
            while peek() == "|":
                take()
                right = conjunction()
                value = "1" if truthy(value) or truthy(right) else "0"
            return value

        result = disjunction()
        if position != len(tokens):
            raise UnsupportedError(f"expression {text!r}")
        return result

    # ---------- execution ----------

    def start(self, context: str, exten: str, max_steps: int = MAX_STEPS) -> Run:
        """Run from ``exten`` in ``context`` (priority 1) until the channel ends."""
        found = self.plan.find_extension(context, exten)
        if found is None:
            self.run.ended = f"no extension {exten}@{context}"
            return self.run
        context, key = found
        self.variables["EXTEN"] = exten
        index = 0
        for _ in range(max_steps):
            steps = self.plan.contexts[context].extensions[key]
            if index >= len(steps):
                self.run.ended = f"fell off {key}@{context}"
                return self.run
            step = steps[index]
            jump = self._execute(step, context, key)
            if self.run.ended:
                return self.run
            if jump is None:
                index += 1
                continue
            context, key, index = self._locate(jump, step)
        raise UnsupportedError(f"more than {max_steps} steps: a loop?")

    def _locate(self, target: Target, step: Step) -> tuple[str, str, int]:
        context = self.expand(target.context)
        exten = self.expand(target.exten)
        priority = self.expand(target.priority)
        found = self.plan.find_extension(context, exten)
        if found is None:
            raise UnsupportedError(f"{step.where}: goto to missing {exten}@{context}")
        context, key = found
        self.variables["EXTEN"] = exten
        steps = self.plan.contexts[context].extensions[key]
        for i, candidate in enumerate(steps):
            if str(candidate.priority) == priority or candidate.label == priority:
                return context, key, i
        raise UnsupportedError(
            f"{step.where}: goto to missing priority {priority} of {key}@{context}"
        )

    def _execute(self, step: Step, context: str, exten: str) -> Target | None:
        app = step.app
        if app in ("NoOp", "Verbose", "Log", "Answer"):
            if app == "Answer":
                self.run.events.append(("Answer", ""))
            return None
        if app == "Set":
            name, _, value = step.args.partition("=")
            self.variables[self.expand(name)] = self.expand(value)
            return None
        if app == "ExecIf":
            condition, then, otherwise = split_condition(step.args)
            chosen = then if self._true(condition) else otherwise
            if chosen:
                inner = _APP.match(chosen.strip())
                if not inner or inner.group(1) != "Set":
                    raise UnsupportedError(f"{step.where}: ExecIf of {chosen}")
                name, _, value = (inner.group(2) or "").partition("=")
                self.variables[self.expand(name)] = self.expand(value)
            return None
        if app == "Goto":
            return parse_target(step.args, context, exten)
        if app == "GotoIf":
            condition, then, otherwise = split_condition(step.args)
            chosen = then if self._true(condition) else otherwise
            return parse_target(chosen, context, exten) if chosen else None
        if app == "Hangup":
            self.run.events.append(("Hangup", ""))
            self.run.ended = "hangup"
            return None
        args = self.expand(step.args)
        self.run.events.append((app, args))
        if app == "AGI":
            self.world.agi(args, self.variables)
        elif app == "Queue":
            self.variables["QUEUESTATUS"] = self.world.queue_status
        elif app == "VoiceMail":
            self.variables["VMSTATUS"] = self.world.vm_status
        elif app == "Dial":
            self.variables["DIALSTATUS"] = self.world.dial_status
        elif app != "Playback":
            raise UnsupportedError(f"{step.where}: application {app}")
        return None

    def _true(self, condition: str) -> bool:
        return self.expand(condition).strip() not in ("", "0")


def _matching(text: str, start: int, opening: str, closing: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return i
    raise UnsupportedError(f"unbalanced {opening} in {text!r}")
