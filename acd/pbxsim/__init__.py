"""A virtual Asterisk 22: real AMI server, FastAGI client, simulated phones and callers.

It imports nothing from the rest of ``acd``: its AMI/AGI codec is written from recorded traffic,
so the daemon and its simulator cannot share a misunderstanding.
"""

from acd.pbxsim.config import (
    AmiUser,
    DialplanConfig,
    PbxConfig,
    PhoneConfig,
    QueueConfig,
    Timings,
)
from acd.pbxsim.dialplan import CallRecord
from acd.pbxsim.phones import PhoneBehaviour
from acd.pbxsim.sim import PbxSim

__all__ = [
    "AmiUser",
    "CallRecord",
    "DialplanConfig",
    "PbxConfig",
    "PbxSim",
    "PhoneBehaviour",
    "PhoneConfig",
    "QueueConfig",
    "Timings",
]
