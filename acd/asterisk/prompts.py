"""What acd says to a waiting caller, as AGI command lines. Pure: no I/O.

Sound names are Asterisk's core sounds (``queue-*``, ``digits/*``); the channel's language picks
the voice.
"""

from __future__ import annotations

from acd.asterisk.agi_codec import command_line, quoted, word

# The prompts a centre records itself (the others are Asterisk's core sounds, French and English),
# with the words of the placeholder recordings in sounds/placeholder/ (docs/architecture.md).
OWN_PROMPTS: dict[str, dict[str, str]] = {
    "acd-closed": {
        "fr": "Notre centre est actuellement fermé.",
        "en": "Our centre is closed at the moment.",
    },
    "acd-reopens": {"fr": "Nous rouvrons", "en": "We open again on"},
    "acd-callback-offer": {
        "fr": "Pour être rappelé sans perdre votre place, appuyez sur 1.",
        "en": "To be called back without losing your place, press 1.",
    },
    "acd-callback-offer-closed": {
        "fr": "Pour être rappelé dès notre réouverture, appuyez sur 1.",
        "en": "To be called back as soon as we open, press 1.",
    },
    "acd-callback-number": {
        "fr": "Nous vous rappellerons au",
        "en": "We will call you back on",
    },
    "acd-callback-confirm": {
        "fr": "Pour confirmer ce numéro, appuyez sur 1. Pour en donner un autre, appuyez sur 2.",
        "en": "To confirm this number, press 1. To give another number, press 2.",
    },
    "acd-callback-enter-number": {
        "fr": "Composez le numéro où vous rappeler, puis la touche dièse.",
        "en": "Dial the number to call you back on, then the hash key.",
    },
    "acd-callback-confirmed": {
        "fr": "C'est noté : un conseiller vous rappellera.",
        "en": "Thank you: an advisor will call you back.",
    },
    "acd-callback-refused-withheld": {
        "fr": "Votre numéro est masqué : nous ne pouvons pas vous rappeler.",
        "en": "Your number is withheld: we cannot call you back.",
    },
    "acd-callback-refused-invalid": {
        "fr": "Nous ne pouvons pas rappeler ce numéro.",
        "en": "We cannot call this number back.",
    },
    "acd-callback-refused-premium": {
        "fr": "Nous ne rappelons pas les numéros surtaxés.",
        "en": "We do not call premium-rate numbers back.",
    },
    "acd-callback-refused-foreign": {
        "fr": "Nous ne rappelons pas les numéros étrangers.",
        "en": "We do not call numbers abroad back.",
    },
    "acd-callback-refused-limit": {
        "fr": "Trop de rappels ont déjà été demandés aujourd'hui pour ce numéro.",
        "en": "Too many callbacks were already asked for this number today.",
    },
    "acd-callback-refused-opposed": {
        "fr": "Ce numéro ne peut pas être appelé.",
        "en": "This number cannot be called.",
    },
    "acd-callback-refused-refused": {
        "fr": "Nous ne pouvons pas vous rappeler.",
        "en": "We cannot call you back.",
    },
    "acd-callback-advisor": {
        "fr": "Rappel d'un client, au numéro",
        "en": "Calling a customer back, on",
    },
    "acd-callback-greeting": {
        "fr": "Bonjour, votre conseiller vous rappelle comme convenu.",
        "en": "Hello, your advisor is calling you back as agreed.",
    },
    "acd-recording-notice": {
        "fr": "Cet appel peut être enregistré pour la qualité du service.",
        "en": "This call may be recorded for quality purposes.",
    },
    # An outbound campaign's contact who answered and found no advisor within 2 s: the short
    # message naming the centre (a centre records it with its own name).
    "acd-outbound-abandoned": {
        "fr": "Bonjour, ici le service clients. Aucun conseiller n'est disponible, "
        "nous vous prions de nous excuser. Au revoir.",
        "en": "Hello, this is the customer service. No advisor is available, "
        "please accept our apologies. Goodbye.",
    },
    "acd-no-advisor": {
        "fr": "Aucun conseiller n'est disponible pour le moment. Nous vous rappellerons.",
        "en": "No advisor is available at the moment. We will call you back.",
    },
}

# Languages whose word for "minute" is feminine: SAY NUMBER's gender option `f` makes say.c say
# "une minute", "vingt et une minutes" (ast_say_number_full_fr, digits/1F).
_FEMININE_MINUTE = frozenset({"fr"})


def say_number(n: int, gender: str = "", keys: str = "") -> str:
    """``SAY NUMBER n "<keys>"`` [gender]: Asterisk's say.c speaks n by the channel language's
    rules (French 21 "vingt et un", 71 "soixante et onze", 80 "quatre-vingts"), one AGI command
    that a new command line interrupts like STREAM FILE (res_agi.c handle_saynumber passes its
    control socket to ast_say_number_full and writes no reply when that stops it). A key of
    ``keys`` ends it with ``200 result=<ASCII>``."""
    parts = ["SAY NUMBER", str(n), quoted(keys)]
    if gender:
        parts.append(word(gender))
    return command_line(*parts)


def stream_file(name: str, keys: str = "") -> str:
    """``STREAM FILE <name> "<keys>"``: a key of ``keys`` (escape digits) ends it with
    ``200 result=<ASCII> endpos=N`` (S14); other keys only reach AMI."""
    return command_line("STREAM FILE", word(name), quoted(keys))


def prompt_lines(
    kind: str, position: int, expected_wait_s: int, language: str = "", keys: str = ""
) -> list[str]:
    """The AGI command lines of one announcement (Asterisk's core sounds and SAY NUMBER), each a
    part the leg may interrupt: position, then expected wait. ``keys``: the digits that end it
    (the queue's ``prompt_keys``), reported as ``CallerKeyPressed``.

    ``position`` 1 is the next caller to be served; an ``expected_wait_s`` of 0 says nothing of it.
    """
    lines: list[str] = []
    if kind == "callback_offer":
        return [stream_file("acd-callback-offer", keys)]
    if kind.startswith("callback_refused_"):
        return [stream_file(f"acd-callback-refused-{kind.removeprefix('callback_refused_')}")]
    if kind == "position":
        if position <= 1:
            lines.append(stream_file("queue-youarenext", keys))
        else:
            lines += [
                stream_file("queue-thereare", keys),
                say_number(position - 1, keys=keys),
                stream_file("queue-callswaiting", keys),
            ]
    if kind in ("position", "expected_wait") and expected_wait_s > 0:
        gender = "f" if language.split("_", maxsplit=1)[0] in _FEMININE_MINUTE else ""
        lines.append(stream_file("queue-holdtime", keys))
        if expected_wait_s < 60:
            lines += [stream_file("queue-less-than", keys), say_number(1, gender, keys)]
            lines.append(stream_file("queue-minute", keys))
        else:
            minutes = round(expected_wait_s / 60)
            lines += [say_number(minutes, gender, keys), stream_file("queue-minutes", keys)]
    return lines


# The callback number's confirmation: 1 accepts the number read back, 2 types another.
ACCEPT_KEY = "1"
RETYPE_KEY = "2"
CONFIRM_KEYS = ACCEPT_KEY + RETYPE_KEY
# How long the caller has to choose once the question is asked (a stream of silence: it ends
# on a key and stops for a new command line, like every other part, S14).
CHOICE_WAIT = "silence/5"
# GET DATA: how long Asterisk waits for the first and each next digit (ms), and the most
# digits taken ('#' ends the number before).
TYPING_TIMEOUT_MS = 6000
TYPING_MAX_DIGITS = 20


def confirm_lines(digits: str) -> list[str]:
    """The number a callback would call, read back (``SAY DIGITS``, Asterisk's digit sounds in
    the channel's language), then the question; every part ends on 1 or 2."""
    return [
        stream_file("acd-callback-number", CONFIRM_KEYS),
        command_line("SAY DIGITS", word(digits), quoted(CONFIRM_KEYS)),
        stream_file("acd-callback-confirm", CONFIRM_KEYS),
        stream_file(CHOICE_WAIT, CONFIRM_KEYS),
    ]


def typing_line() -> str:
    """``GET DATA``: "dial the number, then #"; the reply is the digits typed."""
    return command_line(
        "GET DATA",
        word("acd-callback-enter-number"),
        str(TYPING_TIMEOUT_MS),
        str(TYPING_MAX_DIGITS),
    )


# How SAY DATETIME says a reopening, per language (Asterisk's say.c format letters: A weekday,
# d day of month, B month, k / I hour, M minutes, p AM/PM; quoted text is a sound file).
SAY_DATETIME_FORMATS = {
    "fr": "AdB 'digits/at' kM",
    "en": "ABd 'digits/at' IMp",
}


def closed_lines(
    language: str, timezone: str, reopens_at: float | None, keys: str = ""
) -> list[str]:
    """ "We are closed" and, when known, "we open again on" + the date and time said by Asterisk
    (SAY DATETIME, in the channel's language and the centre's zone). ``acd-closed`` and
    ``acd-reopens`` are the centre's own recordings (docs/hours.md). ``keys`` end each part
    (a closed queue's callback offer: the caller need not wait for the question)."""
    if reopens_at is None:
        return [stream_file("acd-closed", keys)]
    fmt = SAY_DATETIME_FORMATS.get(language, SAY_DATETIME_FORMATS["en"])
    return [
        stream_file("acd-closed", keys),
        stream_file("acd-reopens", keys),
        command_line(
            "SAY DATETIME", str(int(reopens_at)), quoted(keys), quoted(fmt), word(timezone)
        ),
    ]


def closed_offer_lines(
    language: str, timezone: str, reopens_at: float | None, keys: str = ""
) -> list[str]:
    """A closed queue's callback offer (``closed = "callback"``): closed, when it opens, then
    "to be called back as soon as we open, press 1"."""
    return [
        *closed_lines(language, timezone, reopens_at, keys),
        stream_file("acd-callback-offer-closed", keys),
    ]
