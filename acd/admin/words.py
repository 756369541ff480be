"""Human words for the codes the API sends (states, outcomes, pause reasons, dispositions).

The pages receive codes (``on_call``, ``no_answer``) and show these words, translated: the page
template hands them to the page's script as JSON. ``N_`` only marks a message for extraction
(``scripts/i18n``); the translation happens when a page is rendered, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final


def N_(message: str) -> str:  # noqa: N802 -- the gettext convention extractors look for
    return message


ACTIVITIES: Final = {
    "available": N_("Available"),
    "reserved": N_("Ringing"),
    "on_call": N_("On call"),
    "wrap_up": N_("Wrap-up"),
    "paused": N_("Paused"),
    "breather": N_("Breather"),
    "recovery": N_("Recovery pause"),
    "offline": N_("Logged out"),
}

# What each colour means, in the legend's order (the activity codes above).
ACTIVITY_HINTS: Final = {
    "available": N_("ready for the next call"),
    "reserved": N_("a call is being offered"),
    "on_call": N_("talking to a caller"),
    "wrap_up": N_("finishing the last call's notes"),
    "paused": N_("chosen pause"),
    "breather": N_("short rest imposed by the workload limit"),
    "recovery": N_("rest after a difficult call"),
    "offline": N_("not working for the ACD now"),
}

PHONES: Final = {
    "idle": N_("Phone free"),
    "ringing": N_("Phone ringing"),
    "in_use": N_("Phone in use"),
    "unreachable": N_("Phone unreachable"),
}

CALL_STATES: Final = {
    "waiting": N_("Waiting"),
    "presented": N_("Ringing an advisor"),
    "connected": N_("Connected"),
    "wrap_up": N_("Ended, in wrap-up"),
    "completed": N_("Completed"),
    "abandoned": N_("Caller hung up"),
    "overflowed": N_("Sent elsewhere"),
    "ended": N_("Ended"),
    "scheduled": N_("Callback scheduled"),
    "closed_offer": N_("Closed: callback offered"),
}

OUTCOMES: Final = {
    "answered": N_("Answered"),
    "abandoned": N_("Abandoned"),
    "overflowed": N_("Overflowed"),
    "timed_out": N_("Waited too long"),
    "rejected": N_("Refused: nobody logged in"),
}

# Pause reasons: the defaults of ``http.pause_reasons`` and those the engine sets itself. A
# centre's own reasons are shown as written (underscores as spaces).
PAUSE_REASONS: Final = {
    "break": N_("Break"),
    "lunch": N_("Lunch"),
    "training": N_("Training"),
    "meeting": N_("Meeting"),
    "admin": N_("Paperwork"),
    "no_answer": N_("Missed calls"),
    "end_of_shift": N_("End of shift"),
    "recovery": N_("Recovery"),
    "daemon_stopped": N_("ACD restarted"),
}

DISPOSITIONS: Final = {
    "resolved": N_("Resolved"),
    "follow_up": N_("Follow-up needed"),
    "escalated": N_("Escalated"),
    "wrong_number": N_("Wrong number"),
    "complaint": N_("Complaint"),
}

QUEUE_POLICIES: Final = {
    "longest_idle": N_("Longest idle first"),
    "best_skill": N_("Best skill first"),
    "least_occupied": N_("Least occupied first"),
    "fewest_calls": N_("Fewest calls first"),
    "round_robin": N_("Round robin"),
}

# Sentences the scripts build: {n}, {name}… are filled in by the page.
PHRASES: Final = {
    "live": N_("live"),
    "connecting": N_("connecting…"),
    "reconnecting": N_("reconnecting…"),
    "signed_out": N_("not signed in"),
    "occupancy_reason": N_("occupancy {n}"),
    "pause_after_call": N_("pause after this call: {reason}"),
    "unknown_number": N_("unknown number"),
    "done": N_("Done."),
    "saved": N_("Saved."),
    "nothing_changed": N_("Nothing to change."),
    "hint_breather": N_(
        "Callers wait only because every advisor of this queue is taking a breather."
    ),
    "hint_skill": N_("Callers wait for a skill that no free advisor has."),
    "hint_nobody": N_("Callers wait and no advisor of this queue is logged in."),
    "spread": N_(
        "Spread over {n} advisors — occupancy {occupancy}, calls {calls}, talk time {talk}"
    ),
    "no_queue": N_("No queue or advisor configured."),
    "no_call": N_("No caller right now."),
    "no_waiting": N_("Nobody is waiting."),
    "all_queues": N_("all queues"),
    "confirm_logout": N_("Log {name} out?"),
    "pause_action": N_("Pause"),
    "column_queue": N_("Queue"),
    "column_state": N_("State"),
    "column_number": N_("Number"),
    "column_name": N_("Name"),
    "column_for": N_("For"),
    "logout_action": N_("Log off"),  # a supervisor logging an advisor out
    "pin_locked": N_("PIN locked"),  # too many wrong PINs on the feature codes
    "unlock_pin_action": N_("Unlock PIN"),
    "pin_unlocked": N_("{name}: PIN unlocked."),
    "hours_closed": N_("Closed ({reason}) — opens {when}"),
    "hours_closed_open_end": N_("Closed ({reason}) until reopened"),
    "hours_closing": N_("Open — closes {when}"),
    "callbacks_pending": N_("Callbacks: {count} pending"),
    "callbacks_next": N_("Callbacks: {count} pending, next at {when}"),
    # Callers refused by join_when_empty today (out of the service level, so shown here).
    "rejected_today": N_("{count} turned away today: nobody to take them"),
    "close_queue": N_("Close now"),
    "reopen_queue": N_("Reopen"),
    "closure_reason": N_("Why close this queue now?"),
    "column_listen": N_("Listen in"),
    "listen_action": N_("Listen"),
    "whisper_action": N_("Whisper"),
    "barge_action": N_("Barge"),
    "leave_action": N_("Leave"),
    "listening_to": N_("{name}: {mode}, {state}"),
    "no_listening": N_("You are not listening to any call."),
    "being_listened": N_("A supervisor is listening to this call."),
    "listened_by": N_("{when}: {name} ({modes}), {duration}"),
    "never_listened": N_("No supervisor has listened to your calls."),
    "play_action": N_("Play"),
    "no_recording": N_("No recording yet."),
    "recording_line": N_("{when} · {queue} · {name} · {status}"),
    "column_control": N_("Control"),
    "move_action": N_("Move to"),
    "raise_action": N_("Serve first"),
    "end_action": N_("End"),
    "ready_action": N_("Ready"),
    "confirm_end": N_("End this call? Use it only for a call that is stuck."),
    "ask_reason": N_("Reason shown to the advisor (optional):"),
    "notice_pause": N_("{by} paused you: {reason}"),
    "notice_ready": N_("{by} made you available: {reason}"),
    "notice_logout": N_("{by} logged you out: {reason}"),
}

# Listen, whisper, barge (acd.runtime.ports.ListeningMode) and where a listening stands.
LISTENING_WORDS: Final = {
    "listen": N_("listening"),
    "whisper": N_("whispering"),
    "barge": N_("barging in"),
    "calling": N_("your phone rings"),
    "listening": N_("attached"),
    "ended": N_("ended"),
    # A call's recording (acd.runtime.ports.RecordingStatus).
    "recorded": N_("recorded"),
    "objected": N_("the caller objected"),
    "allowed": N_("not recorded"),
}

# Why a queue is open or closed (acd.core.calendar.Reason), as the pages say it.
HOURS_REASONS: Final = {
    "schedule": N_("opening hours"),
    "holiday": N_("public holiday"),
    "exception": N_("exceptional hours"),
    "emergency": N_("emergency closure"),
    "last_entry": N_("last entry passed"),
}


def translated(words: Mapping[str, str], gettext: Callable[[str], str]) -> dict[str, str]:
    """The same mapping, each word in the reader's language."""
    return {code: gettext(message) for code, message in words.items()}


def page_words(gettext: Callable[[str], str]) -> dict[str, dict[str, str]]:
    """Everything a page's script may need to say, translated."""
    return {
        "activities": translated(ACTIVITIES, gettext),
        "phones": translated(PHONES, gettext),
        "call_states": translated(CALL_STATES, gettext),
        "outcomes": translated(OUTCOMES, gettext),
        "pause_reasons": translated(PAUSE_REASONS, gettext),
        "dispositions": translated(DISPOSITIONS, gettext),
        "policies": translated(QUEUE_POLICIES, gettext),
        "phrases": translated(PHRASES, gettext),
        "hours_reasons": translated(HOURS_REASONS, gettext),
        "listening": translated(LISTENING_WORDS, gettext),
    }
