"""Callbacks in the core: the caller's place kept, reservation, retries, cancellation."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.callbacks import CallbackPolicy, NumberVerdict, check_number, dial_form
from acd.core.errors import ConfigError, IllegalTransitionError
from acd.core.states import Activity, CallState, Outcome
from tests.core.helpers import NO_WORKLOAD, Harness, agent, config, of_type, queue, rings

POLICY = CallbackPolicy(max_attempts=2, retry_spacing_s=60.0, give_up_after_s=600.0)


def reserves(commands: list[cmd.Command]) -> list[tuple[str, str]]:
    """(call_id, agent_id) of every ReserveAgent, in order."""
    return [(c.call_id, c.agent_id) for c in of_type(commands, cmd.ReserveAgent)]


def harness(policy: CallbackPolicy = POLICY) -> Harness:
    cfg = config(
        [queue("sales", announce_interval_s=None)],
        [agent("a1")],
        workload=NO_WORKLOAD,
        callbacks=policy,
    )
    return Harness.of(cfg)


def request(h: Harness, call_id: str = "cb1", **kw: object) -> list[cmd.Command]:
    return h.send(ev.CallbackRequested, call_id=call_id, queue="sales", number="+33612345678", **kw)


def test_callback_keeps_the_callers_place_in_line() -> None:
    """A callback requested by a caller who arrived at t=10 is served before a caller of t=20."""
    h = harness()
    h.at(10).arrive("c10")
    h.at(20).arrive("c20")
    out = h.at(30).send(
        ev.CallbackRequested,
        call_id="cb1",
        queue="sales",
        number="+33612345678",
        from_call_id="c10",
    )
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.call_id, summary.outcome) == ("c10", Outcome.CALLBACK_REQUESTED)
    out = h.at(40).login("a1")
    assert reserves(out) == [("cb1", "a1")]
    assert rings(out) == []
    assert h.engine.agent_view("a1").reason == "callback"


def test_callback_keeps_priority_over_later_callers() -> None:
    """The callback keeps its caller's priority: a VIP's callback beats earlier plain callers."""
    h = harness()
    h.at(5).arrive("c5")
    h.at(10).arrive("vip", priority=5)
    request(h, from_call_id="vip")
    out = h.at(40).login("a1")
    assert reserves(out) == [("cb1", "a1")]


def test_requested_callback_is_offered_not_answered_nor_abandoned() -> None:
    """The inbound call counts as offered, and neither answered nor abandoned."""
    h = harness()
    h.at(1).arrive("c1")
    request(h.at(9), from_call_id="c1")
    view = h.engine.queue_view("sales")
    assert (view.offered, view.answered, view.abandoned) == (1, 0, 0)
    assert view.callbacks_requested == 1


def test_only_a_waiting_caller_can_ask_for_a_callback() -> None:
    """A caller whose advisor is ringing cannot turn into a callback (nothing changes)."""
    h = harness()
    h.login("a1")
    h.arrive("c1")
    with pytest.raises(IllegalTransitionError):
        request(h, from_call_id="c1")
    assert h.engine.call_view("c1").state is CallState.PRESENTED


def test_connected_callback_counts_completed_within_its_service_level() -> None:
    """A callback connected within callback_sl_s of its due time counts within its SL."""
    h = harness()
    h.at(1).arrive("c1")
    request(h.at(9), from_call_id="c1")
    h.at(100).login("a1")
    out = h.at(110).send(ev.AgentAnswered, call_id="cb1", agent_id="a1")
    states = [c.state for c in of_type(out, cmd.RecordCallback)]
    assert states == ["connected"]
    view = h.engine.queue_view("sales")
    assert (view.callbacks_completed, view.callbacks_within_sl, view.answered) == (1, 1, 0)
    h.at(200).send(ev.CallEnded, call_id="cb1")
    out = h.fire("wrap_up:a1:")
    assert [c.state for c in of_type(out, cmd.RecordCallback)] == ["completed"]
    assert h.engine.callbacks() == ()
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.outcome, summary.reason, summary.answered_within_sl) == (
        Outcome.COMPLETED,
        "callback",
        True,
    )


def test_failed_attempt_releases_the_advisor_and_retries_after_the_spacing() -> None:
    """A busy customer frees the advisor at once; the callback is back in line 60 s later."""
    h = harness()
    h.login("a1")
    request(h.at(0))
    out = h.at(20).send(ev.ReservationReleased, call_id="cb1", reason="busy")
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    assert [c.state for c in of_type(out, cmd.RecordCallback)] == ["pending"]
    assert h.engine.callbacks()[0].state is CallState.SCHEDULED
    assert h.engine.callbacks()[0].due_at == 80.0
    out = h.fire("due:cb1:")
    assert h.t == 80.0
    assert reserves(out) == [("cb1", "a1")]
    assert h.engine.callbacks()[0].attempts == 2


def test_callback_gives_up_after_its_attempts() -> None:
    """After max_attempts failed attempts the callback ends ``failed`` and is counted."""
    h = harness()
    h.login("a1")
    request(h.at(0))
    h.at(20).send(ev.ReservationReleased, call_id="cb1", reason="busy")
    h.fire("due:cb1:")
    out = h.at(100).send(ev.ReservationReleased, call_id="cb1", reason="no_answer")
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.outcome, summary.reason) == (Outcome.FAILED, "no_answer")
    assert h.engine.queue_view("sales").callbacks_failed == 1
    assert h.engine.callbacks() == ()
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE


def test_callback_gives_up_at_its_give_up_time() -> None:
    """A callback still pending at its give-up time ends ``failed`` (``gave_up``)."""
    h = harness()
    request(h.at(0))
    out = h.fire("give_up:cb1:")
    assert h.t == 600.0
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.outcome, summary.reason) == (Outcome.FAILED, "gave_up")


def test_scheduled_callback_enters_the_line_at_its_time() -> None:
    """A callback scheduled for t=500 is not attempted before, and enters the line then."""
    h = harness(CallbackPolicy(give_up_after_s=None))
    h.login("a1")
    out = request(h.at(0), due_at=500.0)
    assert reserves(out) == []
    assert h.engine.callbacks()[0].state is CallState.SCHEDULED
    out = h.fire("due:cb1:")
    assert reserves(out) == [("cb1", "a1")]


def test_cancelled_callback_releases_its_advisor() -> None:
    """Cancelling a callback being attempted frees the advisor and ends it ``cancelled``."""
    h = harness()
    h.login("a1")
    request(h)
    out = h.at(3).send(ev.CallbackCancelled, call_id="cb1", reason="supervisor")
    assert h.engine.agent_view("a1").activity is Activity.AVAILABLE
    summary = of_type(out, cmd.CallCompleted)[0]
    assert (summary.outcome, summary.reason) == (Outcome.CANCELLED, "supervisor")
    assert [c.state for c in of_type(out, cmd.RecordCallback)] == ["cancelled"]
    h.engine.check_indexes()


def test_reprioritised_callback_moves_ahead() -> None:
    """A supervisor raises a pending callback's priority: it goes before an earlier caller."""
    h = harness()
    h.at(1).arrive("c1")
    request(h.at(2))
    h.at(3).send(ev.CallbackReprioritised, call_id="cb1", priority=9)
    out = h.at(4).login("a1")
    assert reserves(out) == [("cb1", "a1")]


def test_restored_callback_keeps_its_place_and_attempts() -> None:
    """A callback rebuilt after a restart keeps its arrival time and attempts made."""
    h = harness()
    h.at(100).arrive("c100")
    request(h.at(110), arrived_at=50.0, requested_at=60.0, attempts=1)
    assert h.engine.queue_view("sales").callbacks_requested == 0  # not a new request
    out = h.at(120).login("a1")
    assert reserves(out) == [("cb1", "a1")]
    assert h.engine.callbacks()[0].attempts == 2


def test_callback_counts_per_number_per_day() -> None:
    """Requests are counted per number for the daily limit, and the count starts again daily."""
    h = harness()
    request(h, "cb1")
    request(h, "cb2")
    assert h.engine.callbacks_today("+33612345678") == 2
    h.send(ev.DayRolledOver)
    assert h.engine.callbacks_today("+33612345678") == 0


@pytest.mark.parametrize(
    ("number", "verdict"),
    [
        ("06 12 34 56 78", NumberVerdict.ACCEPTED),
        ("+33612345678", NumberVerdict.ACCEPTED),
        ("0033612345678", NumberVerdict.ACCEPTED),
        ("anonymous", NumberVerdict.WITHHELD),
        ("", NumberVerdict.WITHHELD),
        ("3949", NumberVerdict.INVALID),
        ("06-12-ab", NumberVerdict.INVALID),
        ("0899123456", NumberVerdict.PREMIUM),
        ("+441632960000", NumberVerdict.FOREIGN),
    ],
)
def test_numbers_a_callback_may_call(number: str, verdict: NumberVerdict) -> None:
    """Withheld, invalid, premium-rate and foreign numbers are refused, each with its reason."""
    assert check_number(number, CallbackPolicy())[0] is verdict


def test_accepted_number_is_dialed_in_national_form() -> None:
    """An accepted French number is dialed with the trunk prefix; a foreign one with 00."""
    policy = CallbackPolicy(allow_foreign=True)
    assert check_number("06 12 34 56 78", policy) == (NumberVerdict.ACCEPTED, "+33612345678")
    assert dial_form("+33612345678", policy) == "0612345678"
    assert dial_form("+441632960000", policy) == "00441632960000"


def test_policy_refuses_nonsense() -> None:
    """An invalid callback policy never exists: the field is named."""
    with pytest.raises(ConfigError, match="max_attempts"):
        CallbackPolicy(max_attempts=0)
    with pytest.raises(ConfigError, match="premium_prefixes"):
        CallbackPolicy(premium_prefixes=("0899",))


def offering(**queue_kw: object) -> Harness:
    cfg = config(
        [queue("sales", announce_interval_s=None, **queue_kw)],
        [agent("a1")],
        workload=NO_WORKLOAD,
        callbacks=POLICY,
    )
    return Harness.of(cfg)


def prompts(commands: list[cmd.Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.kind) for c in of_type(commands, cmd.PlayPrompt)]


def test_callback_is_offered_after_the_queues_delay() -> None:
    """A caller still waiting after callback_offer_after_s hears the offer, once."""
    h = offering(callback_offer_after_s=60.0)
    h.arrive("c1", caller_number="0612345678")
    out = h.fire("offer:c1:")
    assert h.t == 60.0
    assert prompts(out) == [("c1", "callback_offer")]
    assert not [t for t in h.engine.pending_timers() if t.startswith("offer:")]


def test_callback_is_offered_at_once_when_the_expected_wait_is_long() -> None:
    """With an expected wait over callback_offer_wait_s the offer comes on arrival."""
    h = offering(callback_offer_wait_s=120.0, expected_handle_s=300.0)
    out = h.arrive("c1", caller_number="0612345678")
    assert prompts(out) == [("c1", "callback_offer")]


def test_key_after_the_offer_reads_the_number_back_before_choosing() -> None:
    """The offer's key asks the leg to read the caller's number back (national form); nothing
    is chosen until the caller confirms it."""
    h = offering(callback_offer_after_s=10.0)
    h.arrive("c1", caller_number="+33 6 12 34 56 78", caller_name="Zoé")
    h.fire("offer:c1:")
    assert h.at(12).send(ev.CallerKeyPressed, call_id="c1", digit="2") == []
    out = h.at(13).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    (confirm,) = of_type(out, cmd.PlayPrompt)
    assert (confirm.call_id, confirm.kind, confirm.digits) == (
        "c1",
        "callback_confirm",
        "0612345678",
    )
    assert of_type(out, cmd.CallbackChosen) == []
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_confirmed_number_chooses_the_callback_and_ends_the_call() -> None:
    """The confirmed number asks the runtime to check it; CallbackRequested then ends the call
    (EndCall callback_requested: the leg confirms and says goodbye)."""
    h = offering(callback_offer_after_s=10.0)
    h.arrive("c1", caller_number="06 12 34 56 78", caller_name="Zoé")
    h.fire("offer:c1:")
    h.at(13).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    out = h.at(18).send(ev.CallbackNumberConfirmed, call_id="c1", number="0612345678")
    (chosen,) = of_type(out, cmd.CallbackChosen)
    assert (chosen.callback_id, chosen.number, chosen.name) == ("c1-cb", "+33612345678", "Zoé")
    out = h.at(19).send(
        ev.CallbackRequested,
        call_id="c1-cb",
        queue="sales",
        number="+33612345678",
        from_call_id="c1",
    )
    assert [(c.call_id, c.reason) for c in of_type(out, cmd.EndCall)] == [
        ("c1", "callback_requested")
    ]


def test_typed_number_is_called_back_instead_of_the_caller_id() -> None:
    """A number the caller typed (and confirmed) is the one the callback calls."""
    h = offering(callback_offer_after_s=10.0)
    h.arrive("c1", caller_number="0612345678")
    h.fire("offer:c1:")
    h.at(13).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    out = h.at(25).send(ev.CallbackNumberConfirmed, call_id="c1", number="0145678901", typed=True)
    (chosen,) = of_type(out, cmd.CallbackChosen)
    assert chosen.number == "+33145678901"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("0899123456", "premium"), ("0044201234567", "foreign"), ("12", "invalid")],
)
def test_typed_numbers_are_checked_like_caller_ids(typed: str, reason: str) -> None:
    """A typed premium-rate, foreign or short number is refused with its message; the caller
    keeps their place and may try again."""
    h = offering(callback_offer_after_s=10.0)
    h.arrive("c1", caller_number="0612345678")
    h.fire("offer:c1:")
    h.at(13).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    out = h.at(25).send(ev.CallbackNumberConfirmed, call_id="c1", number=typed, typed=True)
    assert prompts(out) == [("c1", f"callback_refused_{reason}")]
    assert of_type(out, cmd.CallbackChosen) == []
    assert h.engine.call_view("c1").state is CallState.WAITING
    out = h.at(30).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    assert prompts(out) == [("c1", "callback_confirm")]


def test_confirmation_without_an_offer_does_nothing() -> None:
    """A confirmation for a caller never offered a callback (or already served) is ignored."""
    h = offering(callback_offer_after_s=60.0)
    h.arrive("c1", caller_number="0612345678")
    assert h.at(5).send(ev.CallbackNumberConfirmed, call_id="c1", number="0612345678") == []


def test_key_without_an_offer_does_nothing() -> None:
    """A caller who was not offered a callback presses 1: nothing happens."""
    h = offering(callback_offer_after_s=60.0)
    h.arrive("c1", caller_number="0612345678")
    assert h.at(5).send(ev.CallerKeyPressed, call_id="c1", digit="1") == []


@pytest.mark.parametrize(
    ("number", "reason"),
    [("anonymous", "withheld"), ("0899123456", "premium"), ("+441632960000", "foreign")],
)
def test_refused_numbers_hear_why_and_keep_waiting(number: str, reason: str) -> None:
    """A withheld, premium-rate or foreign caller ID is refused with its own message."""
    h = offering(callback_offer_after_s=10.0)
    h.arrive("c1", caller_number=number)
    h.fire("offer:c1:")
    out = h.at(11).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    assert prompts(out) == [("c1", f"callback_refused_{reason}")]
    assert of_type(out, cmd.CallbackChosen) == []
    assert h.engine.call_view("c1").state is CallState.WAITING


def test_daily_limit_per_number_refuses_the_next_request() -> None:
    """Once a number reached its daily limit, its next choice is refused (``limit``)."""
    h = offering(callback_offer_after_s=10.0)
    for i in range(POLICY.daily_limit_per_number):
        request(h, f"cb{i}")
    h.arrive("c1", caller_number="0612345678")
    h.fire("offer:c1:")
    h.at(11).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    out = h.at(15).send(ev.CallbackNumberConfirmed, call_id="c1", number="0612345678")
    assert prompts(out) == [("c1", "callback_refused_limit")]


def test_number_on_the_do_not_call_list_is_refused() -> None:
    """CallbackRefused (the runtime found an opposition): the caller hears it and keeps waiting."""
    h = offering(callback_offer_after_s=10.0)
    h.arrive("c1", caller_number="0612345678")
    h.fire("offer:c1:")
    h.at(11).send(ev.CallerKeyPressed, call_id="c1", digit="1")
    h.at(15).send(ev.CallbackNumberConfirmed, call_id="c1", number="0612345678")
    out = h.at(16).send(ev.CallbackRefused, call_id="c1", reason="opposed")
    assert prompts(out) == [("c1", "callback_refused_opposed")]
    assert h.engine.call_view("c1").state is CallState.WAITING
