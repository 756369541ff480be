"""A closed queue's callback offer (closed = "callback"): told when it opens, called back then."""

from __future__ import annotations

import pytest

from acd.core import commands as cmd
from acd.core import events as ev
from acd.core.calendar import opening_at
from acd.core.callbacks import CallbackPolicy
from acd.core.config import OverflowTarget
from acd.core.errors import ConfigError
from acd.core.states import CallState, Outcome
from tests.core.helpers import NO_WORKLOAD, Harness, agent, call_kinds, config, of_type, queue
from tests.core.test_hours_engine import CENTRE, OFFICE, completed, paris, post_hours

EVENING = paris(2026, 12, 1, 20, 0)  # a Tuesday, after 18:00
OPENS = paris(2026, 12, 2, 8, 30)


def closed_callback(policy: CallbackPolicy | None = None) -> Harness:
    cfg = config(
        [queue("sales", schedule="bureau", closed=OverflowTarget.parse("callback"))],
        [agent("a1")],
        workload=NO_WORKLOAD,
        schedules=(OFFICE,),
        callbacks=policy or CallbackPolicy(),
    )
    h = Harness.of(cfg).at(EVENING)
    post_hours(h)
    return h


def accept(h: Harness, call_id: str, number: str = "+33612345678") -> list[cmd.Command]:
    """The caller presses 1, confirms the number read back; the desk finds no opposition."""
    h.send(ev.CallerKeyPressed, call_id=call_id, digit="1")
    h.send(ev.PromptEnded, call_id=call_id)
    out = h.send(ev.CallbackNumberConfirmed, call_id=call_id, number=number)
    [chosen] = of_type(out, cmd.CallbackChosen)
    return h.send(
        ev.CallbackRequested,
        call_id=chosen.callback_id,
        queue=chosen.queue,
        number=chosen.number,
        from_call_id=call_id,
    )


def test_a_caller_of_a_closed_queue_hears_the_reopening_and_the_offer() -> None:
    """Closed with closed = "callback": one prompt says when it opens and offers a callback."""
    h = closed_callback()
    out = h.arrive("c1", caller_number="0612345678")
    [prompt] = of_type(out, cmd.PlayPrompt)
    assert (prompt.kind, prompt.reopens_at) == ("callback_offer_closed", OPENS)
    assert of_type(out, cmd.EndCall) == []
    assert h.engine.call_view("c1").state is CallState.CLOSED_OFFER
    view = h.engine.queue_view("sales")
    assert (view.offered, view.closed_callers, len(view.waiting)) == (0, 1, 0)


def test_a_closed_callers_callback_is_due_at_the_opening_in_arrival_order() -> None:
    """Taken at 20:00 and 20:05: both due at 08:30, the earlier caller called back first."""
    h = closed_callback()
    h.arrive("c1", caller_number="0612345678")
    out = accept(h, "c1")
    [end] = of_type(out, cmd.EndCall)
    assert (end.call_id, end.reason) == ("c1", "callback_requested")
    summary = completed(h, "c1")
    assert (summary.outcome, summary.reason) == (Outcome.CLOSED, "callback_requested")
    h.at(EVENING + 300).arrive("c2", caller_number="0698765432")
    accept(h, "c2", "+33698765432")
    books = h.engine.callbacks()
    assert [(b.call_id, b.state, b.due_at) for b in books] == [
        ("c1-cb", CallState.SCHEDULED, OPENS),
        ("c2-cb", CallState.SCHEDULED, OPENS),
    ]
    assert call_kinds(h.log, "c1") == [
        "closed",
        "callback_offered",
        "callback_number_read_back",
        "callback_chosen",
        "callback_requested",
    ]
    # Overnight nothing gives up (the give-up time counts from the due time), then at 08:30:
    h.at(OPENS)
    post_hours(h)
    h.fire("due:c1-cb:")  # both are due at the same instant: one drain puts both in line
    assert [b.state for b in h.engine.callbacks()] == [CallState.WAITING] * 2
    out = h.login("a1")
    [reserve] = of_type(out, cmd.ReserveAgent)
    assert (reserve.call_id, reserve.reason) == ("c1-cb", "callback")
    view = h.engine.queue_view("sales")
    assert (view.offered, view.abandoned, view.callbacks_requested) == (0, 0, 2)


def test_no_key_after_the_offer_is_goodbye_not_an_abandon() -> None:
    """The offer heard and no key within a few seconds: goodbye, outcome closed."""
    h = closed_callback()
    h.arrive("c1", caller_number="0612345678")
    h.at(EVENING + 12).send(ev.PromptEnded, call_id="c1")
    out = h.fire("closed_offer:c1:")
    assert h.t == EVENING + 18
    [end] = of_type(out, cmd.EndCall)
    assert (end.reason, end.closed_message) == ("closed", False)
    summary = completed(h, "c1")
    assert (summary.outcome, summary.reason) == (Outcome.CLOSED, "closed")
    assert h.engine.callbacks() == ()


def test_hanging_up_during_the_offer_is_closed_not_abandoned() -> None:
    """A caller who hangs up during the closed offer counts with the closed callers."""
    h = closed_callback()
    h.arrive("c1", caller_number="0612345678")
    h.at(EVENING + 3).send(ev.CallerHungUp, call_id="c1")
    assert completed(h, "c1").outcome is Outcome.CLOSED
    view = h.engine.queue_view("sales")
    assert (view.abandoned, view.closed_callers) == (0, 1)
    assert [t for t in h.engine.pending_timers() if t.startswith("closed_offer")] == []


def test_a_withheld_number_hears_why_then_goodbye() -> None:
    """A withheld caller ID is refused with its message, then the offer ends."""
    h = closed_callback()
    h.arrive("c1")
    out = h.send(ev.CallerKeyPressed, call_id="c1", digit="1")
    [refused] = of_type(out, cmd.PlayPrompt)
    assert refused.kind == "callback_refused_withheld"
    h.at(EVENING + 20).send(ev.PromptEnded, call_id="c1")
    out = h.fire("closed_offer:c1:")
    assert of_type(out, cmd.EndCall)[0].reason == "closed"


def test_an_emergency_closure_has_no_offer() -> None:
    """Closed with no known reopening: the closed message, no callback offered."""
    h = closed_callback()
    h.at(paris(2026, 12, 2, 10, 0)).send(
        ev.QueueHoursChanged,
        queue="sales",
        opening=opening_at(OFFICE, CENTRE, h.t, emergency="panne"),
    )
    out = h.arrive("c1", caller_number="0612345678")
    assert of_type(out, cmd.PlayPrompt) == []
    [end] = of_type(out, cmd.EndCall)
    assert (end.closed_message, end.reopens_at) == (True, None)


def test_the_offer_never_holds_the_line_past_its_longest() -> None:
    """A caller stuck in the number's dialog is let go two minutes after ringing."""
    h = closed_callback()
    h.arrive("c1", caller_number="0612345678")
    h.send(ev.CallerKeyPressed, call_id="c1", digit="1")  # the read-back starts, never ends
    out: list[cmd.Command] = []
    while not of_type(out, cmd.EndCall):
        out = h.fire("closed_offer:c1:")
    assert h.t == EVENING + 120
    assert completed(h, "c1").outcome is Outcome.CLOSED


def test_callback_is_a_closed_action_only() -> None:
    """overflow = "callback" is refused by name: it only makes sense for a closed queue."""
    with pytest.raises(ConfigError) as err:
        queue("sales", overflow=OverflowTarget.parse("callback"))
    assert err.value.field == "queues[sales].overflow"


def test_booked_callbacks_give_up_counted_from_their_due_time() -> None:
    """A callback booked for tomorrow 10:00 is still pending at 14:00 today (4 h give-up)."""
    h = closed_callback(CallbackPolicy(give_up_after_s=4 * 3600.0))
    tomorrow = paris(2026, 12, 2, 10, 0)
    h.send(
        ev.CallbackRequested, call_id="cb1", queue="sales", number="+33612345678", due_at=tomorrow
    )
    timer = h.timer("give_up:cb1:")
    assert h.due(timer) == tomorrow + 4 * 3600
