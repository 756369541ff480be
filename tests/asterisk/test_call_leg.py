"""The pure call leg against recorded Asterisk 22.10.1 dialogs (S4, S9, S12), without sockets.

A ``Replay`` answers each AGI line the leg sends with the reply Asterisk recorded for the same
command on that channel (in order), feeds the recorded ``HANGUP`` where Asterisk wrote it, and the
channel's AMI records (DialEnd, BlindTransfer, AttendedTransfer, translated by ``ami_translate``)
that arrived before that reply. The engine's commands are the test's script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from acd.asterisk.agi_codec import AgiReply, AgiReplyAssembler, HangupNotice, parse_environment
from acd.asterisk.ami_codec import frame_from_pairs
from acd.asterisk.ami_events import translate_event
from acd.asterisk.ami_translate import ForLeg, translate
from acd.asterisk.call_leg import (
    TRANSITIONS,
    AgiReplied,
    CallerLanguage,
    CallLeg,
    ChannelHungUp,
    CloseSession,
    InterruptAgi,
    KeyHeard,
    LegInput,
    LegMisuseError,
    LegOutput,
    LegPhase,
    LegSpec,
    PostEvent,
    QueueAudio,
    SendAgi,
    SessionLost,
)
from acd.core.commands import EndCall, OverflowCall, PlayPrompt, RingAgent, StopPrompt
from acd.core.events import (
    AgentAnswered,
    AgentDidNotAnswer,
    CallArrived,
    CallEnded,
    CallerHungUp,
    CallerKeyPressed,
    CallTransferred,
    DialStatus,
    Event,
    PromptEnded,
)
from tests.asterisk.recordings import FIXTURES

S14 = FIXTURES.parent / "asterisk-traces" / "S14-dtmf"

REUSABLE = frozenset({"SET VARIABLE", "SET MUSIC", "STREAM FILE"})
# What Asterisk 22 answers, as recorded elsewhere in S4/S9/S12, to a command a given recording did
# not send: SET VARIABLE (S12 a), SET MUSIC (S9 a), ANSWER on an up channel (S9 a), GET VARIABLE of
# an unset variable (S12 a, TRANSFERERNAME).
ASTERISK_REPLIES = {
    "SET VARIABLE": AgiReply(200, "1", text="200 result=1"),
    "SET MUSIC": AgiReply(200, "0", text="200 result=0"),
    "ANSWER": AgiReply(200, "0", text="200 result=0"),
    "GET VARIABLE BLINDTRANSFER": AgiReply(200, "0", text="200 result=0"),
    # Not recorded: res_agi.c handle_saynumber writes `200 result=0` once say.c has spoken.
    "SAY NUMBER": AgiReply(200, "0", text="200 result=0"),
}
AGENTS = {f"PJSIP/agent{n}": f"agent{n}" for n in range(1, 6)}


@dataclass
class Exchange:
    """One recorded command, its reply, and whether HANGUP came just before that reply."""

    line: str
    reply: AgiReply
    t_reply: float
    hangup_before: bool


@dataclass
class Recording:
    uniqueid: str
    script: str
    language: str
    exchanges: list[Exchange]
    ami: list[tuple[float, LegInput]]


def recording(scenario: str, conn: str = "agi1") -> Recording:
    """One FastAGI connection of a recorded scenario, with the AMI records of its channel."""
    folder = FIXTURES / scenario
    records = [json.loads(line) for line in (folder / "agi.jsonl").read_text("utf-8").splitlines()]
    env = next(r for r in records if r["conn"] == conn and r["kind"] == "env")
    environment = parse_environment([x for x in env["raw"].splitlines() if x])
    exchanges: list[Exchange] = []
    assembler = AgiReplyAssembler()
    line: str | None = None
    hangup = False
    for record in records:
        if record["conn"] != conn:
            continue
        if record["kind"] == "command":
            line, hangup = record["raw"].rstrip("\n"), False
        elif record["kind"] == "hangup_notice":
            hangup = True
        elif record["kind"] == "response" and line is not None:
            reply = None
            for part in record["raw"].rstrip("\n").split("\n"):
                item = assembler.feed_line(part)
                if item is not None and not isinstance(item, HangupNotice):
                    reply = item
            assert reply is not None
            exchanges.append(Exchange(line, reply, record["t"], hangup))
            line = None
    ami: list[tuple[float, LegInput]] = []
    for record in (folder / "ami.jsonl").read_text("utf-8").splitlines():
        item = json.loads(record)
        if item["direction"] != "rx" or item["kind"] != "event":
            continue
        translated = translate(translate_event(frame_from_pairs(item["headers"])), AGENTS)
        if (
            isinstance(translated, ForLeg)
            and translated.uniqueid == environment.uniqueid
            and item["t"] >= env["t"]  # a channel back from a transfer had an earlier session
        ):
            ami.append((item["t"], translated.input))
    language = environment.get("agi_language") or ""
    return Recording(environment.uniqueid, environment.script.path, language, exchanges, ami)


def verb(line: str) -> str:
    """What a command is: ``EXEC Dial``, ``GET VARIABLE DIALSTATUS``, ``SET MUSIC``."""
    words = line.split()
    if words[0] in ("EXEC", "STREAM", "SAY"):
        return " ".join(words[:2])
    if words[:2] == ["GET", "VARIABLE"]:
        return " ".join(words[:3])
    if words[0] == "SET":
        return " ".join(words[:2])
    return words[0]


@dataclass
class Replay:
    """Drives a leg with a recording; ``script`` maps a leg state to the engine's next command."""

    recording: Recording
    leg: CallLeg
    sent: list[str] = field(default_factory=list)
    posted: list[Event] = field(default_factory=list)
    closed: str | None = None
    interrupts: int = 0
    _cursor: int = 0
    _ami_fed: int = 0
    _pending: list[SendAgi] = field(default_factory=list)

    def apply(self, outputs: list[LegOutput]) -> None:
        for output in outputs:
            match output:
                case SendAgi():
                    assert not self._pending, "two commands in flight"
                    self._pending.append(output)
                    self.sent.append(output.line)
                case PostEvent(event=event):
                    self.posted.append(event)
                case CloseSession(reason=reason):
                    self.closed = reason
                case InterruptAgi():
                    self.interrupts += 1

    def feed(self, item: LegInput, at: float = 0.0) -> None:
        self.apply(self.leg.handle(item, at))

    def start(self) -> None:
        self.apply(self.leg.start(0.0))

    def answer(self) -> bool:
        """Reply to the command in flight as Asterisk did; False when nothing is in flight."""
        if not self._pending:
            return False
        line = self._pending.pop().line
        exchange = self._recorded(line)
        while self._ami_fed < len(self.recording.ami):
            t, item = self.recording.ami[self._ami_fed]
            if t > exchange.t_reply:
                break
            self._ami_fed += 1
            self.feed(item, t)
        if exchange.hangup_before and not self.leg.hung_up:
            self.feed(ChannelHungUp(), exchange.t_reply)
        self.feed(AgiReplied(exchange.reply), exchange.t_reply)
        return True

    def run(self) -> None:
        while self.answer():
            pass

    def _recorded(self, line: str) -> Exchange:
        exchanges = self.recording.exchanges
        dial = verb(line) == "EXEC Dial"
        for index in range(self._cursor, len(exchanges)):
            recorded = verb(exchanges[index].line)
            if recorded == verb(line):
                if dial:
                    # Same advisor and ring time (S4 dialed without music on hold: no `m`).
                    assert exchanges[index].line.removesuffix(",m") == line.removesuffix(",m")
                self._cursor = index + 1
                return exchanges[index]
            if recorded == "EXEC Dial" and not dial:
                break  # never answer from beyond the next Dial: that is another phase
        # Not in this phase of the recording: the same command's reply earlier in it (Asterisk
        # answers SET VARIABLE with `200 result=1` whether the caller is up or not, S12 a).
        for exchange in reversed(exchanges[: self._cursor]):
            if verb(exchange.line) == verb(line) and verb(line) in REUSABLE:
                return Exchange(line, exchange.reply, exchange.t_reply, False)
        if verb(line) in ASTERISK_REPLIES:
            return Exchange(line, ASTERISK_REPLIES[verb(line)], 0.0, False)
        raise AssertionError(f"the recording has no reply for {line!r}")

    def events(self) -> list[type]:
        return [type(e) for e in self.posted]


def leg_for(rec: Recording, *, returning: bool = False) -> CallLeg:
    return CallLeg(
        LegSpec(
            call_id=rec.uniqueid,
            queue="support",
            audio=QueueAudio("en"),
            channel_language=rec.language,
            returning=returning,
        )
    )


def ring(rec: Recording, agent: str, timeout: int) -> RingAgent:
    return RingAgent(rec.uniqueid, agent, f"PJSIP/{agent}", timeout)


def test_s9a_answered_call_is_answered_once_and_ends_when_dial_returns() -> None:
    """S9 a: the advisor answers (AMI DialEnd first), talks and hangs up: one AgentAnswered, then
    CallEnded, and the session released with the caller still up."""
    rec = recording("S9-agi-acd-flows/a")
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    assert replay.events() == [CallArrived]
    # The dialplan set the channel's language (en, the queue's): no SET for it, no ACD_STATE.
    assert replay.sent == ["ANSWER", "SET MUSIC ON default"]
    replay.feed(PlayPrompt(rec.uniqueid, "position", 2, 0))
    replay.run()
    assert replay.sent[-4:] == [
        'STREAM FILE queue-thereare ""',
        'SAY NUMBER 1 ""',
        'STREAM FILE queue-callswaiting ""',
        "SET MUSIC ON default",
    ]
    replay.feed(ring(rec, "agent1", 10))
    replay.run()
    # DIALSTATUS=ANSWER alone tells the dialplan the call was handled: no ACD_STATE write.
    assert replay.sent[-2:] == ["EXEC Dial PJSIP/agent1,10,m", "GET VARIABLE DIALSTATUS"]
    assert replay.events() == [CallArrived, PromptEnded, AgentAnswered, CallEnded]
    assert replay.posted[2] == AgentAnswered(
        at=replay.posted[2].at, call_id=rec.uniqueid, agent_id="agent1"
    )
    assert replay.closed is not None
    assert replay.leg.phase is LegPhase.ENDED


def test_s9b_no_answer_requeues_then_the_next_advisor_answers_and_the_caller_hangs_up() -> None:
    """S9 b: NOANSWER puts the caller back (music on hold again); the second Dial is answered and
    the caller hangs up in the conversation."""
    rec = recording("S9-agi-acd-flows/b")
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    replay.feed(ring(rec, "agent1", 5))
    replay.run()
    assert replay.events() == [CallArrived, AgentDidNotAnswer]
    assert replay.posted[-1].dial_status is DialStatus.NOANSWER  # type: ignore[attr-defined]
    assert replay.sent[-2:] == ["GET VARIABLE DIALSTATUS", "SET MUSIC ON default"]
    assert replay.leg.phase is LegPhase.WAITING
    replay.feed(ring(rec, "agent2", 10))
    replay.run()
    assert replay.events() == [CallArrived, AgentDidNotAnswer, AgentAnswered, CallEnded]
    # The caller hung up in the conversation: was it a blind transfer? (unset: no)
    assert replay.sent[-2:] == ["GET VARIABLE DIALSTATUS", "GET VARIABLE BLINDTRANSFER"]
    assert replay.closed is not None


@pytest.mark.parametrize(
    ("scenario", "agent", "timeout", "status"),
    [
        ("S9-agi-acd-flows/c", "agent4", 10, DialStatus.BUSY),
        ("S9-agi-acd-flows/d", "agent5", 10, DialStatus.CHANUNAVAIL),
    ],
)
def test_s9_refused_rings_are_told_with_their_status(
    scenario: str, agent: str, timeout: int, status: DialStatus
) -> None:
    """S9 c/d: BUSY and CHANUNAVAIL come back as AgentDidNotAnswer with that status; the caller
    stays, with music again."""
    rec = recording(scenario)
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    replay.feed(ring(rec, agent, timeout))
    replay.run()
    assert replay.events() == [CallArrived, AgentDidNotAnswer]
    assert replay.posted[-1] == AgentDidNotAnswer(
        at=replay.posted[-1].at, call_id=rec.uniqueid, agent_id=agent, dial_status=status
    )
    assert replay.leg.phase is LegPhase.WAITING
    assert replay.closed is None


def test_s9e_caller_hanging_up_while_ringing_is_an_abandon() -> None:
    """S9 e: CANCEL (the caller left while the advisor rang): CallerHungUp, session released."""
    rec = recording("S9-agi-acd-flows/e")
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    replay.feed(ring(rec, "agent1", 20))
    replay.run()
    assert replay.events() == [CallArrived, CallerHungUp]
    assert replay.closed is not None


def test_s4_dial_answered_then_caller_hangs_up_in_the_bridge() -> None:
    """S4 agi1: a Dial without music answered by agent1, the caller hangs up in the bridge."""
    rec = recording("S4-fastagi-route")
    leg = leg_for(rec)
    replay = Replay(rec, leg)
    replay.start()
    replay.run()
    replay.feed(ring(rec, "agent1", 10))
    replay.run()
    assert replay.events() == [CallArrived, AgentAnswered, CallEnded]
    assert leg.hung_up
    assert replay.closed is not None


def test_s12a_blind_transfer_is_told_once() -> None:
    """S12 a: the advisor blind-transfers the caller: AMI BlindTransfer and the BLINDTRANSFER
    variable both say so; the engine hears CallTransferred once, and no answer-end."""
    rec = recording("S12-transfers/a")
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    replay.feed(ring(rec, "agent1", 20))
    replay.run()
    assert replay.events() == [CallArrived, AgentAnswered, CallTransferred]
    transferred = replay.posted[-1]
    assert isinstance(transferred, CallTransferred)
    assert (transferred.agent_id, transferred.target) == ("agent1", "7002@lab-agents")
    assert replay.closed == "transferred"


def test_s12a_blind_transfer_seen_only_in_the_channel_variable() -> None:
    """S12 a without AMI: the BLINDTRANSFER variable alone settles it (one CallTransferred)."""
    rec = recording("S12-transfers/a")
    rec.ami = [(t, item) for t, item in rec.ami if type(item).__name__ == "DialAnswered"]
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    replay.feed(ring(rec, "agent1", 20))
    replay.run()
    assert replay.events() == [CallArrived, AgentAnswered, CallTransferred]
    assert replay.sent[-2:] == ["GET VARIABLE DIALSTATUS", "GET VARIABLE BLINDTRANSFER"]


def test_s12b_attended_transfer_is_told_once_and_the_leg_lets_go_when_dial_returns() -> None:
    """S12 b: attended transfer: CallTransferred from AMI while Dial still runs; its return then
    releases the session without reading DIALSTATUS."""
    rec = recording("S12-transfers/b")
    replay = Replay(rec, leg_for(rec))
    replay.start()
    replay.run()
    replay.feed(ring(rec, "agent1", 20))
    replay.run()
    assert replay.events() == [CallArrived, AgentAnswered, CallTransferred]
    assert replay.sent[-1].startswith("EXEC Dial")
    assert replay.closed == "transferred"


def test_s12d_a_caller_transferred_back_is_a_new_call_that_clears_the_old_dial() -> None:
    """S12 d agi2: back on the same channel, the leg clears DIALSTATUS and BLINDTRANSFER before
    any Dial, so the stale ANSWER of the first Dial is never read as this ring's."""
    rec = recording("S12-transfers/d", "agi2")
    replay = Replay(rec, leg_for(rec, returning=True))
    replay.start()
    replay.run()
    assert 'SET VARIABLE DIALSTATUS ""' in replay.sent
    assert 'SET VARIABLE BLINDTRANSFER ""' in replay.sent
    replay.feed(ring(rec, "agent2", 10))
    replay.run()
    assert replay.events() == [CallArrived, AgentAnswered, CallEnded]


# ------------------------------------------------------------------ beyond the recordings


def test_the_ring_path_when_an_advisor_is_free_is_one_command_between_answer_and_dial() -> None:
    """The budget: a first-time caller in the DID's language, an advisor free at arrival: ANSWER,
    then CallArrived; the ring comes while SET MUSIC ON is in flight; EXEC Dial is next."""
    rec = Recording("1.1", "inbound", "en", [], [])
    replay = Replay(rec, leg_for(rec))
    replay.start()
    assert replay.sent == ["ANSWER"]
    reply_ok(replay)
    assert replay.events() == [CallArrived]
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    reply_ok(replay)
    assert replay.sent == ["ANSWER", "SET MUSIC ON default", "EXEC Dial PJSIP/agent1,15,m"]


def test_a_queue_in_another_language_costs_one_set_only_while_waiting() -> None:
    """A queue whose language differs from the channel's: SET CHANNEL(language) while waiting;
    a ring that comes first drops it and the music (the ring path stays ANSWER, Dial)."""
    rec = Recording("1.1", "inbound", "en", [], [])
    leg = CallLeg(LegSpec(call_id="1.1", queue="q", audio=QueueAudio("fr"), channel_language="en"))
    replay = Replay(rec, leg)
    replay.start()
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    reply_ok(replay)
    assert replay.sent == ["ANSWER", "EXEC Dial PJSIP/agent1,15,m"]
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "0", text="200 result=0")))  # Dial returned
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "1", data="NOANSWER", text="200 result=1 (NOANSWER)")))
    reply_ok(replay)
    assert replay.sent[-3:] == [
        "GET VARIABLE DIALSTATUS",
        'SET VARIABLE CHANNEL(language) "fr"',
        "SET MUSIC ON default",
    ]
    assert replay.events() == [CallArrived, AgentDidNotAnswer]


def started(returning: bool = False) -> Replay:
    rec = Recording("1.1", "inbound", "fr", [], [])
    replay = Replay(rec, leg_for(rec, returning=returning))
    replay.start()
    while replay._pending:
        replay._pending.pop()
        replay.feed(AgiReplied(AgiReply(200, "0", text="200 result=0")))
    return replay


def reply_ok(replay: Replay, endpos: int | None = None) -> None:
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "0", endpos=endpos, text="200 result=0")))


def test_a_ring_interrupts_the_prompt_and_dials_right_after_it_stops() -> None:
    """RingAgent during a prompt: one InterruptAgi, and the Dial is the very next command after
    the prompt's end (no music, no ACD_STATE: Dial's `m` plays music)."""
    replay = started()
    replay.feed(PlayPrompt("1.1", "position", 3, 120))
    assert replay.sent[-1] == 'STREAM FILE queue-thereare ""'
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    replay.feed(StopPrompt("1.1"))
    assert replay.interrupts == 1
    reply_ok(replay)  # the interrupted stream's reply (no endpos)
    assert replay.sent[-2:] == ['STREAM FILE queue-thereare ""', "EXEC Dial PJSIP/agent1,15,m"]
    assert replay.events() == [CallArrived, PromptEnded]


def test_a_caller_hanging_up_while_waiting_is_told_once() -> None:
    """HANGUP while waiting: CallerHungUp once, session released; later inputs change nothing."""
    replay = started()
    replay.feed(ChannelHungUp())
    replay.feed(ChannelHungUp())
    replay.feed(SessionLost("closed"))
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    assert replay.events() == [CallArrived, CallerHungUp]
    assert replay.closed == "caller hung up"


def test_overflow_and_goodbye_write_the_contract_then_release() -> None:
    """OverflowCall writes the target then ACD_STATE=overflow; EndCall writes done, says goodbye
    and hangs up; both release the session after their last reply."""
    replay = started()
    replay.feed(OverflowCall("1.1", "extension:200@acd-overflow", "max_wait"))
    reply_ok(replay)
    reply_ok(replay)
    assert replay.sent[-2:] == [
        'SET VARIABLE ACD_OVERFLOW_TARGET "200@acd-overflow"',
        'SET VARIABLE ACD_STATE "overflow"',
    ]
    assert replay.closed == "left the ACD"
    replay = started()
    replay.feed(EndCall("1.1", "closed"))
    for _ in range(3):
        reply_ok(replay)
    assert replay.sent[-3:] == [
        'SET VARIABLE ACD_STATE "done"',
        'STREAM FILE vm-goodbye ""',
        "HANGUP",
    ]
    assert replay.closed == "left the ACD"


def test_our_own_misuse_raises_and_the_transitions_are_one_table() -> None:
    """A reply fed with nothing in flight, or a second start, is our bug (LegMisuseError); every
    phase but the last can end."""
    replay = started()
    with pytest.raises(LegMisuseError):
        replay.feed(AgiReplied(AgiReply(200, "0")))
    with pytest.raises(LegMisuseError):
        replay.leg.start(0.0)
    assert all(
        LegPhase.ENDED in moves
        for p, moves in TRANSITIONS.items()
        if p is not LegPhase.NEW and p is not LegPhase.ENDED
    )
    assert TRANSITIONS[LegPhase.ENDED] == frozenset()


def test_a_ring_interrupts_say_number_like_a_stream() -> None:
    """SAY NUMBER is a prompt part like STREAM FILE: a ring interrupts it and the Dial follows."""
    replay = started()
    replay.feed(PlayPrompt("1.1", "position", 5, 0))
    reply_ok(replay, endpos=18054)  # queue-thereare finished
    assert replay.sent[-1] == 'SAY NUMBER 4 ""'
    replay.feed(RingAgent("1.1", "agent2", "PJSIP/agent2", 15))
    assert replay.interrupts == 1
    reply_ok(replay)  # res_agi wrote no reply for the interrupted SAY: the session's stand-in
    assert replay.sent[-1] == "EXEC Dial PJSIP/agent2,15,m"
    assert replay.events() == [CallArrived, PromptEnded]


def test_a_digit_pressed_during_say_number_ends_the_prompt() -> None:
    """A digit during SAY NUMBER (`200 result=49`) ends the announcement, is posted as the key
    "1", and music comes back."""
    replay = started()
    replay.feed(PlayPrompt("1.1", "position", 5, 0))
    reply_ok(replay, endpos=18054)
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "49", text="200 result=49")))
    assert replay.sent[-1] == "SET MUSIC ON default"
    assert replay.events() == [CallArrived, CallerKeyPressed, PromptEnded]
    assert keys_posted(replay) == [("1", True)]


# ------------------------------------------------------------------ keys a caller presses (S14)


def keyed(keys: str = "1") -> Replay:
    rec = Recording("1.1", "inbound", "fr", [], [])
    leg = CallLeg(LegSpec(call_id="1.1", queue="q", audio=QueueAudio("fr", keys=keys)))
    replay = Replay(rec, leg)
    replay.start()
    while replay._pending:
        replay._pending.pop()
        replay.feed(AgiReplied(AgiReply(200, "0", text="200 result=0")))
    return replay


def keys_posted(replay: Replay) -> list[tuple[str, bool]]:
    return [(e.digit, e.during_prompt) for e in replay.posted if isinstance(e, CallerKeyPressed)]


def s14_keys(variant: str) -> list[tuple[float, KeyHeard]]:
    """The recorded DTMFEnd frames of S14 ``variant`` for the caller's channel, translated."""
    agi = [json.loads(x) for x in (S14 / variant / "agi.jsonl").read_text("utf-8").splitlines()]
    env = next(r for r in agi if r["kind"] == "env")
    uniqueid = parse_environment([x for x in env["raw"].splitlines() if x]).uniqueid
    keys = []
    for line in (S14 / variant / "ami.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        if item["direction"] != "rx" or item["kind"] != "event":
            continue
        translated = translate(translate_event(frame_from_pairs(item["headers"])), AGENTS)
        if isinstance(translated, ForLeg) and isinstance(translated.input, KeyHeard):
            assert translated.uniqueid == uniqueid
            keys.append((item["t"], translated.input))
    return keys


@pytest.mark.parametrize("variant", ["a", "b"])
def test_s14_every_key_reaches_the_engine_once_whether_agi_sees_it_or_not(variant: str) -> None:
    """S14 (SIP INFO and RFC 2833): keys 5 (music on hold), 9 (a prompt it does not end), 1 (ends
    the prompt: DTMFEnd then the reply `result=49`), 2, 3, 4: each is one CallerKeyPressed."""
    keys = s14_keys(variant)
    assert [k.digit for _, k in keys] == ["5", "9", "1", "2", "3", "4"]
    replay = keyed("12")
    for t, key in keys[:2]:
        if key.digit == "9":
            replay.feed(PlayPrompt("1.1", "position", 1, 0), t - 0.5)
            assert replay.sent[-1] == 'STREAM FILE queue-youarenext "12"'
        replay.feed(key, t)
    t1, key1 = keys[2]
    replay.feed(key1, t1)
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "49", endpos=16160, text="200 result=49")), t1 + 0.001)
    for t, key in keys[3:]:
        replay.feed(key, t)
    assert keys_posted(replay) == [
        ("5", False),
        ("9", True),
        ("1", True),
        ("2", False),
        ("3", False),
        ("4", False),
    ]
    assert replay.sent[-1] == "SET MUSIC ON default"  # the key ended the prompt: music again


def test_a_key_reported_by_the_agi_reply_first_is_not_posted_again_by_its_dtmfend() -> None:
    """The two sockets are not ordered: a reply `result=49` then DTMFEnd 1 is one key; a second
    press of 1 later is another key."""
    replay = keyed("1")
    replay.feed(PlayPrompt("1.1", "position", 1, 0), 10.0)
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "49", endpos=800, text="200 result=49")), 11.0)
    replay.feed(KeyHeard("1"), 11.002)
    replay.feed(KeyHeard("1"), 15.0)
    assert keys_posted(replay) == [("1", True), ("1", False)]


def test_keys_outside_the_queue_and_bad_digits_are_not_posted() -> None:
    """A key while the Dial rings, or a digit that is no DTMF key, posts nothing (a note says
    Asterisk sent what it should not)."""
    replay = keyed()
    replay.feed(KeyHeard("x"))
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    replay.feed(KeyHeard("1"))
    assert keys_posted(replay) == []
    assert replay.sent[-1] == "EXEC Dial PJSIP/agent1,15,m"


def test_a_queue_without_prompt_keys_plays_prompts_no_key_ends() -> None:
    """Without ``prompt_keys`` a prompt has no escape digits (a key only reaches AMI and is still
    posted); with them, SAY NUMBER carries the same keys as STREAM FILE."""
    replay = keyed("")
    replay.feed(PlayPrompt("1.1", "position", 3, 0))
    assert replay.sent[-1] == 'STREAM FILE queue-thereare ""'
    replay.feed(KeyHeard("1"))
    assert keys_posted(replay) == [("1", True)]
    replay = keyed("1#")
    replay.feed(PlayPrompt("1.1", "position", 3, 0))
    reply_ok(replay, endpos=100)
    assert replay.sent[-1] == 'SAY NUMBER 2 "1#"'


# ------------------------------------------------------------------ a caller's own language


def french() -> Replay:
    """A caller waiting in a French queue on a French channel (no SET of the language)."""
    rec = Recording("1.1", "inbound", "fr", [], [])
    leg = CallLeg(LegSpec(call_id="1.1", queue="q", audio=QueueAudio("fr"), channel_language="fr"))
    replay = Replay(rec, leg)
    replay.start()
    while replay._pending:
        reply_ok(replay)
    assert replay.sent == ["ANSWER", "SET MUSIC ON default"]
    return replay


def language_sets(replay: Replay) -> list[str]:
    return [line for line in replay.sent if line.startswith("SET VARIABLE CHANNEL(language)")]


def test_a_crm_language_like_the_channel_costs_no_command() -> None:
    """The CRM names the language the channel already speaks: nothing is sent."""
    replay = french()
    sent = list(replay.sent)
    replay.feed(CallerLanguage("fr"))
    assert replay.sent == sent
    assert language_sets(replay) == []


def test_a_crm_language_that_differs_is_one_set_while_waiting_and_speaks_the_next_prompt() -> None:
    """A late CRM answer in English for a French channel: one SET, then prompts in English (the
    feminine minute of French is dropped); a second answer saying the same sends nothing."""
    replay = french()
    replay.feed(CallerLanguage("en"))
    reply_ok(replay)
    replay.feed(CallerLanguage("en"))
    replay.feed(PlayPrompt("1.1", "expected_wait", 1, 30))
    reply_ok(replay, endpos=100)
    reply_ok(replay, endpos=100)
    assert language_sets(replay) == ['SET VARIABLE CHANNEL(language) "en"']
    assert replay.sent[-1] == 'SAY NUMBER 1 ""'


def test_a_language_known_before_the_set_up_ends_replaces_the_queue_one() -> None:
    """During ANSWER, the queue's SET is still waiting: the caller's language replaces it (one
    SET in all, never two)."""
    rec = Recording("1.1", "inbound", "en", [], [])
    leg = CallLeg(LegSpec(call_id="1.1", queue="q", audio=QueueAudio("fr"), channel_language="en"))
    replay = Replay(rec, leg)
    replay.start()
    replay.feed(CallerLanguage("de"))
    while replay._pending:
        reply_ok(replay)
    assert language_sets(replay) == ['SET VARIABLE CHANNEL(language) "de"']
    assert replay.sent == ["ANSWER", "SET MUSIC ON default", 'SET VARIABLE CHANNEL(language) "de"']


def test_a_language_while_ringing_adds_nothing_before_the_dial_and_is_set_once_after() -> None:
    """On the ring path the language costs nothing; after an unanswered ring it is one SET, and
    a second unanswered ring does not send it again."""
    replay = french()
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    replay.feed(CallerLanguage("en"))
    assert replay.sent[-1] == "EXEC Dial PJSIP/agent1,15,m"
    for _ in range(2):
        reply_ok(replay)  # Dial returned
        replay._pending.pop()
        replay.feed(AgiReplied(AgiReply(200, "1", data="NOANSWER", text="200 result=1")))
        while replay._pending:
            reply_ok(replay)
        replay.feed(RingAgent("1.1", "agent2", "PJSIP/agent2", 15))
    assert language_sets(replay) == ['SET VARIABLE CHANNEL(language) "en"']


def test_a_key_that_races_our_interruption_is_still_posted_once() -> None:
    """DTMFEnd 1 while we interrupt the prompt for a ring, and the reply says `result=49`: one
    CallerKeyPressed, and the Dial follows."""
    replay = keyed("1")
    replay.feed(PlayPrompt("1.1", "position", 1, 0), 1.0)
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15), 2.0)
    assert replay.interrupts == 1
    replay.feed(KeyHeard("1"), 2.001)
    replay._pending.pop()
    replay.feed(AgiReplied(AgiReply(200, "49", endpos=800, text="200 result=49")), 2.002)
    assert keys_posted(replay) == [("1", True)]
    assert replay.sent[-1] == "EXEC Dial PJSIP/agent1,15,m"
