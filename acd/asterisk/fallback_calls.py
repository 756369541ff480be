"""What Asterisk says of the calls acd did not see: the callers its fallback queues hold.

While acd is down (or crashed), the dialplan's ``[acd-fallback]`` sets ``ACD_FALLBACK=yes`` on the
caller's channel and puts it in app_queue's queue of the same name. At restart the daemon asks
Asterisk, before it opens FastAGI:

* ``Status`` with ``Variables: ACD_FALLBACK,ACD_QUEUE``: every channel, with those two
  variables (CoreShowChannels lists the same channels without variables, and needs the
  ``system`` or ``reporting`` class the acd AMI user does not have);
* ``QueueStatus`` (counters only): calls that left each queue, completed or abandoned.

A caller channel is the one that started its call (``Uniqueid == Linkedid``); an advisor's leg in
the same call has the caller's Linkedid and its own Uniqueid.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from acd.asterisk.ami_client import AmiClient
from acd.asterisk.ami_events import ChannelStatus, QueueParams
from acd.asterisk.errors import AmiError

FALLBACK_VARIABLE = "ACD_FALLBACK"
QUEUE_VARIABLE = "ACD_QUEUE"


@dataclass(frozen=True, slots=True)
class FallbackCaller:
    """A caller the dialplan's fallback holds; ``waited_s``: how long its channel has existed."""

    call_id: str
    linked_id: str
    queue: str
    caller_number: str
    caller_name: str
    waited_s: float


@dataclass(frozen=True, slots=True)
class BridgedCaller:
    """A caller acd did not put in the fallback, in a bridge with another channel (an advisor's
    leg, most likely: a conversation that outlived the daemon). ``peer_s``: the peer's age."""

    call_id: str
    peer_channel: str
    peer_s: float
    # The caller's own channel: its queue (``ACD_QUEUE``, set by the DID for every call acd is
    # handed; '' for a call that never was acd's), number, name and age.
    queue: str = ""
    caller_number: str = ""
    caller_name: str = ""
    caller_s: float = 0.0


@dataclass(frozen=True, slots=True)
class AsteriskCalls:
    """Asterisk's answer at ``at``: every live channel's Uniqueid, the fallback's callers, the
    callers still talking to someone, and the calls that left the fallback queues since Asterisk
    started (None: it could not say)."""

    at: float
    live_ids: frozenset[str]
    fallback: tuple[FallbackCaller, ...]
    fallback_left: int | None
    bridged: tuple[BridgedCaller, ...] = ()
    # Every caller channel (Uniqueid == Linkedid): the calls a restart may follow to their end.
    caller_ids: frozenset[str] = frozenset()


def fallback_callers(statuses: Collection[ChannelStatus]) -> tuple[FallbackCaller, ...]:
    """The caller channels marked ``ACD_FALLBACK=yes``."""
    found = []
    for status in statuses:
        channel = status.channel
        if channel.uniqueid != channel.linkedid or status.variable(FALLBACK_VARIABLE) != "yes":
            continue
        found.append(
            FallbackCaller(
                call_id=channel.uniqueid,
                linked_id=channel.linkedid,
                queue=status.variable(QUEUE_VARIABLE),
                caller_number=channel.caller_id_num,
                caller_name=channel.caller_id_name,
                waited_s=float(max(0, status.seconds)),
            )
        )
    return tuple(found)


def bridged_callers(statuses: Collection[ChannelStatus]) -> tuple[BridgedCaller, ...]:
    """Caller channels (not in the fallback) sharing a bridge with another channel."""
    by_bridge: dict[str, list[ChannelStatus]] = {}
    for status in statuses:
        if status.bridge_id:
            by_bridge.setdefault(status.bridge_id, []).append(status)
    found = []
    for status in statuses:
        channel = status.channel
        if channel.uniqueid != channel.linkedid or status.variable(FALLBACK_VARIABLE) == "yes":
            continue
        peers = [p for p in by_bridge.get(status.bridge_id, ()) if p is not status]
        if status.bridge_id and peers:
            found.append(
                BridgedCaller(
                    channel.uniqueid,
                    peers[0].channel.channel,
                    float(peers[0].seconds),
                    queue=status.variable(QUEUE_VARIABLE),
                    caller_number=channel.caller_id_num,
                    caller_name=channel.caller_id_name,
                    caller_s=float(max(0, status.seconds)),
                )
            )
    return tuple(found)


def calls_left(params: Collection[QueueParams], queues: Collection[str]) -> int:
    """Calls completed or abandoned in the named queues (the fallback queues share acd's names)."""
    return sum(p.completed + p.abandoned for p in params if p.queue in queues)


async def fallback_left(client: AmiClient, queues: Collection[str]) -> int:
    """The fallback queues' count now (``calls_left`` of a QueueStatus)."""
    return calls_left(await client.queue_params(), queues)


async def live_channel_ids(client: AmiClient) -> frozenset[str]:
    """The Uniqueid of every channel Asterisk has now (one Status, no variables)."""
    return frozenset(s.channel.uniqueid for s in await client.channel_statuses(()))


def centre_calls(answers: Sequence[AsteriskCalls], complete: bool) -> AsteriskCalls:
    """Several boxes' answers as the centre's one: channels and callers together, the fallback
    queues' counts summed. ``complete``: every box answered; otherwise the count is unknown
    (None), the missing box's callers being neither counted nor recorded."""
    if len(answers) == 1 and complete:
        return answers[0]
    counts = [answer.fallback_left for answer in answers]
    return AsteriskCalls(
        at=max((answer.at for answer in answers), default=0.0),
        live_ids=frozenset().union(*(answer.live_ids for answer in answers)),
        fallback=tuple(caller for answer in answers for caller in answer.fallback),
        fallback_left=sum(c for c in counts if c is not None)
        if complete and answers and None not in counts
        else None,
        bridged=tuple(talk for answer in answers for talk in answer.bridged),
        caller_ids=frozenset().union(*(answer.caller_ids for answer in answers)),
    )


async def read_asterisk_calls(
    client: AmiClient, at: float, queues: Collection[str]
) -> AsteriskCalls:
    """Ask Asterisk (two actions); raises the AMI client's errors when it cannot answer."""
    statuses = await client.channel_statuses((FALLBACK_VARIABLE, QUEUE_VARIABLE))
    try:
        left: int | None = await fallback_left(client, queues)
    except AmiError:  # the channels alone still let the restart record its callers
        left = None
    return AsteriskCalls(
        at=at,
        live_ids=frozenset(s.channel.uniqueid for s in statuses),
        fallback=fallback_callers(statuses),
        fallback_left=left,
        bridged=bridged_callers(statuses),
        caller_ids=frozenset(
            s.channel.uniqueid for s in statuses if s.channel.uniqueid == s.channel.linkedid
        ),
    )
