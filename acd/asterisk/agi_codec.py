"""FastAGI wire codec: the `agi_*` environment, reply lines, command lines. Pure, no I/O.

Everything that knows the shape of AGI text lives in this file; `fastagi.py` only moves lines.
Facts come from res/res_agi.c (Asterisk 22) and the S4/S9/S11/S12 recordings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import parse_qsl

from acd.asterisk.errors import AgiInvalidCommandError, AgiProtocolError

# res_agi reads a command with fgets() into an 8192-byte buffer (AGI_BUF_LEN); a longer line would
# be split into two commands.
MAX_COMMAND_BYTES = 8190

_ENV_LINE = re.compile(r"^(agi_[a-z0-9_]+): ?(.*)$")
_REPLY_200 = re.compile(r"^200 result=(\S*)(?: \((.*)\))?(?: endpos=(-?\d+))?$")
_SCRIPT_PATH = re.compile(r"^[A-Za-z0-9_\-./]*$")
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_\-.]+$")
_PLAIN_WORD = re.compile(r'^[^\s"\\]+$')
_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_()\-.,:/]+$")
_APP_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_ESCAPE_DIGITS = re.compile(r"^[0-9*#A-D]*$")


@dataclass(frozen=True, slots=True)
class AgiScript:
    """`agi_network_script` split into a path and validated query parameters.

    `agi://host:4573/inbound?queue=support&priority=5` arrives as `inbound?queue=support&...`
    (Asterisk passes the query string verbatim, with no `agi_arg_N` for it).
    """

    path: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(cls, script: str) -> AgiScript:
        path, _, query = script.partition("?")
        path = path.strip("/")
        if not _SCRIPT_PATH.match(path):
            raise AgiProtocolError(f"invalid FastAGI script path {path!r}")
        params: dict[str, str] = {}
        if query:
            try:
                pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
            except ValueError:
                raise AgiProtocolError(f"invalid FastAGI query string {query!r}") from None
            for name, value in pairs:
                if not _PARAM_NAME.match(name):
                    raise AgiProtocolError(f"invalid FastAGI parameter name {name!r}")
                if name in params:
                    raise AgiProtocolError(f"FastAGI parameter {name!r} given twice")
                params[name] = value
        return cls(path=path, params=MappingProxyType(params))


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The `agi_*` block Asterisk sends first on a FastAGI connection, in wire order."""

    variables: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        for key, value in self.variables:
            if key == name:
                return value
        return None

    def _required(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise AgiProtocolError(f"FastAGI environment lacks {name}")
        return value

    @property
    def channel(self) -> str:
        return self._required("agi_channel")

    @property
    def uniqueid(self) -> str:
        return self._required("agi_uniqueid")

    @property
    def caller_id_num(self) -> str:
        return self.get("agi_callerid") or ""

    @property
    def caller_id_name(self) -> str:
        return self.get("agi_calleridname") or ""

    @property
    def context(self) -> str:
        return self.get("agi_context") or ""

    @property
    def extension(self) -> str:
        return self.get("agi_extension") or ""

    @property
    def script(self) -> AgiScript:
        return AgiScript.parse(self.get("agi_network_script") or "")

    @property
    def args(self) -> tuple[str, ...]:
        """`agi_arg_1..N`: the arguments after the URL in `AGI(agi://...,a,b)`."""
        found: list[tuple[int, str]] = []
        for key, value in self.variables:
            if key.startswith("agi_arg_") and key[8:].isdigit():
                found.append((int(key[8:]), value))
        return tuple(value for _, value in sorted(found))


def parse_environment(lines: list[str]) -> AgiEnvironment:
    """Validate the environment lines (without the terminating blank line)."""
    variables: list[tuple[str, str]] = []
    for line in lines:
        match = _ENV_LINE.match(line)
        if match is None:
            raise AgiProtocolError(f"not an agi_* environment line: {line[:80]!r}")
        variables.append((match.group(1), match.group(2)))
    environment = AgiEnvironment(variables=tuple(variables))
    environment.channel  # noqa: B018 -- validates presence; raises AgiProtocolError
    environment.uniqueid  # noqa: B018 -- same
    environment.script  # noqa: B018 -- same: an invalid script is refused at the edge
    return environment


@dataclass(frozen=True, slots=True)
class AgiReply:
    """One reply: `200 result=N [(data)] [endpos=N]`, `510 ...`, `511 ...` or `520` (+ usage)."""

    code: int
    result: str | None = None
    data: str | None = None
    endpos: int | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def dead_channel(self) -> bool:
        """511: the command is not allowed once the caller has hung up."""
        return self.code == 511

    @property
    def result_int(self) -> int | None:
        if self.result is None:
            return None
        try:
            return int(self.result)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """The asynchronous `HANGUP` line Asterisk writes when the channel hangs up."""


def parse_reply_line(line: str) -> AgiReply:
    """Parse a single-line reply (not the multi-line 520 form)."""
    if line.startswith("200 "):
        match = _REPLY_200.match(line)
        if match is None:
            raise AgiProtocolError(f"malformed 200 reply: {line[:120]!r}")
        result, data, endpos = match.groups()
        return AgiReply(
            code=200,
            result=result,
            data=data,
            endpos=int(endpos) if endpos is not None else None,
            text=line,
        )
    code, _, text = line.partition(" ")
    if len(code) == 3 and code.isdigit():
        return AgiReply(code=int(code), text=text)
    raise AgiProtocolError(f"not an AGI reply: {line[:120]!r}")


class AgiReplyAssembler:
    """Line-level state machine: lines in, replies and HANGUP notices out.

    `520-Invalid command syntax.  Proper usage follows:` opens a usage block that ends with the line
    `520 End of proper usage.`; the block is one reply (text = the usage).
    """

    def __init__(self) -> None:
        self._usage: list[str] | None = None

    def feed_line(self, line: str) -> AgiReply | HangupNotice | None:
        if self._usage is not None:
            if line.startswith("520 "):
                usage = "\n".join(self._usage)
                self._usage = None
                return AgiReply(code=520, text=usage)
            self._usage.append(line)
            return None
        if line == "HANGUP":
            return HangupNotice()
        if line.startswith("520-"):
            self._usage = []
            return None
        return parse_reply_line(line)


def quoted(value: str) -> str:
    """An always-quoted argument, as res_agi's parse_args() reads it (`\\` escapes `"`, `\\`)."""
    _refuse_line_breaks(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def word(value: str) -> str:
    """A bare word when it holds no space, quote or backslash (and is not empty), else quoted."""
    _refuse_line_breaks(value)
    return value if _PLAIN_WORD.match(value) else quoted(value)


def _refuse_line_breaks(value: str) -> None:
    if "\n" in value or "\r" in value or "\0" in value:
        raise AgiInvalidCommandError("AGI arguments cannot contain CR, LF or NUL")


def command_line(*parts: str) -> str:
    """Join already-formatted parts into one command line (without the newline)."""
    line = " ".join(parts)
    _refuse_line_breaks(line)
    if len(line.encode("utf-8")) > MAX_COMMAND_BYTES:
        raise AgiInvalidCommandError(f"AGI command longer than {MAX_COMMAND_BYTES} bytes")
    return line


def variable_name(name: str) -> str:
    if not _VARIABLE_NAME.match(name):
        raise AgiInvalidCommandError(f"invalid channel variable name {name!r}")
    return name


def application_name(name: str) -> str:
    if not _APP_NAME.match(name):
        raise AgiInvalidCommandError(f"invalid application name {name!r}")
    return name


def escape_digits(digits: str) -> str:
    if not _ESCAPE_DIGITS.match(digits):
        raise AgiInvalidCommandError(f"invalid escape digits {digits!r}")
    return digits
