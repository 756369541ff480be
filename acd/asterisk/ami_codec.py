"""AMI wire codec: bytes from Asterisk -> frames, actions -> bytes. Pure, no I/O.

Everything that knows how AMI frames are delimited on the wire lives in this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from acd.asterisk.errors import AmiInvalidActionError

BANNER_PREFIX = "Asterisk Call Manager/"

# Asterisk's manager.c rejects a header line longer than 1024 bytes ("Failed to parse message:
# line too long") and more than 128 lines in one action ("Too many lines in message").
MAX_ACTION_LINE_BYTES = 1024
MAX_ACTION_LINES = 128

# Inbound bounds: far above anything Asterisk 22 sends (ListCommands is ~30 KiB in one frame),
# low enough that a runaway peer cannot make us buffer without limit.
MAX_INBOUND_LINE_BYTES = 64 * 1024
MAX_INBOUND_FRAME_BYTES = 4 * 1024 * 1024

_HEADER_NAME = re.compile(r"^[A-Za-z0-9_\-()]+$")


class FrameKind(Enum):
    """What an AMI frame is, decided by its first header (Asterisk always writes it first)."""

    RESPONSE = "response"
    EVENT = "event"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AmiFrame:
    """One AMI message: header pairs in wire order, duplicates kept.

    `bare_lines` are lines without a colon (Asterisk 22 sends none; legacy `Response: Follows`
    command output did).
    """

    headers: tuple[tuple[str, str], ...]
    bare_lines: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> FrameKind:
        if not self.headers:
            return FrameKind.OTHER
        first = self.headers[0][0].lower()
        if first == "response":
            return FrameKind.RESPONSE
        if first == "event":
            return FrameKind.EVENT
        return FrameKind.OTHER

    def get(self, name: str) -> str | None:
        """First value of header `name` (case-insensitive: Asterisk mixes `CallerIDnum` styles)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def get_all(self, name: str) -> tuple[str, ...]:
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)

    @property
    def name(self) -> str:
        """The Event or Response value ('' for a frame that is neither)."""
        return self.headers[0][1] if self.kind is not FrameKind.OTHER else ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")


@dataclass(frozen=True, slots=True)
class Banner:
    """The one-line greeting `Asterisk Call Manager/11.0.0` sent on connect."""

    version: str


@dataclass(frozen=True, slots=True)
class ForeignBanner:
    """A first line that is not Asterisk's greeting: whatever listens there is not AMI (an SSH
    or HTTP server, a wrong port). Cut to ``FOREIGN_BANNER_CHARS``."""

    line: str


FOREIGN_BANNER_CHARS = 120


@dataclass(frozen=True, slots=True)
class OversizedFrame:
    """A frame or line beyond the inbound bounds; skipped up to the next blank line."""

    size: int


Parsed = AmiFrame | Banner | ForeignBanner | OversizedFrame


class AmiFrameParser:
    """Incremental AMI parser: feed() raw bytes as they arrive, get complete frames back.

    Decodes only up to the last line end buffered, so a multi-byte UTF-8 character split across
    two TCP reads is decoded intact (0x0A never occurs inside a UTF-8 sequence). Lines may end in
    CRLF or bare LF (Asterisk sends `No Contacts found\\n\\r\\n\\r\\n`); a blank line ends a
    frame; blank lines between frames are ignored.

    Decoding and line splitting happen once per read, not once per line. `events`, when given,
    names the events (lower case) worth building: any other event is dropped before its headers
    are split, unless it carries an ActionID (an item of a list acd asked for). Most of what
    Asterisk sends, acd never reads. Bounds are counted in characters (bytes, for the ASCII
    Asterisk writes).
    """

    def __init__(self, *, expect_banner: bool = True, events: frozenset[str] | None = None) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self._events = events
        self._lines: list[str] = []  # the frame in progress
        self._skipping = False
        self._skipped = 0
        self._mid_line = False  # the buffer held part of a line too long, now dropped

    def feed(self, data: bytes) -> list[Parsed]:
        buffer = self._buffer
        buffer += data
        out: list[Parsed] = []
        cut = buffer.rfind(b"\n")
        if cut < 0:
            self._bound_unterminated_line()
            return out
        text = buffer[:cut].decode("utf-8", errors="replace")
        # Consumed bytes are dropped once per read, not once per line.
        del buffer[: cut + 1]
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        lines = text.split("\n")
        if self._mid_line:
            # The end of a line too long to keep: it ends that line, not the frame.
            self._mid_line = False
            self._skipped += len(lines[0]) + 1
            del lines[0]
        if self._expect_banner:
            self._expect_banner = False
            if lines[0].startswith(BANNER_PREFIX):
                out.append(Banner(version=lines[0][len(BANNER_PREFIX) :].strip()))
            else:
                out.append(ForeignBanner(lines[0][:FOREIGN_BANNER_CHARS]))
            del lines[0]
        frame = self._lines
        for line in lines:
            if line:
                frame.append(line)
            elif frame or self._skipping:
                self._end_frame(frame, out)
                frame = self._lines = []
        if frame:
            size = sum(map(len, frame)) + len(frame)
            if self._skipping or size > MAX_INBOUND_FRAME_BYTES:
                # Only counted from now on: a frame being skipped is never held in memory.
                self._lines = []
                self._skipping = True
                self._skipped += size
        # Last: the frames completed in this read come out whole, whatever follows them.
        self._bound_unterminated_line()
        return out

    def _bound_unterminated_line(self) -> None:
        if len(self._buffer) > MAX_INBOUND_LINE_BYTES:
            self._skip(len(self._buffer))
            self._buffer.clear()
            self._mid_line = True

    def _skip(self, size: int) -> None:
        self._skipping = True
        self._skipped += size + sum(map(len, self._lines))
        self._lines = []

    def _end_frame(self, frame: list[str], out: list[Parsed]) -> None:
        size = sum(map(len, frame)) + len(frame)
        if self._skipping:
            out.append(OversizedFrame(size=self._skipped + size))
            self._skipping = False
            self._skipped = 0
            return
        if size > MAX_INBOUND_FRAME_BYTES or (
            size > MAX_INBOUND_LINE_BYTES and max(map(len, frame)) > MAX_INBOUND_LINE_BYTES
        ):
            out.append(OversizedFrame(size=size))
            return
        events = self._events
        first = frame[0]
        if (
            events is not None
            and first.startswith("Event: ")
            and first[7:].lower() not in events
            and "\nactionid:" not in "\n".join(frame).lower()
        ):
            return
        out.append(_build_frame(frame))


def _build_frame(lines: Iterable[str]) -> AmiFrame:
    headers: list[tuple[str, str]] = []
    bare: list[str] = []
    # Asterisk writes "Key: Value"; tolerate "Key:Value" like Asterisk's own parser does.
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            bare.append(line)
            continue
        if value[:1] == " ":
            value = value[1:]
        headers.append((key.strip(), value))
    return AmiFrame(headers=tuple(headers), bare_lines=tuple(bare))


def frame_from_pairs(pairs: Iterable[Sequence[str | None]]) -> AmiFrame:
    """Build a frame from recorded `[key, value]` pairs (a `null` value marks a bare line)."""
    headers: list[tuple[str, str]] = []
    bare: list[str] = []
    for key, value in pairs:
        if key is None:
            continue
        if value is None:
            bare.append(key)
        else:
            headers.append((key, value))
    return AmiFrame(headers=tuple(headers), bare_lines=tuple(bare))


FieldValue = str | Sequence[str]


def encode_action(action: str, action_id: str, fields: Mapping[str, FieldValue]) -> bytes:
    """Serialize one action; a list value repeats the header (`Variable: a=1`, `Variable: b=2`).

    Refuses anything Asterisk would misread: CR/LF inside a value would inject headers, a line
    over 1024 bytes is answered `line too long` without running the action, and more than 128
    lines is `Too many lines`.
    """
    lines = [f"Action: {action}", f"ActionID: {action_id}"]
    for name, value in fields.items():
        if name.lower() in ("action", "actionid"):
            raise AmiInvalidActionError(f"{name} is set by the client, not by the caller")
        values = [value] if isinstance(value, str) else list(value)
        lines.extend(f"{name}: {item}" for item in values)
    for line in lines:
        name, _, value = line.partition(": ")
        if not _HEADER_NAME.match(name):
            raise AmiInvalidActionError(f"invalid header name {name!r} in action {action}")
        if any(ch in value for ch in "\r\n\0"):
            raise AmiInvalidActionError(f"header {name} of action {action} contains CR, LF or NUL")
        if len(line.encode("utf-8")) + 2 > MAX_ACTION_LINE_BYTES:
            raise AmiInvalidActionError(f"header {name} of action {action} exceeds 1024 bytes")
    if len(lines) > MAX_ACTION_LINES:
        raise AmiInvalidActionError(f"action {action} has {len(lines)} lines, Asterisk accepts 128")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
