"""FastAGI codec against the recorded environments and replies, and res_agi's argument parser."""

from __future__ import annotations

import pytest

from acd.asterisk.agi_codec import (
    AgiReply,
    AgiReplyAssembler,
    AgiScript,
    HangupNotice,
    command_line,
    parse_environment,
    parse_reply_line,
    quoted,
    word,
)
from acd.asterisk.errors import AgiInvalidCommandError, AgiProtocolError
from tests.asterisk.recordings import agi_recordings, load


def res_agi_parse_args(line: str) -> list[str]:
    """A transcription of parse_args() in Asterisk 22 res/res_agi.c, to check our quoting."""
    args: list[str] = []
    current: list[str] | None = None
    quoted_, escaped, whitespace = False, False, True
    for ch in line:
        if ch == '"' and not escaped:
            quoted_ = not quoted_
            if quoted_ and whitespace:
                current = []
                args.append("")
                whitespace = False
            escaped = False
            continue
        if ch in " \t" and not quoted_ and not escaped:
            whitespace = True
            if current is not None:
                args[-1] = "".join(current)
                current = None
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            current = []
            args.append("")
            whitespace = False
        assert current is not None
        current.append(ch)
        args[-1] = "".join(current)
        escaped = False
    return args


@pytest.mark.parametrize("recording", agi_recordings())
def test_every_recorded_environment_parses(recording: str) -> None:
    """Each recorded agi_* block yields channel, uniqueid and the script's path and parameters."""
    for record in load(recording):
        if record.kind != "env":
            continue
        lines = record.raw.split("\n")
        assert lines[-2:] == ["", ""]
        environment = parse_environment(lines[:-2])
        assert environment.channel.startswith("PJSIP/callers-")
        assert environment.uniqueid == environment.get("agi_uniqueid")
        assert environment.get("agi_accountcode") == ""
        script = environment.script
        assert script.path in ("route", "inbound", "transfer")
        if script.path != "route":
            assert dict(script.params) == {"queue": "support"}


@pytest.mark.parametrize("recording", agi_recordings())
def test_every_recorded_reply_parses_into_the_recorded_fields(recording: str) -> None:
    """Each recorded reply (incl. multi-line 520 and HANGUP) gives the recorded code/result/data."""
    assembler = AgiReplyAssembler()
    for record in load(recording):
        if record.kind == "hangup_notice":
            assert assembler.feed_line("HANGUP") == HangupNotice()
        if record.kind != "response":
            continue
        items = [assembler.feed_line(line) for line in record.raw.rstrip("\n").split("\n")]
        reply = items[-1]
        assert all(item is None for item in items[:-1])
        assert isinstance(reply, AgiReply)
        fields = {k: v for k, v in record.headers}
        assert reply.code == int(str(fields["code"]))
        assert reply.result == fields.get("result")
        assert reply.data == fields.get("data")
        assert reply.endpos == (int(str(fields["endpos"])) if "endpos" in fields else None)
        if reply.code == 520:
            assert "STREAM FILE" in reply.text or "stream file" in reply.text.lower()


def test_script_with_several_parameters() -> None:
    """`inbound?queue=support&priority=5` gives path inbound and both parameters."""
    script = AgiScript.parse("inbound?queue=support&priority=5")
    assert script.path == "inbound"
    assert dict(script.params) == {"queue": "support", "priority": "5"}
    assert AgiScript.parse("/route").path == "route"


@pytest.mark.parametrize(
    "script", ["inbound?queue=a&queue=b", "in bound?queue=a", "inbound?queue", "x?q u=1"]
)
def test_invalid_scripts_are_refused(script: str) -> None:
    """Duplicate, malformed or badly named parameters and odd paths are refused at the edge."""
    with pytest.raises(AgiProtocolError):
        AgiScript.parse(script)


def test_environment_without_channel_or_with_garbage_is_refused() -> None:
    """An environment lacking agi_channel, or with a non-agi line, is a protocol error."""
    with pytest.raises(AgiProtocolError):
        parse_environment(["agi_uniqueid: 1.0"])
    with pytest.raises(AgiProtocolError):
        parse_environment(["GET / HTTP/1.1"])


@pytest.mark.parametrize(
    "value",
    ["support", "", "two words", 'say "hi"', "back\\slash", 'mix \\" both', "a,b|c", "Zoé"],
)
def test_quoted_and_word_arguments_survive_res_agi_parse_args(value: str) -> None:
    """Whatever the value, Asterisk's argument parser gives it back unchanged."""
    line = command_line("SET VARIABLE", "X", quoted(value))
    assert res_agi_parse_args(line) == ["SET", "VARIABLE", "X", value]
    line = command_line("EXEC", "Playback", word(value)) if value else "EXEC Playback"
    assert res_agi_parse_args(line)[2:] == ([value] if value else [])


def test_dial_arguments_with_commas_stay_one_bare_word() -> None:
    """`PJSIP/agent1,10,m` is sent bare, as in the S9 recordings."""
    assert word("PJSIP/agent1,10,m") == "PJSIP/agent1,10,m"


@pytest.mark.parametrize("value", ["a\nHANGUP", "a\rb", "a\0b"])
def test_line_breaks_in_arguments_are_refused(value: str) -> None:
    """A newline would end the command and start another: refused before sending."""
    with pytest.raises(AgiInvalidCommandError):
        quoted(value)


def test_unknown_reply_shape_is_a_protocol_error() -> None:
    """A line that is not `NNN ...` is not an AGI reply."""
    with pytest.raises(AgiProtocolError):
        parse_reply_line("hello")
    with pytest.raises(AgiProtocolError):
        parse_reply_line("200 nonsense")


def test_agi_arguments_are_returned_in_order() -> None:
    """`agi_arg_N` lines (AGI(url,a,b,...)) come back ordered by N, not by wire order."""
    environment = parse_environment(
        [
            "agi_network: yes",
            "agi_network_script: inbound?queue=support",
            "agi_channel: PJSIP/callers-00000000",
            "agi_uniqueid: 1795871677.0",
            "agi_arg_2: second",
            "agi_arg_10: tenth",
            "agi_arg_1: first",
        ]
    )
    assert environment.args == ("first", "second", "tenth")
    assert environment.caller_id_num == ""
