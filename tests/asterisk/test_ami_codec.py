"""AMI wire codec against the recorded byte streams."""

from __future__ import annotations

import random

import pytest

from acd.asterisk.ami_codec import (
    MAX_INBOUND_FRAME_BYTES,
    MAX_INBOUND_LINE_BYTES,
    AmiFrame,
    AmiFrameParser,
    Banner,
    ForeignBanner,
    FrameKind,
    OversizedFrame,
    encode_action,
    frame_from_pairs,
)
from acd.asterisk.errors import AmiInvalidActionError
from tests.asterisk.recordings import ami_recordings, load, rx_stream


def _recorded_frame(headers: list[list[str | None]]) -> AmiFrame:
    # The recorder split lines at CRLF only, so a bare-LF line end stays in its value (S11
    # `No Contacts found\n`); the parser treats LF as a line end, which is what Asterisk meant.
    pairs = [[k, v.rstrip("\n") if v is not None else None] for k, v in headers]
    return frame_from_pairs(pairs)


@pytest.mark.parametrize("recording", ami_recordings())
def test_recorded_streams_parse_into_the_recorded_frames_whatever_the_read_sizes(
    recording: str,
) -> None:
    """Every recorded AMI stream, cut at random read boundaries, gives the recorded frames."""
    records = load(recording)
    rng = random.Random(recording)
    for conn in sorted({r.conn for r in records if r.direction == "rx"}):
        expected = [r for r in records if r.conn == conn and r.direction == "rx"]
        data = rx_stream(records, conn)
        parser = AmiFrameParser()
        parsed = []
        position = 0
        while position < len(data):
            size = rng.randint(1, 300)
            parsed += parser.feed(data[position : position + size])
            position += size
        assert len(parsed) == len(expected), conn
        for item, record in zip(parsed, expected, strict=True):
            if record.kind == "banner":
                assert item == Banner(version="11.0.0")
            else:
                assert item == _recorded_frame(record.headers), record.seq


def test_a_first_line_that_is_not_the_greeting_is_a_foreign_banner() -> None:
    """An SSH server's first line is reported as a ForeignBanner (cut), never as a Banner."""
    parser = AmiFrameParser()
    parsed = parser.feed(b"SSH-2.0-OpenSSH_9.6p1 " + b"x" * 500 + b"\r\n")
    assert parsed == [ForeignBanner("SSH-2.0-OpenSSH_9.6p1 " + "x" * 98)]


def test_utf8_character_split_across_reads_arrives_intact() -> None:
    """A 2-byte character cut between two reads is decoded, not dropped (panoramisk defect 1)."""
    data = "Event: Newchannel\r\nCallerIDName: Zoé Dupré\r\n\r\n".encode()
    cut = data.index("é".encode()) + 1
    parser = AmiFrameParser(expect_banner=False)
    assert parser.feed(data[:cut]) == []
    (frame,) = parser.feed(data[cut:])
    assert isinstance(frame, AmiFrame)
    assert frame.get("CallerIDName") == "Zoé Dupré"


def test_lenient_line_endings_and_missing_space_are_accepted() -> None:
    """Bare LF line ends and `Key:Value` without a space parse like Asterisk's own parser."""
    parser = AmiFrameParser(expect_banner=False)
    (frame,) = parser.feed(b"Response: Error\nActionID:a-1\nMessage: No Contacts found\n\r\n\r\n")
    assert isinstance(frame, AmiFrame)
    assert frame.kind is FrameKind.RESPONSE
    assert frame.action_id == "a-1"
    assert frame.get("message") == "No Contacts found"


def test_oversized_line_is_skipped_and_the_next_frame_parses() -> None:
    """A line beyond the inbound bound is dropped up to the next blank line; parsing resumes."""
    parser = AmiFrameParser(expect_banner=False)
    out = parser.feed(b"Event: Huge\r\nData: " + b"x" * (MAX_INBOUND_LINE_BYTES + 10))
    out += parser.feed(b"\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    assert isinstance(out[0], OversizedFrame)
    assert isinstance(out[1], AmiFrame)
    assert out[1].name == "FullyBooted"


def test_frames_before_an_oversized_line_in_the_same_read_come_out_whole() -> None:
    """A complete frame, then a line too long in the same read: the frame is kept, the rest
    of the long line's frame is skipped, and parsing resumes after it."""
    parser = AmiFrameParser(expect_banner=False)
    out = parser.feed(
        b"Event: DialEnd\r\nDialStatus: ANSWER\r\n\r\nEvent: Huge\r\nData: "
        + b"x" * (MAX_INBOUND_LINE_BYTES + 10)
    )
    out += parser.feed(b"\r\nMore: y\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    assert [type(item).__name__ for item in out] == ["AmiFrame", "OversizedFrame", "AmiFrame"]
    assert isinstance(out[0], AmiFrame)
    assert out[0].get("DialStatus") == "ANSWER"
    assert isinstance(out[2], AmiFrame)
    assert out[2].name == "FullyBooted"


def test_oversized_frame_across_many_reads_is_skipped_and_the_next_frame_parses() -> None:
    """A frame that never ends within the bound is dropped without buffering it whole."""
    parser = AmiFrameParser(expect_banner=False)
    line = b"Data: " + b"y" * 1000 + b"\r\n"
    out = parser.feed(b"Event: Endless\r\n")
    for _ in range(MAX_INBOUND_FRAME_BYTES // 1000 + 10):
        out += parser.feed(line)
    assert out == []
    assert len(parser._lines) * len(line) < MAX_INBOUND_FRAME_BYTES
    out += parser.feed(b"\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
    assert isinstance(out[0], OversizedFrame)
    assert out[0].size > MAX_INBOUND_FRAME_BYTES
    assert isinstance(out[1], AmiFrame)
    assert out[1].name == "FullyBooted"


def test_events_nobody_reads_are_dropped_before_becoming_frames() -> None:
    """With `events`, other events vanish; wanted events, responses and list items remain."""
    parser = AmiFrameParser(expect_banner=False, events=frozenset({"dialend"}))
    out = parser.feed(
        b"Event: Newexten\r\nChannel: PJSIP/caller-1\r\n\r\n"
        b"Event: DialEnd\r\nDialStatus: ANSWER\r\n\r\n"
        b"Response: Success\r\nActionID: a-1\r\nEventList: start\r\n\r\n"
        b"Event: EndpointList\r\nActionID: a-1\r\nObjectName: agent1\r\n\r\n"
        b"Event: VarSet\r\nPrivilege: dialplan,all\r\nValue: ActionID: a-1\r\n\r\n"
    )
    assert [item.name for item in out if isinstance(item, AmiFrame)] == [
        "DialEnd",
        "Success",
        "EndpointList",
    ]


def test_event_carrying_a_response_header_is_an_event() -> None:
    """OriginateResponse has a `Response:` header but is an event: the first header decides."""
    frame = frame_from_pairs([["Event", "OriginateResponse"], ["Response", "Failure"]])
    assert frame.kind is FrameKind.EVENT


def test_encode_action_writes_action_then_action_id_then_fields() -> None:
    """Actions are CRLF lines, Action and ActionID first, list values repeated, blank line last."""
    data = encode_action(
        "Originate",
        "acd-1-7",
        {"Channel": "PJSIP/agent1", "Variable": ["ACD_TASK=1", "ACD_SKILL=fr"]},
    )
    assert data == (
        b"Action: Originate\r\nActionID: acd-1-7\r\nChannel: PJSIP/agent1\r\n"
        b"Variable: ACD_TASK=1\r\nVariable: ACD_SKILL=fr\r\n\r\n"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"Channel": "PJSIP/a\r\nAction: Hangup"},
        {"Bad Name": "x"},
        {"Value": "x" * 1100},
        {"ActionID": "mine"},
        {"Variable": [f"V{i}=1" for i in range(130)]},
    ],
)
def test_encode_action_refuses_what_asterisk_would_misread(fields: dict[str, object]) -> None:
    """Header injection, bad names, >1024-byte lines, >128 lines and an ActionID are refused."""
    with pytest.raises(AmiInvalidActionError):
        encode_action("Setvar", "acd-1-1", fields)  # type: ignore[arg-type]
