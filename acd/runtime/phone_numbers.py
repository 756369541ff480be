"""Phone numbers as people write them -> E.164, with the centre's country as the default region.

``01 99 00 00 01`` in a French centre is ``+33199000001``; ``+44 20 7946 0000`` stays British.
Strict (``e164_or_none``) for what acd stores about a customer, where a bad number is refused with
its reason; the records keep what they cannot parse (``acd.storage.rows.normalise_number``).
"""

from __future__ import annotations

import functools

import phonenumbers


class NumberError(ValueError):
    """A number that is not a valid phone number for the centre's country (message says why)."""


@functools.lru_cache(maxsize=8192)
def to_e164(text: str, country: str) -> str:
    """The E.164 form of ``text``; raises ``NumberError`` when it is not a valid number."""
    cleaned = text.strip()
    if not cleaned:
        raise NumberError("empty number")
    if len(cleaned) > 32:
        raise NumberError("too long for a phone number")
    try:
        parsed = phonenumbers.parse(cleaned, country.upper())
    except phonenumbers.NumberParseException as exc:
        raise NumberError(f"not a phone number: {cleaned!r} ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise NumberError(f"not a valid number for {country.upper()}: {cleaned!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def e164_or_none(text: str, country: str) -> str | None:
    """The E.164 form of ``text``, or None when it is not a valid number (a caller's number)."""
    try:
        return to_e164(text, country)
    except NumberError:
        return None


# Numbers a callback never calls, by type: the centre would pay the caller's premium rate.
_PAID_BY_THE_CALLER = frozenset(
    {phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST}
)


def callback_refusal(e164: str) -> str | None:
    """Why a callback must not call ``e164`` by the numbering plan: ``invalid`` (no such number:
    wrong length, unallocated range) or ``premium`` (premium rate or shared cost); None when it
    may. The centre's own rules (country, prefixes, limits) are ``acd.core.callbacks``'."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "invalid"
    if not phonenumbers.is_valid_number(parsed):
        return "invalid"
    if phonenumbers.number_type(parsed) in _PAID_BY_THE_CALLER:
        return "premium"
    return None
