"""The centre's Asterisk boxes: which box a FastAGI session comes from, which box each advisor's
phone is on, and how a caller on one box reaches a phone on another (the inter-PBX trunk).

One engine routes every call to any advisor; this map only says how the ring goes. A caller and
an advisor on the same box: ``Dial(PJSIP/<advisor>)``; on different boxes:
``Dial(PJSIP/<advisor>@<trunk>)``, where ``<trunk>`` is the endpoint, on the caller's box, that
reaches the advisor's box (``[pbx.NAME] trunk``). The configuration says where a phone is: AMI
reporting a phone on another box than its advisor's is a mismatch, logged and ignored.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from acd.asterisk.call_leg import endpoint_of_channel

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Box:
    """One Asterisk box: its name, the networks its FastAGI sessions come from (empty: any the
    FastAGI server accepts) and the endpoint, on the other boxes, that reaches it."""

    name: str
    agi_networks: tuple[Network, ...] = ()
    trunk: str | None = None

    @classmethod
    def of(cls, name: str, agi_hosts: tuple[str, ...] = (), trunk: str | None = None) -> Box:
        networks = tuple(ipaddress.ip_network(host, strict=False) for host in agi_hosts)
        return cls(name, networks, trunk)

    def sends_from(self, peer: str | None) -> bool:
        """Whether a FastAGI connection from ``peer`` may be this box's."""
        if not self.agi_networks:
            return True
        if peer is None:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.agi_networks)


class SessionBoxError(Exception):
    """A FastAGI session no box can claim: the dialplan's fallback takes the caller."""


@dataclass(frozen=True, slots=True)
class Boxes:
    """The boxes by name (the first is the default) and each advisor's endpoint's box."""

    boxes: Mapping[str, Box]
    box_of_endpoint: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.boxes:
            raise ValueError("a centre has at least one PBX")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.boxes)

    @property
    def default(self) -> str:
        return next(iter(self.boxes))

    @property
    def several(self) -> bool:
        return len(self.boxes) > 1

    def session_box(self, peer: str | None, named: str | None) -> str:
        """The box a FastAGI session belongs to: the one its URL names (``pbx=NAME``), if that
        box may send from ``peer``; else the only box that may, or the first box among those
        that may. Raises ``SessionBoxError``."""
        if named:
            box = self.boxes.get(named)
            if box is None:
                raise SessionBoxError(f"no PBX named {named!r}")
            if not box.sends_from(peer):
                raise SessionBoxError(f"PBX {named!r} does not send from {peer}")
            return named
        if not self.several:
            return self.default
        candidates = [box.name for box in self.boxes.values() if box.sends_from(peer)]
        if len(candidates) > 1 and self.default in candidates:
            # The first box's dialplan needs no pbx=: only the others name themselves.
            return self.default
        if len(candidates) != 1:
            raise SessionBoxError(
                f"{len(candidates)} PBXs may send from {peer}: the AGI URL must say pbx=NAME"
            )
        return candidates[0]

    def owner(self, endpoint: str) -> str | None:
        """The box an advisor's endpoint is on (None: no advisor's)."""
        return self.box_of_endpoint.get(endpoint)

    def dial_target(self, endpoint: str, caller_box: str) -> str:
        """What a caller on ``caller_box`` dials to ring ``endpoint``."""
        owner = self.box_of_endpoint.get(endpoint, caller_box)
        if owner == caller_box:
            return endpoint
        trunk = self.boxes[owner].trunk
        technology, _, resource = endpoint.partition("/")
        if trunk is None or technology.upper() != "PJSIP":
            return endpoint  # settings refuse this across boxes; the Dial fails CHANUNAVAIL
        return f"PJSIP/{resource}@{trunk}"

    def trunk_box(self, channel: str) -> str | None:
        """The box a trunk channel (``PJSIP/pbx-b-0000002a``) on another box leads to."""
        endpoint = endpoint_of_channel(channel)
        for box in self.boxes.values():
            if box.trunk is not None and endpoint == f"PJSIP/{box.trunk}":
                return box.name
        return None

    def foreign(self, endpoint: str, reported_by: str) -> str | None:
        """The box an advisor's endpoint belongs to when ``reported_by`` is another one (a
        mismatch: the configuration wins); None when it is reported by its own box or is no
        advisor's."""
        owner = self.box_of_endpoint.get(endpoint)
        if owner is None or owner == reported_by:
            return None
        return owner
