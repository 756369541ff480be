"""The routing heaps: each step's waiting calls and routable advisors, with lazy deletion.

Each queue's routing step holds a heap of waiting calls keyed ``(-priority, fifo_at, seq, token)``
(all calls of a step share one expression) and a heap of routable eligible advisors keyed by the
queue's policy, ending ``(index, epoch)``. An entry is stale when the call's token or the advisor's
epoch no longer matches: it is skipped at the head and dropped when a heap grows past twice its
live size. A freed advisor looks only at the heads of the call heaps of its own steps; a call looks
only at the head of its step's advisor heap.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Callable
from typing import Any

from acd.core.config import Policy
from acd.core.live import LiveAgent, LiveCall, LiveQueue, LiveStep, cooling_for

# Stale entries a heap may hold beyond twice its live size before it is compacted.
_SLACK = 64


def policy_key(
    policy: Policy, queue: LiveQueue, step: LiveStep, agent: LiveAgent
) -> tuple[Any, ...]:
    """Smaller is better. Ends with (index, epoch): unique, so the agent is never compared."""
    if policy is Policy.LONGEST_IDLE:
        return (agent.available_since, agent.index, agent.epoch)
    if policy is Policy.BEST_SKILL:
        return (-agent.scores[step], agent.available_since, agent.index, agent.epoch)
    if policy is Policy.LEAST_OCCUPIED:
        return (agent.occupancy_at_free, agent.available_since, agent.index, agent.epoch)
    if policy is Policy.FEWEST_CALLS:
        return (agent.calls_since_login, agent.available_since, agent.index, agent.epoch)
    return (queue.rr_last.get(agent.cfg.id, -1), agent.index, agent.epoch)


def push_agent(agent: LiveAgent, everyone: list[LiveAgent]) -> None:
    """Enter a routable advisor in the advisor heap of each of their steps."""
    for step in agent.steps:
        step.live_agents += 1
        queue = step.queue
        heap = step.agents
        heapq.heappush(heap, policy_key(queue.cfg.policy, queue, step, agent))
        if len(heap) > 2 * step.live_agents + _SLACK:
            step.agents = [
                e for e in heap if everyone[e[-2]].routable and everyone[e[-2]].epoch == e[-1]
            ]
            heapq.heapify(step.agents)


def drop_agent(agent: LiveAgent) -> None:
    """Take an advisor out of their steps' heaps (lazily: their epoch moves on)."""
    agent.epoch += 1
    agent.routable = False
    for step in agent.steps:
        step.live_agents -= 1


def best_agent_for(call: LiveCall, everyone: list[LiveAgent], now: float) -> LiveAgent | None:
    """The best routable advisor of the call's current step not cooling for it, or None.

    Advisors in a no-answer cooldown for this caller are set aside and put back afterwards.
    """
    step = call.queue.steps[call.step]
    if not step.live_agents:
        return None
    heap = step.agents
    found: LiveAgent | None = None
    cooling: list[tuple[Any, ...]] = []
    while heap:
        entry = heap[0]
        agent: LiveAgent = everyone[entry[-2]]
        if agent.routable and agent.epoch == entry[-1]:
            if call.cooling is None or not cooling_for(call, agent, now):
                found = agent
                break
            cooling.append(entry)
        heapq.heappop(heap)
    for entry in cooling:
        heapq.heappush(heap, entry)
    return found


def best_call_for(
    agent: LiveAgent,
    by_seq: dict[int, LiveCall],
    now: float,
    only: Callable[[LiveCall], bool] | None = None,
) -> LiveCall | None:
    """Highest priority, then longest weighted wait, across the heads of the agent's steps.

    With ``only``, a step whose head fails it offers nothing: a call behind the head is never
    taken before it (first come, first served within a step)."""
    best: LiveCall | None = None
    best_key: tuple[int, float, int] = (0, 0.0, 0)
    for step in agent.steps:
        if not step.live_calls:
            continue
        heap = step.calls
        cooling: list[tuple[int, float, int, int]] | None = None
        while heap:
            _, _, seq, token = heap[0]
            head = by_seq.get(seq)
            if head is not None and head.in_step is step and head.token == token:
                if head.cooling is None or not cooling_for(head, agent, now):
                    break
                # This advisor just let this caller ring out: look at the next caller.
                if cooling is None:
                    cooling = []
                cooling.append(heap[0])
            heapq.heappop(heap)
        else:
            head = None
        if cooling is not None:
            for entry in cooling:
                heapq.heappush(heap, entry)
        if head is None or (only is not None and not only(head)):
            continue
        call = head
        key = (call.priority, (now - call.fifo_at) * step.queue.cfg.weight, -call.seq)
        if best is None or key > best_key:
            best = call
            best_key = key
    return best


def line_up(call: LiveCall, by_seq: dict[int, LiveCall]) -> None:
    """Put a waiting call in its step's heap and its queue's service order."""
    step = call.queue.steps[call.step]
    call.token += 1
    call.in_step = step
    step.live_calls += 1
    insort(call.queue.order, call.key)
    heap = step.calls
    heapq.heappush(heap, (*call.key, call.token))
    if len(heap) > 2 * step.live_calls + _SLACK:
        step.calls = [
            e
            for e in heap
            if (c := by_seq.get(e[2])) is not None and c.in_step is step and c.token == e[3]
        ]
        heapq.heapify(step.calls)


def unline(call: LiveCall) -> None:
    """Take the call out of its step's heap (lazily) and out of its queue's service order."""
    step = call.in_step
    if step is not None:
        step.live_calls -= 1
        call.in_step = None
        call.token += 1
        order = call.queue.order
        del order[bisect_left(order, call.key)]
