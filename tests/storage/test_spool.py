"""The spool's line format: whatever a crash or a bad disk does to the bytes, replay reads only
rows that were written, in order, and never crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.storage.spool import Spool, SpoolPosition, decode_line, encode_line

json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
rows = st.lists(
    st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=5),
    min_size=1,
    max_size=15,
)


def decode_all(data: bytes) -> list[dict[str, object]]:
    out = []
    for line in data.splitlines(keepends=True):
        row = decode_line(line)
        if row is not None:
            out.append(row)
    return out


def is_subsequence(part: list[dict[str, object]], whole: list[dict[str, object]]) -> bool:
    it = iter(whole)
    return all(any(p == w for w in it) for p in part)


@settings(max_examples=50)
@given(rows=rows, cut=st.floats(min_value=0, max_value=1))
def test_a_torn_tail_loses_only_the_torn_line(rows: list[dict[str, object]], cut: float) -> None:
    """Cutting the spool anywhere yields exactly the rows whose lines are complete."""
    lines = [encode_line(r) for r in rows]
    data = b"".join(lines)
    kept = data[: int(len(data) * cut)]
    complete = 0
    size = 0
    for line in lines:
        if size + len(line) > len(kept):
            break
        complete += 1
        size += len(line)
    assert decode_all(kept) == rows[:complete]


@settings(max_examples=50)
@given(rows=rows, where=st.floats(min_value=0, max_value=1), byte=st.integers(0, 255))
def test_a_corrupted_byte_never_invents_a_row(
    rows: list[dict[str, object]], where: float, byte: int
) -> None:
    """A byte changed anywhere loses at most the lines it touches; no other row appears."""
    data = bytearray(b"".join(encode_line(r) for r in rows))
    data[min(len(data) - 1, int(len(data) * where))] = byte
    decoded = decode_all(bytes(data))
    assert is_subsequence(decoded, rows)
    assert len(decoded) >= len(rows) - 2


@settings(max_examples=20, deadline=None)
@given(rows=rows, chunk=st.integers(1, 7))
def test_chunked_reads_return_every_row_in_order(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, object]], chunk: int
) -> None:
    """Reading a segment chunk by chunk, from the returned offsets, yields every row once."""
    directory = tmp_path_factory.mktemp("spool")
    spool = Spool(directory)
    spool.open()
    spool.append(rows[: len(rows) // 2])
    spool.append(rows[len(rows) // 2 :])
    spool.seal()
    (segment,) = spool.segments()
    position = SpoolPosition(segment, 0)
    read: list[dict[str, object]] = []
    while True:
        got, position.offset, at_end = spool.read_chunk(position, chunk)
        read += got
        if at_end:
            break
    spool.close()
    assert read == rows


def test_size_counts_the_bytes_of_every_segment(tmp_path: Path) -> None:
    """size_bytes is what the segments hold on disk: nothing when empty, every append after."""
    spool = Spool(tmp_path / "spool")
    assert spool.size_bytes() == 0
    spool.open()
    spool.append([{"table": "calls", "n": 1}])
    spool.seal()
    spool.append([{"table": "calls", "n": 2}, {"table": "calls", "n": 3}])
    expected = sum(p.stat().st_size for p in spool.segments())
    spool.close()
    assert len(spool.segments()) == 2
    assert spool.size_bytes() == expected > 0
