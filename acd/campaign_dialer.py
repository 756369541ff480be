"""The campaign dialer of the daemon: progressive, predictive and preview campaigns.

Every ``[outbound] dial_tick_s`` it reads which campaigns are running (``acd campaign start``),
takes each progressive campaign's due contacts in list order and asks the compliance rules
(``acd.core.outbound_rules.may_dial``, with the consent, oppositions and attempt history in the
database, and the campaign's own stop date and caller ID) before anything else. A contact the
rules refuse is recorded (``blocked``, with the rule) and rescheduled when the rule says when. A
contact they allow gets a reservation (``ReservationRequested``, reason ``outbound``, at
``[outbound] priority`` below inbound callers: blending keeps inbound first); when the engine
holds an advisor (``ReserveAgent``) ``OutboundCalls`` originates the contact and reports how the
attempt ended (``on_attempt``): the attempt is recorded and the contact rescheduled per the
campaign's ``retry_minutes``, or done.

Predictive campaigns dial first: every tick the campaign's ``Pacer`` (``acd.core.pacing``, the
one ``acd campaign simulate`` runs) says how many contacts to dial from the advisors of the
queue (free, busy, in wrap-up under the workload cap), the dials ringing and the answered
contacts waiting; the rules are asked for each, then ``OutboundCalls.dial`` originates them.
An answered contact waits in the engine's line like a caller (below inbound callers) for at most
``[outbound] no_advisor_s``; the pacer hears each answer, connection and abandon.

Preview campaigns never dial by themselves: the advisor asks for their next contact
(``preview``: the rules are asked, the contact held for them and shown), then clicks to call
(``call_previewed``): a reservation for that very advisor, and the contact is originated.

One attempt per person at a time; at most as many reservations waiting per campaign as the
queue has advisors. Pausing or stopping a campaign releases its reservations not yet dialed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog

from acd.asterisk.outbound_calls import OutboundCalls, OutboundTarget
from acd.asterisk.outbound_leg import AttemptOver, OutboundPhase
from acd.core.calendar import CentreCalendar
from acd.core.commands import ReserveAgent
from acd.core.customers import Customer, Opposition
from acd.core.errors import CoreError
from acd.core.events import ReservationReleased, ReservationRequested
from acd.core.outbound_rules import AttemptOutcome, OutboundRules, may_dial
from acd.core.pacing import DAY_S, DialMode, Pacer, PacingInputs, PacingPolicy
from acd.runtime.ports import EventInbox
from acd.settings import CampaignSettings, Settings
from acd.storage.campaigns import ANSWERED_OUTCOMES, BLOCKED, AttemptRecord, CampaignStore

log = structlog.get_logger("acd.campaigns")

OUTBOUND: Final = "outbound"  # the reservations' reason: the advisor's activity reads it
DONE_OUTCOMES: Final = frozenset({"answered"})
_OUTCOMES: Final = frozenset(o.value for o in AttemptOutcome)


@dataclass(slots=True)
class _Pending:
    campaign: str
    number: str
    customer: Customer | None
    settings: CampaignSettings  # as when dialed: a reload may change or remove the campaign
    dialed_at: float | None = None
    agent_id: str | None = None
    predictive: bool = False
    resolved: bool = False  # the pacer heard whether the dial was answered


@dataclass(frozen=True, slots=True)
class AdvisorCounts:
    """A queue's advisors as pacing counts them: free (routable), on a call or reserved, in
    wrap-up, the last two only when under the workload cap (the others take a breather)."""

    free: int
    busy: int
    wrapping: int


@dataclass(frozen=True, slots=True)
class Preview:
    """The contact held for an advisor of a preview campaign until they call or skip."""

    campaign: str
    number: str
    customer_id: str
    name: str
    company: str
    offer: str
    held_at: float


ANSWER_DELAY_S: Final = 12.0  # the mean dial-to-answer delay before one is measured


# The outcomes an advisor sets after a conversation, and what follows for the contact.
ADVISOR_OUTCOMES: Final = frozenset(
    {
        AttemptOutcome.SALE,
        AttemptOutcome.CALL_BACK_LATER,
        AttemptOutcome.REFUSED,
        AttemptOutcome.WRONG_NUMBER,
        AttemptOutcome.DO_NOT_CALL,
        AttemptOutcome.CONSENT_WITHDRAWN,
    }
)
CALL_BACK_LATER_S: Final = 2 * 3600.0


class OutcomeRefusedError(LookupError):
    """The advisor has no outbound conversation to set an outcome for (``code`` says why)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Conversation:
    """An advisor's latest outbound conversation: whom, for which campaign, and the script."""

    call_id: str
    campaign: str
    number: str
    customer_id: str
    name: str
    company: str
    offer: str
    outcome: str = "dialing"  # then answered, busy, no_answer... or the advisor's outcome


class CampaignDialer:
    """Runs the progressive campaigns; ``target_of``/``on_attempt`` serve ``OutboundCalls``."""

    def __init__(self, settings: Settings, inbox: EventInbox, store: CampaignStore) -> None:
        self.settings = settings
        self.inbox = inbox
        self.store = store
        self.rules: OutboundRules = settings.outbound_rules()
        self._calendars: dict[str, CentreCalendar] = {}
        self._calendar_year = 0
        self._pending: dict[str, _Pending] = {}
        self._busy_people: set[str] = set()
        self._ids = itertools.count(1)
        self._run_id = f"{int(inbox.now()):x}"
        self._background: set[asyncio.Task[None]] = set()
        self._records: dict[str, asyncio.Task[None]] = {}
        self.conversations: dict[str, Conversation] = {}  # advisor -> their latest one
        self.states: dict[str, str] = {}
        # Predictive pacing: the legs' phases and the queue's advisors (set by the daemon).
        self.legs: OutboundCalls | None = None
        self.advisors: Callable[[str], AdvisorCounts] | None = None
        self.pacers: dict[str, Pacer] = {}
        self._restored: set[str] = set()
        # Campaigns whose contacts a previous run left "dialing" were taken back.
        self._recovered: set[str] = set()
        self._answer_delays: dict[str, tuple[float, int]] = {}  # campaign -> (sum, count)
        self.previews: dict[str, tuple[str, Preview]] = {}  # advisor -> (person, contact)

    def reconfigure(self, settings: Settings) -> None:
        """A reload: the new rules and campaigns from the next tick; a campaign whose mode or
        cap changed gets a new pacer (restored from the attempt log). Attempts under way end
        with the settings they were dialed with."""
        for name, pacer in list(self.pacers.items()):
            campaign = settings.campaigns.get(name)
            if (
                campaign is None
                or campaign.mode != pacer.policy.mode.value
                or campaign.abandon_cap != pacer.policy.abandon_cap
                or settings.outbound.no_advisor_s != pacer.policy.no_advisor_s
            ):
                del self.pacers[name]
                self._restored.discard(name)
        self.settings = settings
        self.rules = settings.outbound_rules()
        self._calendar_year = 0

    # -------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Dial until cancelled; a database error waits for the next tick."""
        every = self.settings.outbound.dial_tick_s
        while True:
            try:
                await self.tick()
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                log.error("campaign_dialer_failed", error=type(exc).__name__, detail=str(exc))
            await asyncio.sleep(every)

    async def _recover(self, name: str) -> None:
        """Contacts a previous run left ``dialing`` (it crashed): each may have been dialed, so
        each is recorded as a failed attempt (the law's count errs on the safe side), and goes
        back to the list."""
        now = self.inbox.now()
        left = await self.store.release_dialing(name, now)
        if left:
            await self.store.record_attempts(
                [
                    AttemptRecord(name, customer_id, number, now, "failed", detail="run_stopped")
                    for number, customer_id in left
                ]
            )
            log.warning("outbound_dials_recovered", campaign=name, contacts=len(left))
        self._recovered.add(name)

    async def tick(self) -> None:
        """One look at every campaign."""
        self.states = await self.store.states()
        for name in self.settings.campaigns:
            if name not in self._recovered:
                await self._recover(name)
        for name, campaign in self.settings.campaigns.items():
            state = self.states.get(name, "draft")
            if state != "running":
                self._release_waiting(name, state)
                continue
            if campaign.mode == "progressive":
                await self._fill(name, campaign)
            elif campaign.mode == "predictive":
                await self._pace(name, campaign)

    def _release_waiting(self, campaign: str, state: str) -> None:
        for call_id, pending in list(self._pending.items()):
            if pending.campaign == campaign and pending.dialed_at is None:
                self._forget(call_id)
                self.inbox.post(
                    ReservationReleased(at=self.inbox.now(), call_id=call_id, reason=state)
                )
                self._spawn(
                    self.store.reschedule(
                        campaign, pending.number, status="pending", next_at=0.0, last_outcome=""
                    )
                )

    def pacer(self, name: str) -> Pacer:
        """The campaign's pacing state (created on first use, from its settings)."""
        pacer = self.pacers.get(name)
        if pacer is None:
            campaign = self.settings.campaigns[name]
            pacer = Pacer(
                PacingPolicy(
                    mode=DialMode(campaign.mode),
                    abandon_cap=campaign.abandon_cap,
                    no_advisor_s=self.settings.outbound.no_advisor_s,
                )
            )
            self.pacers[name] = pacer
        return pacer

    def pacing_inputs(self, name: str, campaign: CampaignSettings) -> PacingInputs | None:
        """What the pacer weighs now; None while the daemon gives no advisor counts or legs."""
        if self.advisors is None or self.legs is None:
            return None
        counts = self.advisors(campaign.queue)
        phases = self.legs.phases()
        in_flight = waiting = 0
        for call_id, pending in self._pending.items():
            if pending.campaign != name or not pending.predictive:
                continue
            phase = phases.get(call_id)
            if phase is OutboundPhase.ORIGINATING or (
                # Answered, AMD still listening: not yet known to want an advisor.
                phase is OutboundPhase.CONNECTING and pending.agent_id is None
            ):
                in_flight += 1
            elif phase is OutboundPhase.WAITING:
                waiting += 1
        queue = self.settings.queues.get(campaign.queue)
        total, count = self._answer_delays.get(name, (0.0, 0))
        return PacingInputs(
            free_advisors=counts.free,
            busy_advisors=counts.busy,
            wrapping_advisors=counts.wrapping,
            in_flight=in_flight,
            waiting=waiting,
            mean_handle_s=queue.expected_handle_s if queue is not None else 180.0,
            wrap_up_s=queue.wrap_up_s if queue is not None else 10.0,
            answer_delay_s=total / count if count >= 10 else ANSWER_DELAY_S,
        )

    async def restore_pacer(self, name: str, campaign: CampaignSettings) -> None:
        """A new pacer starts from the attempt log of the last 24 h: the abandon meter (so a
        restart never forgets abandons the cap counts) and the measured answer rate."""
        now = self.inbox.now()
        pacer = self.pacer(name)
        counted = {o.value for o in ANSWERED_OUTCOMES}
        if campaign.amd:
            counted.discard(AttemptOutcome.MACHINE.value)
        for at, outcome in await self.store.recent_outcomes(name, now - DAY_S):
            answered = outcome in counted
            pacer.resolved(answered=answered)
            if answered:
                pacer.meter.record(at, abandoned=outcome == AttemptOutcome.ABANDONED.value)
        self._restored.add(name)

    async def _pace(self, name: str, campaign: CampaignSettings) -> None:
        """Predictive: dial as many contacts as the pacer says, each one the rules allow."""
        inputs = self.pacing_inputs(name, campaign)
        if inputs is None or self.legs is None:
            return
        if name not in self._restored:
            await self.restore_pacer(name, campaign)
        now = self.inbox.now()
        wanted = self.pacer(name).dials_now(now, inputs)
        if wanted <= 0:
            return
        for number, customer in await self.store.due_contacts(name, now, wanted * 3):
            if wanted <= 0:
                break
            person = customer.customer_id if customer is not None else number
            if person in self._busy_people:
                continue
            if await self._allowed(name, campaign, number, customer, now):
                call_id, line = self._hold(name, campaign, number, customer)
                pending = self._pending[call_id]
                pending.predictive = True
                pending.dialed_at = now
                self.legs.dial(call_id, self._target(pending), line)
                wanted -= 1

    async def _fill(self, name: str, campaign: CampaignSettings) -> None:
        advisors = sum(1 for a in self.settings.agents.values() if campaign.queue in a.queues)
        waiting = sum(1 for p in self._pending.values() if p.campaign == name)
        room = advisors - waiting
        if room <= 0:
            return
        now = self.inbox.now()
        for number, customer in await self.store.due_contacts(name, now, room * 3):
            if room <= 0:
                break
            person = customer.customer_id if customer is not None else number
            if person in self._busy_people:
                continue
            if await self._allowed(name, campaign, number, customer, now):
                self._reserve(name, campaign, number, customer)
                room -= 1

    async def _allowed(
        self,
        name: str,
        campaign: CampaignSettings,
        number: str,
        customer: Customer | None,
        now: float,
    ) -> bool:
        numbers = customer.numbers if customer is not None else (number,)
        oppositions = await self.store.customers.oppositions(numbers)
        history = await self.store.person_attempts(
            customer.customer_id if customer is not None else None, numbers
        )
        decision = may_dial(
            number,
            now,
            customer=customer,
            rules=self.rules,
            calendars=self._zone_calendars(now),
            history=history,
            oppositions=oppositions,
        )
        rule, detail, retry_at = decision.rule.value, decision.detail, decision.retry_at
        allowed = decision.allowed
        zone = ZoneInfo(self.settings.centre.timezone)
        if (
            allowed
            and campaign.stop_date is not None
            and dt.datetime.fromtimestamp(now, zone).date() > campaign.stop_date
        ):
            allowed, rule, detail, retry_at = False, "campaign_ended", "", None
        if (
            allowed
            and campaign.consumer_canvassing
            and not self.rules.caller_id_allowed(campaign.caller_id)
        ):
            allowed, rule, detail, retry_at = False, "caller_id_not_allowed", "", None
        if allowed:
            return True
        await self.store.record_attempts(
            [
                AttemptRecord(
                    name,
                    customer.customer_id if customer is not None else "",
                    number,
                    now,
                    BLOCKED,
                    rule=rule,
                    detail=detail,
                )
            ]
        )
        await self.store.reschedule(
            name,
            number,
            status="pending" if retry_at is not None else "excluded",
            next_at=retry_at if retry_at is not None else now,
            last_outcome=BLOCKED,
        )
        log.info("outbound_dial_refused", campaign=name, rule=rule, retry_at=retry_at)
        return False

    def _zone_calendars(self, now: float) -> dict[str, CentreCalendar]:
        year = dt.datetime.fromtimestamp(now, dt.UTC).year
        if year != self._calendar_year:
            self._calendars = self.settings.zone_calendars(self.rules, range(year - 1, year + 2))
            self._calendar_year = year
        return self._calendars

    def _reserve(
        self, name: str, campaign: CampaignSettings, number: str, customer: Customer | None
    ) -> None:
        _, line = self._hold(name, campaign, number, customer)
        self.inbox.post(line)

    def _hold(
        self,
        name: str,
        campaign: CampaignSettings,
        number: str,
        customer: Customer | None,
        agent_id: str | None = None,
    ) -> tuple[str, ReservationRequested]:
        """A new attempt for the contact (one per person at a time) and the reservation it
        asks the engine for (``agent_id``: that very advisor, for a preview)."""
        call_id = f"out-{self._run_id}-{next(self._ids)}"
        self._pending[call_id] = _Pending(name, number, customer, campaign)
        self._busy_people.add(customer.customer_id if customer is not None else number)
        data = dict(customer.call_data()) if customer is not None else {}
        data["campaign"] = name
        self._spawn(
            self.store.reschedule(
                name, number, status="dialing", next_at=self.inbox.now(), last_outcome=""
            )
        )
        return call_id, ReservationRequested(
            at=self.inbox.now(),
            call_id=call_id,
            queue=campaign.queue,
            reason=OUTBOUND,
            priority=self.settings.outbound.priority,
            caller_number=number,
            caller_name=customer.name if customer is not None else "",
            data=data,
            agent_id=agent_id,
        )

    # -------------------------------------------------------------- OutboundCalls' callbacks

    def target_of(self, call_id: str, agent_id: str) -> OutboundTarget | None:
        """The contact of a reservation the engine just held ``agent_id`` for."""
        pending = self._pending.get(call_id)
        if pending is None:
            return None
        if pending.dialed_at is None:
            pending.dialed_at = self.inbox.now()
        pending.agent_id = agent_id
        campaign = pending.settings
        customer = pending.customer
        # The advisor's page shows whom they call, with the script, from the dial on (a
        # predictive contact: from the reservation on, the contact already on the line).
        self.conversations[agent_id] = Conversation(
            call_id=call_id,
            campaign=pending.campaign,
            number=pending.number,
            customer_id=customer.customer_id if customer is not None else "",
            name=customer.name if customer is not None else "",
            company=campaign.company,
            offer=campaign.offer,
        )
        return self._target(pending)

    def _target(self, pending: _Pending) -> OutboundTarget:
        campaign = pending.settings
        shown = campaign.company.replace('"', "")[:40]
        return OutboundTarget(
            number=pending.number,
            dial_number=pending.number.lstrip("+"),
            caller_id=f'"{shown}" <{campaign.caller_id}>',
            campaign=pending.campaign,
            amd=campaign.amd,
        )

    def on_progress(self, call_id: str, stage: str) -> None:
        """A predictive contact answered (entered the line) or reached an advisor: the pacer's
        answer rate, answer delay and abandon meter."""
        pending = self._pending.get(call_id)
        pacer = self.pacers.get(pending.campaign) if pending is not None else None
        if pending is None or not pending.predictive or pacer is None:
            return
        now = self.inbox.now()
        if stage == "answered" and not pending.resolved:
            pending.resolved = True
            pacer.resolved(answered=True)
            if pending.dialed_at is not None:
                total, count = self._answer_delays.get(pending.campaign, (0.0, 0))
                self._answer_delays[pending.campaign] = (total + now - pending.dialed_at, count + 1)
        elif stage == "connected":
            pacer.connected(now)

    def on_attempt(self, call_id: str, over: AttemptOver) -> None:
        """An attempt ended: record it and reschedule the contact."""
        pending = self._forget(call_id)
        if pending is None:
            return
        pacer = self.pacers.get(pending.campaign)
        if pending.predictive and over.outcome != "not_dialed" and pacer is not None:
            if not pending.resolved:
                pacer.resolved(answered=False)
            if over.outcome == AttemptOutcome.ABANDONED.value:
                pacer.abandoned(self.inbox.now())
        talk = self.conversations.get(pending.agent_id or "")
        if talk is not None and talk.call_id == call_id:
            # "answered" with a detail: the contact hung up before the advisor was connected.
            reached = over.outcome == "answered" and not over.detail
            ended = "not_reached" if over.outcome == "answered" and not reached else over.outcome
            self.conversations[pending.agent_id or ""] = dataclasses.replace(talk, outcome=ended)
        task = asyncio.create_task(self._record(call_id, pending, over))
        self._records[call_id] = task
        task.add_done_callback(lambda _: self._records.pop(call_id, None))

    async def _record(self, call_id: str, pending: _Pending, over: AttemptOver) -> None:
        now = self.inbox.now()
        campaign = pending.settings
        try:
            if over.outcome == "not_dialed":
                await self.store.reschedule(
                    pending.campaign,
                    pending.number,
                    status="pending",
                    next_at=now + 60.0,
                    last_outcome="",
                )
                return
            outcome = over.outcome if over.outcome in _OUTCOMES else AttemptOutcome.FAILED.value
            await self.store.record_attempts(
                [
                    AttemptRecord(
                        pending.campaign,
                        pending.customer.customer_id if pending.customer is not None else "",
                        pending.number,
                        pending.dialed_at if pending.dialed_at is not None else now,
                        outcome,
                        detail=over.detail,
                        agent_id=pending.agent_id,
                        call_id=call_id,
                    )
                ]
            )
            retries = {str(k): v for k, v in campaign.retry_minutes.items()}
            retry = retries.get(outcome)
            if outcome in DONE_OUTCOMES or retry is None:
                await self.store.reschedule(
                    pending.campaign,
                    pending.number,
                    status="done",
                    next_at=now,
                    last_outcome=outcome,
                )
            else:
                await self.store.reschedule(
                    pending.campaign,
                    pending.number,
                    status="pending",
                    next_at=now + retry * 60.0,
                    last_outcome=outcome,
                )
            log.info("outbound_attempt_recorded", campaign=pending.campaign, outcome=outcome)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            log.error("outbound_attempt_not_recorded", error=type(exc).__name__, detail=str(exc))

    def _forget(self, call_id: str) -> _Pending | None:
        pending = self._pending.pop(call_id, None)
        if pending is not None:
            person = (
                pending.customer.customer_id if pending.customer is not None else pending.number
            )
            self._busy_people.discard(person)
        return pending

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Record the dials still under way (the daemon stops), then wait for the records being
        written: a person dialed is an attempt the law counts, whatever became of the call."""
        phases = self.legs.phases() if self.legs is not None else {}
        for call_id, pending in list(self._pending.items()):
            if pending.dialed_at is None or call_id not in phases:
                # Never dialed (waiting for an advisor): back to the list, nobody was called.
                self._forget(call_id)
                self._spawn(
                    self.store.reschedule(
                        pending.campaign,
                        pending.number,
                        status="pending",
                        next_at=0.0,
                        last_outcome="",
                    )
                )
                continue
            talking = phases[call_id] is OutboundPhase.CONNECTED
            self.on_attempt(
                call_id,
                AttemptOver("answered" if talking else "failed", "daemon_stopped"),
            )
        for agent_id in list(self.previews):
            self._spawn(self.skip_preview(agent_id))
        waiting = self._background | set(self._records.values())
        if waiting:
            await asyncio.wait(waiting, timeout=5.0)

    # -------------------------------------------------------------- the advisors and supervisors

    async def set_outcome(self, agent_id: str, outcome: AttemptOutcome, *, at: float) -> str:
        """The advisor's outcome of their latest outbound conversation; its call id.

        ``do_not_call`` puts the person's numbers on the do-not-call list; ``consent_withdrawn``
        ends their consent to canvassing at once (never called again for prospecting);
        ``refused`` starts the 60 days; ``call_back_later`` dials them again in 2 hours;
        ``wrong_number`` takes the number off the list.
        """
        if outcome not in ADVISOR_OUTCOMES:
            raise OutcomeRefusedError("invalid_input", f"not an advisor's outcome: {outcome}")
        talk = self.conversations.get(agent_id)
        if talk is None or talk.outcome not in {"answered"} | {o.value for o in ADVISOR_OUTCOMES}:
            raise OutcomeRefusedError(
                "no_conversation", f"{agent_id} has no outbound conversation to qualify"
            )
        writing = self._records.get(talk.call_id)
        if writing is not None:
            await writing  # the attempt's row first
        store = self.store
        await store.set_attempt_outcome(talk.call_id, outcome.value)
        customer = await store.customers.get(talk.customer_id) if talk.customer_id else None
        numbers = customer.numbers if customer is not None else (talk.number,)
        status, next_at = "done", at
        if outcome is AttemptOutcome.DO_NOT_CALL:
            for number in numbers:
                await store.customers.add_opposition(
                    Opposition(number=number, since=at, source="dnc")
                )
        elif outcome is AttemptOutcome.CONSENT_WITHDRAWN and customer is not None:
            await store.withdraw_consent(customer.customer_id, self.rules.purpose, at)
        elif outcome is AttemptOutcome.CALL_BACK_LATER:
            status, next_at = "pending", at + CALL_BACK_LATER_S
        elif outcome is AttemptOutcome.WRONG_NUMBER:
            status = "excluded"
        await store.reschedule(
            talk.campaign, talk.number, status=status, next_at=next_at, last_outcome=outcome
        )
        self.conversations[agent_id] = dataclasses.replace(talk, outcome=outcome.value)
        log.info("outbound_outcome_set", campaign=talk.campaign, agent_id=agent_id, outcome=outcome)
        return talk.call_id

    # -------------------------------------------------------------- preview campaigns

    async def preview(self, agent_id: str) -> Preview:
        """The contact held for the advisor in a running preview campaign of their queues
        (the next one the rules allow now, held until they call or skip it).

        Raises ``OutcomeRefusedError`` (``no_contact``) when there is none to show.
        """
        held = self.previews.get(agent_id)
        if held is not None:
            return held[1]
        agent = self.settings.agents.get(agent_id)
        if agent is None:
            raise OutcomeRefusedError("not_found", f"no advisor {agent_id!r}")
        self.states = await self.store.states()
        now = self.inbox.now()
        for name, campaign in self.settings.campaigns.items():
            if (
                campaign.mode != "preview"
                or campaign.queue not in agent.queues
                or self.states.get(name) != "running"
            ):
                continue
            for number, customer in await self.store.due_contacts(name, now, 10):
                person = customer.customer_id if customer is not None else number
                if person in self._busy_people:
                    continue
                if not await self._allowed(name, campaign, number, customer, now):
                    continue
                self._busy_people.add(person)
                self._spawn(
                    self.store.reschedule(
                        name, number, status="dialing", next_at=now, last_outcome=""
                    )
                )
                shown = Preview(
                    campaign=name,
                    number=number,
                    customer_id=customer.customer_id if customer is not None else "",
                    name=customer.name if customer is not None else "",
                    company=campaign.company,
                    offer=campaign.offer,
                    held_at=now,
                )
                self.previews[agent_id] = (person, shown)
                log.info("outbound_preview_held", campaign=name, agent_id=agent_id)
                return shown
        raise OutcomeRefusedError("no_contact", f"no contact to preview for {agent_id}")

    def preview_campaigns(self, agent_id: str) -> list[str]:
        """The running preview campaigns of the advisor's queues (as of the last tick)."""
        agent = self.settings.agents.get(agent_id)
        if agent is None:
            return []
        return [
            name
            for name, campaign in self.settings.campaigns.items()
            if campaign.mode == "preview"
            and campaign.queue in agent.queues
            and self.states.get(name) == "running"
        ]

    def previewed(self, agent_id: str) -> Preview | None:
        """The contact held for the advisor, if any."""
        held = self.previews.get(agent_id)
        return held[1] if held is not None else None

    async def call_previewed(self, agent_id: str) -> str:
        """The advisor clicks to call the contact they preview: the rules are asked again (time
        passed since the preview), the advisor reserved (they must be free now), the contact
        originated. The attempt's id; ``OutcomeRefusedError`` when it cannot be placed."""
        held = self.previews.get(agent_id)
        if held is None:
            raise OutcomeRefusedError("no_contact", f"{agent_id} previews no contact")
        person, shown = held
        campaign = self.settings.campaigns.get(shown.campaign)
        if campaign is None:  # removed by a reload since the preview
            self.previews.pop(agent_id, None)
            self._busy_people.discard(person)
            raise OutcomeRefusedError("refused", f"no campaign {shown.campaign!r} any longer")
        customer = await self.store.customers.get(shown.customer_id) if shown.customer_id else None
        now = self.inbox.now()
        if self.states.get(shown.campaign) != "running" or not await self._allowed(
            shown.campaign, campaign, shown.number, customer, now
        ):
            self.previews.pop(agent_id, None)
            self._busy_people.discard(person)
            raise OutcomeRefusedError("refused", f"{shown.number} may not be called now")
        self._busy_people.discard(person)  # _hold takes the person again, for the attempt
        call_id, line = self._hold(
            shown.campaign, campaign, shown.number, customer, agent_id=agent_id
        )
        try:
            commands = await self.inbox.submit(line)
        except CoreError as exc:
            self._forget(call_id)
            self._busy_people.add(person)  # still previewed: the advisor may call when free
            raise OutcomeRefusedError("refused", str(exc)) from None
        self.previews.pop(agent_id, None)
        if not any(isinstance(c, ReserveAgent) and c.call_id == call_id for c in commands):
            log.error("outbound_preview_not_reserved", call_id=call_id, agent_id=agent_id)
        log.info("outbound_preview_called", campaign=shown.campaign, agent_id=agent_id)
        return call_id

    async def skip_preview(self, agent_id: str) -> None:
        """The advisor does not call the contact shown: it goes back to the list as it was."""
        held = self.previews.pop(agent_id, None)
        if held is None:
            raise OutcomeRefusedError("no_contact", f"{agent_id} previews no contact")
        person, shown = held
        self._busy_people.discard(person)
        await self.store.reschedule(
            shown.campaign, shown.number, status="pending", next_at=0.0, last_outcome=""
        )

    def call_of(self, agent_id: str) -> Conversation | None:
        """The advisor's latest outbound call (dialing, talking, or ended and to qualify)."""
        return self.conversations.get(agent_id)

    def campaign_queue(self, name: str) -> str | None:
        campaign = self.settings.campaigns.get(name)
        return campaign.queue if campaign is not None else None

    async def qualify(self, agent_id: str, outcome: str) -> str:
        """``set_outcome`` from the API's words; ``LookupError`` without a call to qualify."""
        return await self.set_outcome(agent_id, AttemptOutcome(outcome), at=self.inbox.now())

    async def progress(self) -> list[dict[str, object]]:
        """Every configured campaign's live progress (the API, the supervisor page)."""
        now = self.inbox.now()
        zone = ZoneInfo(self.settings.centre.timezone)
        midnight = dt.datetime.fromtimestamp(now, zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        found = []
        for name, campaign in self.settings.campaigns.items():
            p = await self.store.progress(name, now=now, machines_answered=not campaign.amd)
            today = await self.store.figures(
                name, start=midnight.timestamp(), stop=now, machines_answered=not campaign.amd
            )
            found.append(
                {
                    "campaign": name,
                    "queue": campaign.queue,
                    "mode": campaign.mode,
                    "state": p.state,
                    "contacts": p.contacts,
                    "contacts_left": p.contacts_left,
                    "attempted_contacts": p.attempted_contacts,
                    "dials": p.dials,
                    "reached": p.reached,
                    "contact_rate": round(p.contact_rate, 4),
                    "abandon_rate_15min": round(p.abandon_rate_15min, 4),
                    "abandon_rate_24h": round(p.abandon_rate_24h, 4),
                    "abandon_cap": campaign.abandon_cap,
                    "outcomes": p.outcomes,
                    "today": today.as_dict(),
                    "pacing": self._pacing_state(name, now),
                }
            )
        return found

    def _pacing_state(self, name: str, now: float) -> dict[str, object] | None:
        """A predictive campaign's pacer as it stands (None before its first dial): the answer
        rate it uses, its gain, whether it still dials progressively (answers not yet measured,
        or braking at a window's share of the cap)."""
        pacer = self.pacers.get(name)
        if pacer is None:
            return None
        policy = pacer.policy
        return {
            "answer_rate": round(pacer.answer_rate, 4),
            "gain": round(pacer.gain, 4),
            "measuring": pacer.results < policy.prior_weight,
            "braking": pacer.over_cap(now),
        }

    async def set_state(self, name: str, state: str, *, by: str) -> str:
        """Start (``running``), pause or stop a campaign; the state it was in."""
        before = await self.store.set_state(name, state, at=self.inbox.now(), by=by)
        self.states[name] = state
        if state != "running":
            self._release_waiting(name, state)
        log.info("campaign_state_set", campaign=name, state=state, by=by)
        return before
