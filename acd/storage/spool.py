"""The durable local spool: rows the database could not take, kept in order until it can.

Append-only segment files ``spool-<n>.jsonl`` in ``spool_dir``; each line is
``<length> <crc32 hex> <json>\\n`` and every append is fsynced before it counts as written. A line
that is torn (a crash mid-write) or corrupted fails its length or checksum and is skipped with a
log line, never crashing the replay. A new ``Spool`` never appends to a segment it found on disk:
it starts a fresh one after them, so a torn tail stays at the end of its own file.

Replay reads the segments oldest first, ``read_chunk`` by ``read_chunk``; the recorder deletes a
segment (``consume``) only once every row read from it is committed. All methods do blocking file
I/O: the recorder calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import structlog

from acd.storage.errors import StorageError
from acd.storage.rows import Row

log = structlog.get_logger("acd.storage")

SEGMENT_RE = re.compile(r"^spool-(\d{12})\.jsonl$")
# A new segment once the active one reaches this: replay progress is kept per segment.
SEGMENT_MAX_BYTES = 8 * 1024 * 1024


def encode_line(row: Row) -> bytes:
    """One spool line: length and CRC-32 of the JSON payload, then the payload."""
    payload = json.dumps(row, separators=(",", ":"), allow_nan=False).encode()
    return b"%d %08x " % (len(payload), zlib.crc32(payload)) + payload + b"\n"


def decode_line(line: bytes) -> Row | None:
    """The row of one spool line, None when it is torn or corrupted."""
    if not line.endswith(b"\n"):
        return None
    parts = line[:-1].split(b" ", 2)
    if len(parts) != 3:
        return None
    length, crc, payload = parts
    try:
        if int(length) != len(payload) or int(crc, 16) != zlib.crc32(payload):
            return None
        row = json.loads(payload)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


class SpoolInUseError(StorageError):
    """Another recorder holds the spool directory."""


@dataclass(slots=True)
class SpoolPosition:
    """Where replay stands: a segment and a byte offset in it."""

    segment: Path
    offset: int


class Spool:
    """Append-only, fsynced segment files under one directory (one writer: the recorder)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._active: Path | None = None
        self._file: IO[bytes] | None = None
        self._next_index = 0
        self._lock: IO[bytes] | None = None
        self.skipped_lines = 0

    def open(self) -> None:
        """Create the directory and take its lock; new appends go after every existing segment.

        Raises ``SpoolInUseError`` when another recorder (another daemon) holds the directory:
        two writers would interleave their rows.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = open(self.directory / "spool.lock", "a+b")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise SpoolInUseError(
                f"spool directory {self.directory} is used by another acd"
            ) from None
        self._lock = lock
        existing = self.segments()
        self._next_index = (self._index(existing[-1]) + 1) if existing else 0

    def close(self) -> None:
        """Close the active segment (its rows stay for the next replay) and release the lock."""
        self.seal()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def seal(self) -> None:
        """Close the active segment so replay may read it; the next append starts a new one."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._active = None

    @staticmethod
    def _index(path: Path) -> int:
        match = SEGMENT_RE.match(path.name)
        assert match is not None
        return int(match.group(1))

    def segments(self) -> list[Path]:
        """Segment files on disk, oldest first (including the active one)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if SEGMENT_RE.match(p.name))

    def size_bytes(self) -> int:
        """Bytes on disk in the segments (a segment removed meanwhile counts for nothing)."""
        total = 0
        for segment in self.segments():
            with contextlib.suppress(OSError):
                total += segment.stat().st_size
        return total

    def pending(self) -> bool:
        """Whether any row waits in the spool."""
        return any(p.stat().st_size > 0 for p in self.segments())

    def append(self, rows: list[Row]) -> None:
        """Write ``rows`` at the end of the spool and fsync them."""
        if not rows:
            return
        data = b"".join(encode_line(row) for row in rows)
        if self._file is None or (
            self._active is not None and self._file.tell() >= SEGMENT_MAX_BYTES
        ):
            self._rotate()
        assert self._file is not None
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
        self._active = self.directory / f"spool-{self._next_index:012d}.jsonl"
        self._next_index += 1
        self._file = open(self._active, "ab")  # noqa: SIM115 (held open across appends)
        # The new file's directory entry must survive a crash too.
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def read_chunk(self, position: SpoolPosition, max_rows: int) -> tuple[list[Row], int, bool]:
        """Up to ``max_rows`` rows from ``position``: (rows, new offset, reached end of segment).

        Torn or corrupted lines are skipped (and counted); a torn line at the very end of a sealed
        segment is where a crash interrupted a write.
        """
        rows: list[Row] = []
        with open(position.segment, "rb") as f:
            f.seek(position.offset)
            offset = position.offset
            while len(rows) < max_rows:
                line = f.readline()
                if not line:
                    return rows, offset, True
                offset += len(line)
                row = decode_line(line)
                if row is None:
                    self.skipped_lines += 1
                    log.warning(
                        "spool_line_skipped",
                        segment=position.segment.name,
                        offset=offset - len(line),
                        length=len(line),
                    )
                    continue
                rows.append(row)
            at_end = f.read(1) == b""
        return rows, offset, at_end

    def consume(self, segment: Path) -> None:
        """Delete a fully replayed segment."""
        segment.unlink(missing_ok=True)
