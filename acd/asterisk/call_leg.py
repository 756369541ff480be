"""One caller's leg as a pure transition table: everything that changes a leg lives in this file.

A leg is the caller's channel while acd holds it in a FastAGI session (docs/architecture.md). It
is synchronous and does no I/O, like ``acd.core`` and h11: the shell feeds it what happened —
``start``, the reply to the AGI command it asked for (``AgiReplied``), Asterisk's ``HANGUP``
(``ChannelHungUp``), a lost session (``SessionLost``), AMI records already translated
(``DialAnswered``, ``CallerTransferred``) and the engine's call-control commands (``RingAgent``,
``PlayPrompt``, ``StopPrompt``, ``OverflowCall``, ``EndCall``) — each with the time it happened,
and gets back what to do: AGI command lines to send (``SendAgi``, one at a time: res_agi reads the
next line only once it has answered the previous one), a prompt to interrupt (``InterruptAgi``),
core events to post (``PostEvent``), the session to close (``CloseSession``), and notes to log
(``LegNote``). The shell never decides anything.

The handled-call contract with the dialplan (dialplan/acd-call.conf) lives here and only here:
which ``ACD_STATE`` is written before which phase, and when an answer or a transfer has already
been told to the engine, so each is posted once whether AMI or the Dial's return says it first.

Errors say whose fault it is, as in h11: ``LegMisuseError`` when acd's own code breaks the rules
(a reply fed while no command is in flight, ``start`` twice) — a bug, raised; what Asterisk sends
that it should not (a reply to a command that cannot carry it, an unknown DIALSTATUS) is a
``LegNote`` with ``peer_fault=True``, and the leg goes on conservatively: bad input never loses
the caller.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, replace
from enum import Enum

from acd.asterisk.agi_codec import AgiReply, command_line, quoted, variable_name, word
from acd.asterisk.prompts import (
    ACCEPT_KEY,
    RETYPE_KEY,
    TYPING_MAX_DIGITS,
    TYPING_TIMEOUT_MS,
    closed_lines,
    closed_offer_lines,
    confirm_lines,
    prompt_lines,
    typing_line,
)
from acd.core.commands import EndCall, OverflowCall, PlayPrompt, RingAgent, StopPrompt
from acd.core.events import (
    AgentAnswered,
    AgentDidNotAnswer,
    CallArrived,
    CallbackNumberConfirmed,
    CallEnded,
    CallerHungUp,
    CallerKeyPressed,
    CallTransferred,
    DialStatus,
    Event,
    PromptEnded,
)

STATE_VARIABLE = "ACD_STATE"
OVERFLOW_VARIABLE = "ACD_OVERFLOW_TARGET"

_NOT_ANSWERED = {
    "NOANSWER": DialStatus.NOANSWER,
    "BUSY": DialStatus.BUSY,
    "CHANUNAVAIL": DialStatus.CHANUNAVAIL,
    "CONGESTION": DialStatus.CONGESTION,
}

DTMF_DIGITS = "0123456789*#ABCD"
# How long after a key the AGI reply reported its AMI DTMFEnd may still come (the two sockets
# are not ordered; S14 recorded DTMFEnd ≤1 ms before the reply): that DTMFEnd is the same key.
KEY_TWIN_WINDOW_S = 1.0

# The callback number's confirmation asks at most this many times (a read-back, or "type the
# number"); unanswered, it gives up and the caller keeps waiting (they may press the key again).
CONFIRM_QUESTIONS = 4

_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8}(;\d)?$")


def endpoint_of_channel(channel: str) -> str:
    """``PJSIP/agent1-0000002a`` → ``PJSIP/agent1`` (the device and the advisor's endpoint)."""
    return _CHANNEL_SUFFIX.sub("", channel)


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True, slots=True)
class QueueAudio:
    """How a queue sounds: the prompts' language and the music-on-hold class."""

    language: str = "fr"
    music_class: str = "default"
    timezone: str = "Europe/Paris"  # the centre's: a reopening is said in its local time
    # The keys that end an announcement (escape digits of its STREAM FILE / SAY NUMBER); a key
    # pressed is reported either way (CallerKeyPressed), this only decides if it stops a prompt.
    keys: str = ""


@dataclass(frozen=True, slots=True)
class CallTimings:
    """Bounds on AGI commands (seconds). A Dial may last a whole conversation."""

    command_s: float = 10.0
    prompt_part_s: float = 30.0
    dial_margin_s: float = 4 * 3600.0


class LegKind(Enum):
    """Who started the leg and who is on it; every kind keeps the handled-call contract.

    ``INBOUND``: a caller the dialplan handed to acd (``AGI(agi://…/inbound?queue=…)``).
    The kinds below are the next issues' (docs/architecture.md, "Leg kinds"): they are originated
    over AMI and reach acd over FastAGI once answered, so they enter this table like an inbound
    caller, with their own first phase.
    ``CALLBACK``: originated to the advisor first (reserved with ``ReserveAgent``), then the
    customer is dialed from the leg (``RingAgent`` with the customer's number as endpoint).
    ``OUTBOUND``: originated to a campaign contact first; once answered it waits for an advisor
    like an inbound caller (the same ``RingAgent``).
    ``SUPERVISOR``: a supervisor's channel originated into ChanSpy (listen, whisper, barge); it
    never queues and never rings anyone.
    """

    INBOUND = "inbound"
    CALLBACK = "callback"
    OUTBOUND = "outbound"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class LegSpec:
    """Everything a leg needs to know of its call at the start (from the AGI environment)."""

    call_id: str
    queue: str
    audio: QueueAudio
    kind: LegKind = LegKind.INBOUND
    priority: int | None = None
    caller_number: str = ""
    caller_name: str = ""
    linked_id: str = ""
    # The channel's language as the dialplan set it (agi_language): SET only when it differs.
    channel_language: str = ""
    # Back from a transfer (S12 d): the channel still holds the first Dial's variables.
    returning: bool = False
    timings: CallTimings = field(default_factory=CallTimings)


# ------------------------------------------------------------------------------ inputs


@dataclass(frozen=True, slots=True)
class AgiReplied:
    """Asterisk's reply to the command in flight."""

    reply: AgiReply


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    """Asterisk wrote ``HANGUP``: the caller is gone, or transferred away (S12)."""


@dataclass(frozen=True, slots=True)
class SessionLost:
    """The FastAGI session ended under us (socket closed, a reply that never came)."""

    reason: str


# Inputs of the legs that start from an AMI Originate (callback_leg, outbound_leg): one
# definition each, fed by the one shell both use (originated_calls).


@dataclass(frozen=True, slots=True)
class OriginateFailed:
    """AMI ``OriginateResponse`` ``Failure`` for this attempt (its ``Reason``)."""

    reason: int


@dataclass(frozen=True, slots=True)
class SessionOpened:
    """The originated channel answered and its FastAGI session for this attempt opened."""


@dataclass(frozen=True, slots=True)
class PartyAnswered:
    """AMI ``DialEnd`` ``ANSWER`` on the originated channel: the party it dialed picked up."""


@dataclass(frozen=True, slots=True)
class DialAnswered:
    """AMI ``DialEnd`` with ``ANSWER`` for this caller: ``agent_id`` picked up."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class KeyHeard:
    """AMI ``DTMFEnd`` (``Direction: Received``) on this caller's channel: ``digit`` was pressed.

    Every key reaches AMI, but only a key that ends a prompt also reaches AGI (S14): during music
    on hold or a prompt it does not stop, AMI is the only witness."""

    digit: str


@dataclass(frozen=True, slots=True)
class CallerLanguage:
    """The caller's own language became known after the leg started (a CRM's answer): prompts
    speak it from now on, with one ``SET VARIABLE CHANNEL(language)`` while the caller waits, and
    none when the channel already speaks it."""

    language: str


@dataclass(frozen=True, slots=True)
class CallerTransferred:
    """AMI ``BlindTransfer``/``AttendedTransfer`` of this caller by ``agent_id``."""

    agent_id: str
    target: str


EngineCommand = RingAgent | PlayPrompt | StopPrompt | OverflowCall | EndCall
LegInput = (
    AgiReplied
    | ChannelHungUp
    | SessionLost
    | DialAnswered
    | CallerTransferred
    | KeyHeard
    | CallerLanguage
    | EngineCommand
)

# ------------------------------------------------------------------------------ outputs


@dataclass(frozen=True, slots=True)
class SendAgi:
    """Write this command line and feed back its reply. ``interruptible``: a prompt that a later
    ``InterruptAgi`` may stop (res_agi stops it when another line arrives). ``announce``: a note
    to log just before the line goes on the socket (the Dial's ``agent_rung``)."""

    line: str
    reply_within_s: float
    interruptible: bool = False
    announce: LegNote | None = None


@dataclass(frozen=True, slots=True)
class InterruptAgi:
    """Stop the prompt in flight now; its (possibly empty) reply still comes as ``AgiReplied``."""


@dataclass(frozen=True, slots=True)
class PostEvent:
    """Post this event to the engine's inbox."""

    event: Event


@dataclass(frozen=True, slots=True)
class CloseSession:
    """Close the FastAGI session: the channel goes back to the dialplan (ACD_STATE decides)."""

    reason: str


@dataclass(frozen=True, slots=True)
class LegNote:
    """Something worth a log line: ``event`` is its snake_case name; ``peer_fault`` when Asterisk
    sent what it should not."""

    event: str
    detail: str = ""
    peer_fault: bool = False


LegOutput = SendAgi | InterruptAgi | PostEvent | CloseSession | LegNote


class LegMisuseError(RuntimeError):
    """acd's own code broke the leg's rules (a bug): the input was not applied."""


# ------------------------------------------------------------------------------ the table


class LegPhase(Enum):
    """Where the leg is. ``ENDED`` is final: the session is (being) closed."""

    NEW = "new"
    SETTING_UP = "setting_up"  # ANSWER in flight: the engine has not heard of the caller yet
    WAITING = "waiting"  # in the queue: music, prompts
    RINGING = "ringing"  # EXEC Dial in flight, then reading its outcome
    LEAVING = "leaving"  # overflow or goodbye commands in flight
    ENDED = "ended"


# Every phase change the leg makes, in one place: ``_move`` refuses any other (LegMisuseError).
TRANSITIONS: dict[LegPhase, frozenset[LegPhase]] = {
    LegPhase.NEW: frozenset({LegPhase.SETTING_UP}),
    LegPhase.SETTING_UP: frozenset({LegPhase.WAITING, LegPhase.LEAVING, LegPhase.ENDED}),
    LegPhase.WAITING: frozenset({LegPhase.RINGING, LegPhase.LEAVING, LegPhase.ENDED}),
    LegPhase.RINGING: frozenset({LegPhase.WAITING, LegPhase.LEAVING, LegPhase.ENDED}),
    LegPhase.LEAVING: frozenset({LegPhase.ENDED}),
    LegPhase.ENDED: frozenset(),
}


class Step(Enum):
    """What the command in flight is for: how to read its reply."""

    ANSWER = "answer"
    SET_UP = "set_up"  # a SET whose reply only says it was done
    PROMPT_PART = "prompt_part"
    DIAL = "dial"
    DIAL_STATUS = "dial_status"
    BLIND_TRANSFERER = "blind_transferer"
    LEAVE = "leave"


@dataclass(frozen=True, slots=True)
class _Pending:
    step: Step
    action: SendAgi
    # Only for a caller who waits: dropped when a ring comes first (Dial's `m` plays music).
    waiting_only: bool = False
    # A SET of CHANNEL(language) to this language: the channel speaks it once it is sent.
    language: str | None = None


@dataclass(slots=True)
class _Confirmation:
    """The callback number's confirmation dialog (``PlayPrompt`` ``callback_confirm``): the
    number read back, then 1 (accept) or 2 (type another, ``GET DATA``, read back again)."""

    number: str
    typed: bool = False
    typing: bool = False  # the part in flight is the GET DATA: its result is the digits
    questions: int = 1


def _set(name: str, value: str, timings: CallTimings) -> SendAgi:
    return SendAgi(
        command_line("SET VARIABLE", variable_name(name), quoted(value)), timings.command_s
    )


def _get(name: str, timings: CallTimings) -> SendAgi:
    return SendAgi(command_line("GET VARIABLE", variable_name(name)), timings.command_s)


def _music(audio: QueueAudio, timings: CallTimings) -> SendAgi:
    return SendAgi(command_line("SET MUSIC", "ON", word(audio.music_class)), timings.command_s)


class CallLeg:
    """One caller's leg: ``start`` once, then ``handle`` each input in the order it happened."""

    def __init__(self, spec: LegSpec) -> None:
        self.spec = spec
        self.call_id = spec.call_id
        # The prompts' language and music (a caller's own language may replace the queue's), and
        # the language the channel speaks as far as the leg has set it.
        self._audio = spec.audio
        self._channel_language = spec.channel_language
        self.phase = LegPhase.NEW
        self.hung_up = False
        self.transferred = False
        self._timings = spec.timings
        self._in_flight: Step | None = None
        self._pending: deque[_Pending] = deque()
        # The ring the engine asked for, waiting for the command in flight (or the prompt) to end.
        self._ring: RingAgent | None = None
        self._ringing_agent: str | None = None
        self._answered_posted = False
        self._answered = False
        self._dial_status = ""
        # The prompt playing (its remaining parts), and one asked for while another still plays.
        self._prompt: deque[str] | None = None
        self._next_prompt: list[str] | None = None
        self._prompt_stopping = False
        # The callback number's confirmation, while its parts play (and one asked for).
        self._confirm: _Confirmation | None = None
        self._next_confirm: _Confirmation | None = None
        # The key rule's memory (``_key``): a key the AGI reply reported, whose DTMFEnd has not
        # come yet; a key DTMFEnd reported during a prompt part it may end.
        self._agi_key: tuple[str, float] | None = None
        self._ami_key_in_part: str | None = None
        self._out: list[LegOutput] = []
        self._at = 0.0

    # ------------------------------------------------------------------ entry points

    def start(self, at: float) -> list[LegOutput]:
        """The session is open: answer and set the caller up (the handled-call contract)."""
        if self.phase is not LegPhase.NEW:
            raise LegMisuseError(f"leg {self.call_id} started twice")
        self._at = at
        self._move(LegPhase.SETTING_UP)
        t = self._timings
        # The ring path's budget (docs/architecture.md): after ANSWER, at most one command before
        # the Dial when an advisor is free. The engine hears of the caller as soon as ANSWER
        # returns; ACD_STATE stays unset while the caller waits (the dialplan treats unset as
        # `queued`), and DIALSTATUS=ANSWER alone tells the dialplan the call was handled.
        self._queue(Step.ANSWER, SendAgi("ANSWER", t.command_s))
        if self.spec.returning:
            # Back from a transfer (S12 d): the channel still holds the first Dial's
            # DIALSTATUS=ANSWER and BLINDTRANSFER, and EXEC Dial on a channel that hung up sets
            # neither, so a ring that never happened would read as answered. Before any Dial.
            self._queue(Step.SET_UP, _set("DIALSTATUS", "", t))
            self._queue(Step.SET_UP, _set("BLINDTRANSFER", "", t))
        self._waiting_set_up()
        self._send_next()
        return self._flush()

    def _waiting_set_up(self) -> None:
        """What a caller who waits needs, dropped if a ring comes first: their language when the
        channel speaks another, and music on hold."""
        self._queue_language()
        self._queue(Step.SET_UP, _music(self._audio, self._timings), waiting_only=True)

    def _queue_language(self) -> None:
        """The language rule: at most one SET of CHANNEL(language) waits to be sent, and only
        when the prompts' language differs from the channel's (then none on the ring path)."""
        self._pending = deque(p for p in self._pending if p.language is None)
        wanted = self._audio.language
        if wanted != self._channel_language:
            action = _set("CHANNEL(language)", wanted, self._timings)
            self._pending.append(_Pending(Step.SET_UP, action, waiting_only=True, language=wanted))

    def _on_language(self, language: str) -> None:
        if not language or language == self._audio.language:
            return
        if self.phase in (LegPhase.LEAVING, LegPhase.ENDED):
            return
        self._audio = replace(self._audio, language=language)
        self._note("caller_language", language)
        if self.phase in (LegPhase.SETTING_UP, LegPhase.WAITING):
            self._queue_language()
            self._send_next()
        # Ringing: an unanswered ring's waiting set-up applies it.

    def handle(self, item: LegInput, at: float) -> list[LegOutput]:
        """Apply one input; return what to do, in order."""
        if self.phase is LegPhase.NEW:
            raise LegMisuseError(f"leg {self.call_id}: {type(item).__name__} before start")
        self._at = at
        match item:
            case AgiReplied(reply=reply):
                self._on_reply(reply)
            case ChannelHungUp():
                self._on_hangup()
            case SessionLost(reason=reason):
                self._on_session_lost(reason)
            case DialAnswered(agent_id=agent_id):
                self._on_dial_answered(agent_id)
            case CallerTransferred(agent_id=agent_id, target=target):
                self._on_transferred(agent_id, target)
            case KeyHeard(digit=digit):
                self._key_from_ami(digit)
            case CallerLanguage(language=language):
                self._on_language(language)
            case RingAgent():
                self._on_ring(item)
            case PlayPrompt():
                self._on_play(item)
            case StopPrompt():
                self._stop_prompt()
            case OverflowCall():
                self._on_overflow(item)
            case EndCall(reason=reason, closed_message=closed, reopens_at=reopens_at):
                self._on_end(reason, closed_message=closed, reopens_at=reopens_at)
        return self._flush()

    @property
    def ringing_agent(self) -> str | None:
        """The advisor whose phone this caller's Dial is ringing (None when not ringing)."""
        return self._ringing_agent

    @property
    def talking(self) -> bool:
        """An advisor answered this caller: the conversation goes on inside Asterisk."""
        return self._answered_posted

    @property
    def busy(self) -> bool:
        """A command is in flight."""
        return self._in_flight is not None

    # ------------------------------------------------------------------ replies

    def _on_reply(self, reply: AgiReply) -> None:
        step = self._in_flight
        if step is None:
            raise LegMisuseError(f"leg {self.call_id}: a reply fed with no command in flight")
        self._in_flight = None
        if self.phase is LegPhase.ENDED:
            return
        match step:
            case Step.ANSWER | Step.SET_UP:
                self._answered = self._answered or step is Step.ANSWER
                if not reply.ok and not reply.dead_channel:
                    self._note("agi_command_refused", reply.text, peer_fault=True)
            case Step.PROMPT_PART:
                self._prompt_part_ended(reply)
            case Step.DIAL:
                self._dial_returned(reply)
                return
            case Step.DIAL_STATUS:
                self._dial_status_read(reply)
                return
            case Step.BLIND_TRANSFERER:
                if reply.ok and reply.result != "0" and reply.data:
                    self._mark_transferred(self._ringing_agent or "", "blind")
                self._dial_settled()
                return
            case Step.LEAVE:
                pass
        self._after_reply()

    def _after_reply(self) -> None:
        if self.phase is LegPhase.SETTING_UP and self._answered:
            self._move(LegPhase.WAITING)
            self._post(
                CallArrived(
                    at=self._at,
                    call_id=self.call_id,
                    queue=self.spec.queue,
                    priority=self.spec.priority,
                    caller_number=self.spec.caller_number,
                    caller_name=self.spec.caller_name,
                    linked_id=self.spec.linked_id,
                )
            )
            if self.hung_up:
                # Hung up during the set-up: offered, then abandoned at once.
                self._caller_gone()
                return
        self._send_next()

    def _send_next(self) -> None:
        """Send what comes next, if nothing is in flight: queued commands, then a ring the engine
        asked for, then the prompt's next part; a leaving leg closes once its commands are done."""
        if self._in_flight is not None or self.phase is LegPhase.ENDED:
            return
        if self._pending:
            pending = self._pending.popleft()
            if pending.language is not None:
                self._channel_language = pending.language
            self._in_flight = pending.step
            self._out.append(pending.action)
            return
        if self.phase is LegPhase.LEAVING:
            self._close("left the ACD")
            return
        if self.phase is not LegPhase.WAITING:
            return
        if self._ring is not None:
            ring, self._ring = self._ring, None
            self._dial(ring)
            return
        if self._prompt is None and self._next_prompt is not None:
            self._prompt, self._next_prompt = deque(self._next_prompt), None
            self._confirm, self._next_confirm = self._next_confirm, None
            self._prompt_stopping = False
        if self._prompt:
            self._in_flight = Step.PROMPT_PART
            line = self._prompt.popleft()
            within = self._timings.prompt_part_s
            if self._confirm is not None and self._confirm.typing:
                within += TYPING_MAX_DIGITS * TYPING_TIMEOUT_MS / 1000  # a digit at a time
            self._out.append(SendAgi(line, within, interruptible=True))

    # ------------------------------------------------------------------ prompts

    def _on_play(self, command: PlayPrompt) -> None:
        if self.phase not in (LegPhase.SETTING_UP, LegPhase.WAITING):
            return
        audio = self._audio
        confirm: _Confirmation | None = None
        if command.kind == "callback_confirm":
            digits = command.digits
            lines = confirm_lines(digits) if digits.isdigit() else []
            confirm = _Confirmation(digits) if lines else None
        elif command.kind == "callback_offer_closed" and self._confirm is None:
            lines = closed_offer_lines(
                audio.language, audio.timezone, command.reopens_at, audio.keys
            )
        elif self._confirm is not None or self._next_confirm is not None:
            # The caller is confirming a callback number: an announcement would cut the
            # dialog short, so it is skipped (a refusal comes only once the dialog is over).
            self._post(PromptEnded(at=self._at, call_id=self.call_id))
            return
        else:
            lines = prompt_lines(
                command.kind, command.position, command.expected_wait_s, audio.language, audio.keys
            )
        if not lines:
            self._post(PromptEnded(at=self._at, call_id=self.call_id))
            return
        if self._prompt is not None:
            # A new announcement replaces the one playing: stop it; it ends first (PromptEnded).
            self._stop_prompt()
        self._next_prompt = lines
        self._next_confirm = confirm
        self._send_next()

    def _stop_prompt(self) -> None:
        self._next_prompt = None
        self._next_confirm = None
        if self._prompt is None:
            return
        self._prompt.clear()
        if self._in_flight is Step.PROMPT_PART and not self._prompt_stopping:
            self._prompt_stopping = True
            self._out.append(InterruptAgi())
        elif self._in_flight is not Step.PROMPT_PART:
            self._prompt_over(stopped=True)

    def _prompt_part_ended(self, reply: AgiReply) -> None:
        assert self._prompt is not None
        if self._confirm is not None:
            self._confirm_part_ended(self._confirm, reply)
            return
        # STREAM FILE ends with `200 result=0 endpos=N`, SAY NUMBER with `200 result=0`; a digit
        # is result>0 (its ASCII code), a hang-up -1, a dead channel 511.
        self._key_from_agi(reply)
        finished = reply.ok and reply.result == "0"
        if self._prompt_stopping or not finished or not self._prompt:
            self._prompt_over(stopped=self._prompt_stopping or not finished)

    def _prompt_over(self, *, stopped: bool) -> None:
        interrupted = self._prompt_stopping
        self._prompt = None
        self._confirm = None
        self._prompt_stopping = False
        if not self.hung_up and not interrupted and self._ring is None:
            # STREAM FILE stops music on hold for good (S9): put it back. Not when we stopped
            # the prompt: a ring follows (Dial's `m` plays music, and a failed ring restores it)
            # or the caller leaves, and the ring must not wait for one more round trip.
            self._queue(Step.SET_UP, _music(self._audio, self._timings))
        self._post(PromptEnded(at=self._at, call_id=self.call_id))
        self._note("prompt_ended", "stopped" if stopped else "finished")

    # ------------------------------------------------------------------ callback number

    # The confirmation rule: the number is read back (SAY DIGITS) and the caller answers with
    # 1 (accept: CallbackNumberConfirmed) or 2 (GET DATA: they type another, ending with #, and
    # it is read back in turn). Its keys come in the parts' AGI replies (escape digits "12"),
    # so they are not posted as CallerKeyPressed; their DTMFEnd twins are dropped.

    def _confirm_part_ended(self, confirm: _Confirmation, reply: AgiReply) -> None:
        assert self._prompt is not None
        self._ami_key_in_part = None
        result = reply.result or ""
        if self._prompt_stopping or not reply.ok or result == "-1":
            self._prompt_over(stopped=True)  # a ring, the caller leaving, or a hang-up
            return
        if confirm.typing:
            confirm.typing = False
            # `200 result=<digits>`, with ` (timeout)` when no '#' came: what was typed counts.
            if result and all(ch in DTMF_DIGITS for ch in result):
                confirm.number, confirm.typed = result, True
                self._ask(confirm, confirm_lines(result))
            else:
                self._ask(confirm, [typing_line()], typing=True)
            return
        code = int(result) if result.isdigit() else 0
        digit = chr(code) if 0 < code < 128 else ""
        if digit:
            self._agi_key = (digit, self._at)  # its DTMFEnd, if it comes after, is this key
        if digit == ACCEPT_KEY:
            self._prompt.clear()
            self._prompt_over(stopped=False)  # music back, PromptEnded first
            self._note("callback_number_confirmed", "typed" if confirm.typed else "caller id")
            self._post(
                CallbackNumberConfirmed(
                    at=self._at, call_id=self.call_id, number=confirm.number, typed=confirm.typed
                )
            )
            return
        if digit == RETYPE_KEY:
            self._ask(confirm, [typing_line()], typing=True)
            return
        if digit:
            self._note("agi_digit_unexpected", reply.text, peer_fault=True)
        if not self._prompt:
            # The question went unanswered (the silence after it ran out): ask again.
            self._ask(confirm, confirm_lines(confirm.number))

    def _ask(self, confirm: _Confirmation, lines: list[str], *, typing: bool = False) -> None:
        """The dialog's next question, unless it was asked often enough: then it ends and the
        caller keeps waiting (music back)."""
        assert self._prompt is not None
        confirm.questions += 1
        if confirm.questions > CONFIRM_QUESTIONS:
            self._note("callback_number_unconfirmed", confirm.number)
            self._prompt.clear()
            self._prompt_over(stopped=False)
            return
        confirm.typing = typing
        self._prompt = deque(lines)

    # ------------------------------------------------------------------ keys

    # The key rule: each key a waiting caller presses is posted once as CallerKeyPressed. A key
    # that ends a prompt part comes twice, from AGI (the reply) and AMI (DTMFEnd), in either
    # order; any other key comes from AMI alone (S14).

    def _key_from_agi(self, reply: AgiReply) -> None:
        ami_key, self._ami_key_in_part = self._ami_key_in_part, None
        result = reply.result or ""
        if not reply.ok or not result.isdigit() or result == "0":
            return
        code = int(result)
        digit = chr(code) if code < 128 else ""
        if not digit or digit not in DTMF_DIGITS:
            self._note("agi_digit_unexpected", reply.text, peer_fault=True)
            return
        if digit == ami_key:
            return  # DTMFEnd came first and was posted
        self._agi_key = (digit, self._at)
        self._key(digit, during_prompt=True)

    def _key_from_ami(self, digit: str) -> None:
        if len(digit) != 1 or digit not in DTMF_DIGITS:
            self._note("ami_digit_unexpected", repr(digit[:8]), peer_fault=True)
            return
        if self._confirm is not None:
            return  # the dialog's parts take its keys (their AGI replies carry them)
        twin, self._agi_key = self._agi_key, None
        if twin is not None and twin[0] == digit and self._at - twin[1] <= KEY_TWIN_WINDOW_S:
            return  # the AGI reply already posted this key
        during_prompt = self._in_flight is Step.PROMPT_PART
        if during_prompt and digit in self._audio.keys:
            # The part's reply may carry it too (even one we are interrupting): posted once.
            self._ami_key_in_part = digit
        self._key(digit, during_prompt=during_prompt)

    def _key(self, digit: str, *, during_prompt: bool) -> None:
        if self.phase is not LegPhase.WAITING or self.hung_up:
            return  # not in the queue (setting up, ringing, leaving): no offer to answer
        self._post(
            CallerKeyPressed(
                at=self._at, call_id=self.call_id, digit=digit, during_prompt=during_prompt
            )
        )

    # ------------------------------------------------------------------ ringing

    def _on_ring(self, command: RingAgent) -> None:
        if self.phase not in (LegPhase.SETTING_UP, LegPhase.WAITING):
            self._note("ring_for_a_leg_not_waiting", self.phase.value)
            return
        self._ring = command
        self._pending = deque(p for p in self._pending if not p.waiting_only)
        self._stop_prompt()
        self._send_next()

    def _dial(self, command: RingAgent) -> None:
        self._move(LegPhase.RINGING)
        self._ringing_agent = command.agent_id
        self._answered_posted = False
        self._dial_status = ""
        timeout = max(1, round(command.ring_timeout_s))
        t = self._timings
        # One line at a time, each once the previous is answered: res_agi reads commands with
        # fgets() on a buffered stream, then poll()s the socket, so a Dial written right behind
        # the SET (same read()) sat unseen until acd closed the session, 30 s later, on Asterisk
        # 22.10.1 (strace). pbxsim models that stdio buffer.
        self._queue(
            Step.DIAL,
            SendAgi(
                command_line("EXEC", "Dial", word(f"{command.endpoint},{timeout},m")),
                timeout + t.dial_margin_s,
                announce=LegNote("agent_rung", f"{command.agent_id} {command.endpoint}"),
            ),
        )
        self._send_next()

    def _dial_returned(self, reply: AgiReply) -> None:
        if self.transferred:
            # Blind transfer (S12 a): the caller continues at the REFER target once we let go.
            self._dial_settled()
            return
        self._in_flight = Step.DIAL_STATUS
        self._out.append(_get("DIALSTATUS", self._timings))

    def _dial_status_read(self, reply: AgiReply) -> None:
        status = (reply.data or "") if reply.ok and reply.result != "0" else ""
        self._dial_status = status
        if status == "ANSWER" and self.hung_up and not self.transferred:
            # A blind transfer returns Dial with 0 then HANGUP, before or after AMI's
            # BlindTransfer (S12 a): the channel variable settles it, and GET VARIABLE works on a
            # dead channel.
            self._in_flight = Step.BLIND_TRANSFERER
            self._out.append(_get("BLINDTRANSFER", self._timings))
            return
        self._dial_settled()

    def _dial_settled(self) -> None:
        """The Dial is over and its outcome known: tell the engine, then go on or leave."""
        agent_id = self._ringing_agent or ""
        status = self._dial_status
        self._ringing_agent = None
        if self.transferred:
            self._close("transferred")
            return
        if status == "ANSWER":
            self._answered_once(agent_id)
            self._post(CallEnded(at=self._at, call_id=self.call_id))
            # The conversation happened: DIALSTATUS=ANSWER tells the dialplan to hang up, whether
            # the caller is still up (the advisor hung up first) or not.
            self._close("conversation over")
            return
        if status in _NOT_ANSWERED and not self.hung_up:
            self._not_answered(agent_id, _NOT_ANSWERED[status])
            self._move(LegPhase.WAITING)
            # Dial's `m` leaves music off once a channel was created (S9): put it back, and the
            # queue's language if the ring came before it was set.
            self._waiting_set_up()
            self._send_next()
            return
        # CANCEL (caller gone while ringing), a dead session, or a Dial that failed outright.
        if self.hung_up or status == "CANCEL":
            self._post(CallerHungUp(at=self._at, call_id=self.call_id))
            self._close("caller hung up while ringing")
            return
        self._note("dial_status_unexpected", f"{agent_id} {status!r}", peer_fault=bool(status))
        self._not_answered(agent_id, DialStatus.CONGESTION)
        self._move(LegPhase.WAITING)
        self._send_next()

    # ------------------------------------------------------------------ AMI

    def _on_dial_answered(self, agent_id: str) -> None:
        if self.phase is LegPhase.RINGING and agent_id == self._ringing_agent:
            self._answered_once(agent_id)

    def _answered_once(self, agent_id: str) -> None:
        """The answer rule: AMI's DialEnd or the Dial's return, whichever says it first, posts
        ``AgentAnswered``; the other says nothing."""
        if not self._answered_posted:
            self._answered_posted = True
            self._post(AgentAnswered(at=self._at, call_id=self.call_id, agent_id=agent_id))

    def _not_answered(self, agent_id: str, status: DialStatus) -> None:
        self._post(
            AgentDidNotAnswer(
                at=self._at, call_id=self.call_id, agent_id=agent_id, dial_status=status
            )
        )

    def _on_transferred(self, agent_id: str, target: str) -> None:
        if self.phase is LegPhase.ENDED:
            return
        self._mark_transferred(agent_id, target)

    def _mark_transferred(self, agent_id: str, target: str) -> None:
        if self.transferred:
            return
        self.transferred = True
        self._note("call_transferred", f"{agent_id} {target}")
        self._post(
            CallTransferred(at=self._at, call_id=self.call_id, agent_id=agent_id, target=target)
        )

    # ------------------------------------------------------------------ the caller goes

    def _on_hangup(self) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        if self.phase is LegPhase.WAITING:
            self._caller_gone()
        elif self.phase is LegPhase.SETTING_UP and self._in_flight is None:
            self._after_reply()
        # Ringing: the Dial's return settles it. Setting up: CallArrived then CallerHungUp once
        # the command in flight returns. Leaving: the last commands still run on a dead channel.

    def _caller_gone(self) -> None:
        if not self.transferred:
            self._post(CallerHungUp(at=self._at, call_id=self.call_id))
        self._close("caller hung up")

    def _on_session_lost(self, reason: str) -> None:
        self._in_flight = None
        match self.phase:
            case LegPhase.ENDED:
                return
            case LegPhase.SETTING_UP:
                # The engine never heard of this caller: the dialplan's fallback takes them.
                self._note("inbound_setup_failed", reason)
                self._move(LegPhase.ENDED)
                self._out.append(CloseSession(reason))
                return
            case LegPhase.RINGING:
                agent_id = self._ringing_agent or ""
                self._ringing_agent = None
                if not self.transferred:
                    # The socket broke on Asterisk's side (or the network's) while the phone
                    # rang: nobody knows how the ring ended, so it is not the advisor's miss
                    # (a miss is a Dial that returned NOANSWER, BUSY...). The caller is gone
                    # from the engine; the advisor is released untouched.
                    self._note("dial_session_lost", f"{agent_id}: {reason}", peer_fault=True)
                    if self._answered_posted:
                        self._post(CallEnded(at=self._at, call_id=self.call_id))
                        self._close(reason)
                        return
                self._caller_gone()
            case LegPhase.WAITING:
                self._caller_gone()
            case LegPhase.LEAVING:
                self._close(reason)

    def _on_overflow(self, command: OverflowCall) -> None:
        kind, _, target = command.target.partition(":")
        if kind == "extension" and target:
            if not self._leave(f"overflow to {target}: {command.reason}"):
                return
            t = self._timings
            self._queue(Step.LEAVE, _set(OVERFLOW_VARIABLE, target, t))
            self._queue(Step.LEAVE, _set(STATE_VARIABLE, "overflow", t))
            self._note("call_overflowed", f"{target} {command.reason}")
            self._send_next()
            return
        self._on_end(command.reason)

    def _on_end(
        self, reason: str, *, closed_message: bool = False, reopens_at: float | None = None
    ) -> None:
        if not self._leave(reason):
            return
        t = self._timings
        self._note("call_ended_by_acd", reason)
        self._queue(Step.LEAVE, _set(STATE_VARIABLE, "done", t))
        if closed_message and not self.hung_up:
            audio = self._audio
            for line in closed_lines(audio.language, audio.timezone, reopens_at):
                self._queue(Step.LEAVE, SendAgi(line, t.prompt_part_s))
        if reason == "callback_requested" and not self.hung_up:
            # The caller chose a callback: they hear it is taken, then goodbye.
            self._queue(
                Step.LEAVE,
                SendAgi(
                    command_line("STREAM FILE", "acd-callback-confirmed", quoted("")),
                    t.prompt_part_s,
                ),
            )
        if not self.hung_up:
            self._queue(
                Step.LEAVE,
                SendAgi(command_line("STREAM FILE", "vm-goodbye", quoted("")), t.prompt_part_s),
            )
            self._queue(Step.LEAVE, SendAgi("HANGUP", t.command_s))
        self._send_next()

    def _leave(self, reason: str) -> bool:
        """The engine ends the call: drop what was planned, stop the prompt, then leave."""
        if self.phase not in (LegPhase.SETTING_UP, LegPhase.WAITING):
            self._note("leave_for_a_leg_not_waiting", f"{self.phase.value}: {reason}")
            return False
        self._pending.clear()
        self._ring = None
        self._stop_prompt()
        self._move(LegPhase.LEAVING)
        return True

    # ------------------------------------------------------------------ plumbing

    def _move(self, to: LegPhase) -> None:
        if to not in TRANSITIONS[self.phase]:
            raise LegMisuseError(f"leg {self.call_id}: {self.phase.value} → {to.value}")
        self.phase = to

    def _close(self, reason: str) -> None:
        if self.phase is not LegPhase.ENDED:
            self._move(LegPhase.ENDED)
        self._pending.clear()
        self._out.append(CloseSession(reason))

    def _queue(self, step: Step, action: SendAgi, *, waiting_only: bool = False) -> None:
        self._pending.append(_Pending(step, action, waiting_only))

    def _post(self, event: Event) -> None:
        self._out.append(PostEvent(event))

    def _note(self, event: str, detail: str = "", *, peer_fault: bool = False) -> None:
        self._out.append(LegNote(event, detail, peer_fault))

    def _flush(self) -> list[LegOutput]:
        out, self._out = self._out, []
        return out
