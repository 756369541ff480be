"""Errors of the Asterisk adapters: one base, one family per protocol, callers catch the base.

Local errors (we would break the protocol) are `...Invalid`; remote ones (Asterisk, or whatever
sits on the socket, broke it or went away) are the others.
"""

from __future__ import annotations


class AsteriskError(Exception):
    """Base of every error raised by acd.asterisk."""


class AmiError(AsteriskError):
    """Something went wrong on the AMI connection."""


class AmiInvalidActionError(AmiError):
    """We refused to send an action Asterisk would misread (CR/LF in a value, line too long)."""


class AmiNotConnectedError(AmiError):
    """No logged-in AMI connection right now; nothing was sent."""


class AmiConnectionLostError(AmiError):
    """The connection dropped before the response arrived. The action is never re-sent:
    the caller decides whether it is still worth doing."""


class AmiTimeoutError(AmiError):
    """No response within the action's timeout. The action may or may not have run."""


class AmiNotAsteriskError(AmiError):
    """What answers on the AMI port is not Asterisk's manager (no `Asterisk Call Manager/`
    greeting): a wrong host or port. Retrying is pointless until the configuration changes."""


class AmiLoginError(AmiError):
    """Asterisk refused the login (it closes the socket right after)."""


class AgiError(AsteriskError):
    """Something went wrong on a FastAGI session."""


class AgiInvalidCommandError(AgiError):
    """We refused to send a command Asterisk would misparse (newline in an argument, ...)."""


class AgiTimeoutError(AgiError):
    """No reply to an AGI command within its timeout; the session is closed."""


class AgiSessionClosedError(AgiError):
    """The FastAGI socket is closed (by Asterisk, by us, or after a protocol error)."""


class AgiProtocolError(AgiError):
    """Asterisk (or whatever is on the socket) sent something that is not AGI."""
