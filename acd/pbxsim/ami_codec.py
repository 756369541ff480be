"""AMI wire format, as Asterisk 22's manager.c frames it (read from the S5/S6 recordings).

Everything that turns bytes into AMI messages and back lives in this file; no sockets here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Asterisk reads a header line into a 1025-byte buffer and keeps at most 128 headers per message.
MAX_LINE_BYTES = 1024
MAX_HEADERS = 128

LINE_TOO_LONG = "Failed to parse message: line too long"
TOO_MANY_LINES = "Too many lines in message or allocation failure"


@dataclass(frozen=True)
class Message:
    """One AMI message: headers in wire order, duplicates kept, keys matched case-insensitively."""

    headers: tuple[tuple[str, str], ...]
    framing_error: str | None = None

    def get(self, key: str, default: str | None = None) -> str | None:
        wanted = key.lower()
        for name, value in self.headers:
            if name.lower() == wanted:
                return value
        return default

    def get_all(self, key: str) -> list[str]:
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]

    @property
    def action(self) -> str | None:
        return self.get("Action")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


@dataclass
class AmiDecoder:
    """Incremental decoder: feed bytes, get complete messages (a framing error is a message too)."""

    _buffer: bytearray = field(default_factory=bytearray)
    _headers: list[tuple[str, str]] = field(default_factory=list)
    _error: str | None = None
    _line_count: int = 0
    _discarding_long_line: bool = False

    def feed(self, data: bytes) -> list[Message]:
        self._buffer.extend(data)
        out: list[Message] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                if len(self._buffer) > MAX_LINE_BYTES:
                    # manager.c discards the over-long line and fails the whole message at its end.
                    self._error = self._error or LINE_TOO_LONG
                    self._discarding_long_line = True
                    self._buffer.clear()
                return out
            raw = bytes(self._buffer[:newline])
            del self._buffer[: newline + 1]
            if self._discarding_long_line:
                self._discarding_long_line = False
                continue
            line = raw.rstrip(b"\r")
            if len(line) > MAX_LINE_BYTES:
                self._error = self._error or LINE_TOO_LONG
                continue
            if not line:
                out.append(self._finish())
                continue
            self._line_count += 1
            if self._line_count > MAX_HEADERS:
                self._error = TOO_MANY_LINES
                continue
            text = line.decode("utf-8", errors="replace")
            self._headers.append(split_header(text))

    def _finish(self) -> Message:
        headers = tuple(self._headers)
        error = self._error
        self._headers = []
        self._error = None
        self._line_count = 0
        if error == TOO_MANY_LINES:
            # Asterisk answers this one from a fresh message: the ActionID is not echoed.
            headers = ()
        return Message(headers=headers, framing_error=error)


def split_header(line: str) -> tuple[str, str]:
    """Split at the first colon; Asterisk skips the spaces after it (``Action:Ping`` is valid)."""
    key, sep, value = line.partition(":")
    if not sep:
        return line, ""
    return key.strip(), value.lstrip(" ")


def encode(headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> bytes:
    """Serialise one message the way Asterisk writes it: CRLF lines and a blank line."""
    parts = [f"{key}: {value}\r\n" for key, value in headers]
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")


BANNER = b"Asterisk Call Manager/11.0.0\r\n"
