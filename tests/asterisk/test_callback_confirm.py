"""The callback number's confirmation in the pure leg: read back, 1 to accept, 2 to type another.

Replies are Asterisk 22's as S14 recorded them for STREAM FILE with escape digits and GET DATA
(``200 result=49 endpos=N``, ``200 result=34``); SAY DIGITS answers ``200 result=<ASCII>`` with
no endpos (res_agi.c handle_saydigits; not recorded).
"""

from __future__ import annotations

from acd.asterisk.agi_codec import AgiReply, parse_reply_line
from acd.asterisk.call_leg import CONFIRM_QUESTIONS, AgiReplied, KeyHeard
from acd.asterisk.prompts import TYPING_MAX_DIGITS
from acd.core.commands import PlayPrompt, RingAgent
from acd.core.events import CallbackNumberConfirmed, CallerKeyPressed, PromptEnded
from tests.asterisk.test_call_leg import Replay, keyed

READ_BACK = [
    'STREAM FILE acd-callback-number "12"',
    'SAY DIGITS 0612345678 "12"',
    'STREAM FILE acd-callback-confirm "12"',
    'STREAM FILE silence/5 "12"',
]


def reply(replay: Replay, text: str, at: float = 0.0) -> None:
    """Asterisk answers the command in flight with ``text`` (a `200 result=…` line)."""
    assert replay._pending, "nothing in flight"
    replay._pending.pop()
    replay.feed(AgiReplied(parse_reply_line(text)), at)


def confirming(digits: str = "0612345678") -> Replay:
    replay = keyed("1")
    replay.posted.clear()
    replay.feed(PlayPrompt("1.1", "callback_confirm", 0, 0, digits=digits), 10.0)
    return replay


def confirmations(replay: Replay) -> list[tuple[str, bool]]:
    return [(e.number, e.typed) for e in replay.posted if isinstance(e, CallbackNumberConfirmed)]


def test_the_number_is_read_back_and_1_during_say_digits_accepts_it() -> None:
    """The number is read back with SAY DIGITS; 1 during it confirms the caller's own number:
    the prompt ends first, music comes back, and no key reaches the engine (nor its DTMFEnd)."""
    replay = confirming()
    assert replay.sent[-1] == READ_BACK[0]
    reply(replay, "200 result=0 endpos=12000", 11.0)
    assert replay.sent[-1] == READ_BACK[1]
    reply(replay, "200 result=49", 12.0)
    replay.feed(KeyHeard("1"), 12.001)
    assert replay.sent[-1] == "SET MUSIC ON default"
    assert [type(e) for e in replay.posted] == [PromptEnded, CallbackNumberConfirmed]
    assert confirmations(replay) == [("0612345678", False)]


def test_2_lets_the_caller_type_another_number_which_is_read_back_in_turn() -> None:
    """2 asks for another number (GET DATA, # ends it, each digit given time); the typed number
    is read back and 1 confirms it (``typed``)."""
    replay = confirming()
    for line in READ_BACK[:2]:
        assert replay.sent[-1] == line
        reply(replay, "200 result=0 endpos=8000" if "STREAM" in line else "200 result=0")
    reply(replay, "200 result=50 endpos=4000")  # 2 during the question
    replay.feed(KeyHeard("2"))
    assert replay.sent[-1] == "GET DATA acd-callback-enter-number 6000 20"
    assert replay._pending[-1].reply_within_s >= TYPING_MAX_DIGITS * 6
    for digit in "0145678901#":
        replay.feed(KeyHeard(digit))  # DTMFEnd of each typed key: the GET DATA takes them
    reply(replay, "200 result=0145678901")
    assert replay.sent[-1] == 'STREAM FILE acd-callback-number "12"'
    reply(replay, "200 result=0 endpos=12000")
    assert replay.sent[-1] == 'SAY DIGITS 0145678901 "12"'
    reply(replay, "200 result=0")
    reply(replay, "200 result=49 endpos=100")
    assert confirmations(replay) == [("0145678901", True)]
    assert not [e for e in replay.posted if isinstance(e, CallerKeyPressed)]


def test_nothing_typed_asks_again_then_gives_up() -> None:
    """GET DATA that times out with no digit asks again; an unanswered question is asked again;
    after CONFIRM_QUESTIONS the dialog ends with music and no number (the caller keeps waiting)."""
    replay = confirming()
    reply(replay, "200 result=50 endpos=100")
    asked = 1
    while replay.sent[-1] != "SET MUSIC ON default":
        line = replay.sent[-1]
        if line.startswith("GET DATA"):
            asked += 1
            reply(replay, "200 result= (timeout)")
        else:
            reply(replay, "200 result=0 endpos=8000" if "STREAM" in line else "200 result=0")
        assert asked <= CONFIRM_QUESTIONS
    assert asked == CONFIRM_QUESTIONS
    assert confirmations(replay) == []
    assert [type(e) for e in replay.posted] == [PromptEnded]


def test_an_unanswered_question_is_read_back_again() -> None:
    """The silence after the question runs out: the number is read back once more."""
    replay = confirming()
    for line in READ_BACK:
        assert replay.sent[-1] == line
        reply(replay, "200 result=0 endpos=8000" if "STREAM" in line else "200 result=0")
    assert replay.sent[-1] == READ_BACK[0]
    assert replay.posted == []


def test_a_ring_interrupts_the_confirmation_and_the_dial_follows() -> None:
    """An advisor freed during the dialog: it is interrupted like any prompt and the caller is
    rung at once; no number is confirmed."""
    replay = confirming()
    reply(replay, "200 result=0 endpos=12000")
    assert replay.sent[-1] == READ_BACK[1]
    replay.feed(RingAgent("1.1", "agent1", "PJSIP/agent1", 15))
    assert replay.interrupts == 1
    reply(replay, "200 result=0")  # the NOOP's: res_agi wrote none for the stopped SAY DIGITS
    assert replay.sent[-1] == "EXEC Dial PJSIP/agent1,15,m"
    assert confirmations(replay) == []
    assert [type(e) for e in replay.posted] == [PromptEnded]


def test_an_announcement_during_the_confirmation_is_skipped() -> None:
    """A periodic announcement asked for during the dialog is not played (it would cut the
    dialog short): it ends at once; keys from AMI during the dialog reach no one."""
    replay = confirming()
    replay.feed(PlayPrompt("1.1", "position", 3, 0))
    replay.feed(KeyHeard("7"))
    assert [type(e) for e in replay.posted] == [PromptEnded]
    assert replay.sent[-1] == READ_BACK[0]
    reply(replay, "200 result=49 endpos=10")
    assert confirmations(replay) == [("0612345678", False)]


def test_a_confirmation_without_digits_ends_at_once() -> None:
    """No number to read back (the engine's bug, or a caller ID made of no digit): the prompt
    ends at once and nothing is sent."""
    replay = confirming(digits="")
    assert [type(e) for e in replay.posted] == [PromptEnded]
    assert not replay._pending


def test_a_hang_up_during_the_confirmation_ends_it() -> None:
    """`200 result=-1` (hang-up) during the read-back ends the dialog without a number."""
    replay = confirming()
    reply(replay, "200 result=-1 endpos=10")
    assert confirmations(replay) == []


def test_the_replies_are_parsed_as_recorded() -> None:
    """S14's GET DATA reply `200 result=34` is the digits, `200 result= (timeout)` none."""
    assert parse_reply_line("200 result=34") == AgiReply(200, "34", text="200 result=34")
    timeout = parse_reply_line("200 result= (timeout)")
    assert (timeout.result, timeout.data) == ("", "timeout")


def test_a_closed_queues_offer_says_the_reopening_then_offers_and_takes_the_key() -> None:
    """``callback_offer_closed``: closed, the reopening (SAY DATETIME), the offer, each part
    ended by the queue's keys; 1 during the reopening is posted for the engine."""
    replay = keyed("1")
    replay.posted.clear()
    replay.feed(PlayPrompt("1.1", "callback_offer_closed", 0, 0, reopens_at=1796196600.0), 5.0)
    assert replay.sent[-1] == 'STREAM FILE acd-closed "1"'
    reply(replay, "200 result=0 endpos=9000", 6.0)
    assert replay.sent[-1] == 'STREAM FILE acd-reopens "1"'
    reply(replay, "200 result=0 endpos=9000", 7.0)
    assert replay.sent[-1] == 'SAY DATETIME 1796196600 "1" "AdB \'digits/at\' kM" Europe/Paris'
    reply(replay, "200 result=0", 8.0)
    assert replay.sent[-1] == 'STREAM FILE acd-callback-offer-closed "1"'
    reply(replay, "200 result=49 endpos=3000", 9.0)
    replay.feed(KeyHeard("1"), 9.001)
    assert [
        (e.digit, e.during_prompt) for e in replay.posted if isinstance(e, CallerKeyPressed)
    ] == [("1", True)]
