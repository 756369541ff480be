"""The record tables, as SQLAlchemy Core metadata (Alembic migrations are written from this).

Times are epoch seconds (UTC) in double precision: the engine's own clock values, stored as they
were emitted, so report intervals are computed the same way on SQLite and PostgreSQL. Every table
has a natural key derived from the records themselves, so writing a record twice is a no-op.
"""

from __future__ import annotations

import sqlalchemy as sa

CALL_ID_MAX_LEN = 160

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

calls = sa.Table(
    "calls",
    metadata,
    # The caller channel's Uniqueid of the AGI session (Asterisk allows 150 characters), and
    # "#N" for a caller's Nth entry on the same channel.
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN), primary_key=True),
    sa.Column("linked_id", sa.String(CALL_ID_MAX_LEN), nullable=False, server_default=""),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("first_queue", sa.String(64), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    # E.164 when phonenumbers can make sense of it, else as received ("anonymous", an extension).
    sa.Column("caller_number", sa.String(64), nullable=False, server_default=""),
    sa.Column("caller_name", sa.String(128), nullable=False, server_default=""),
    sa.Column("offered_at", sa.Double, nullable=False),
    sa.Column("presented_at", sa.Double),
    sa.Column("answered_at", sa.Double),
    sa.Column("ended_at", sa.Double, nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("agents_tried", sa.String(1024), nullable=False, server_default=""),
    # answered | abandoned | overflowed | timed_out | rejected | closed | fallback |
    # callback_requested (the caller chose a callback); a reservation's leg (callback, outbound):
    # completed | released | failed | cancelled
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False, server_default=""),
    sa.Column("wait_s", sa.Double, nullable=False),
    sa.Column("talk_s", sa.Double, nullable=False),
    sa.Column("wrap_up_s", sa.Double, nullable=False),
    sa.Column("disposition", sa.String(64)),
    sa.Column("transferred_to", sa.String(128)),
    sa.Column("overflow_target", sa.String(128)),
    # Decided by the engine with the queue's own threshold at the time of the call.
    sa.Column("answered_within_sl", sa.Boolean, nullable=False),
    sa.Index(None, "offered_at"),
    sa.Index(None, "agent_id", "answered_at"),
    # A customer's history (screen pop, API) is found by their numbers.
    sa.Index(None, "caller_number", "offered_at"),
)

# The relational equivalent of Asterisk's queue_log: one row per thing that happened to a call.
call_events = sa.Table(
    "call_events",
    metadata,
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    # offered, prompted, presented, not_answered, answered, requeued, relaxed, transferred,
    # completed, abandoned, overflowed, ended, disposition, fallback
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index(None, "at"),
)

# Every change of every state dimension (presence, phone, activity) of every advisor.
agent_states = sa.Table(
    "agent_states",
    metadata,
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("dimension", sa.String(16), primary_key=True),
    sa.Column("at", sa.Double, primary_key=True),
    # Several changes of one dimension can share an instant (wrap-up ends, a call is presented).
    sa.Column("ordinal", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("old", sa.String(32), nullable=False),
    sa.Column("new", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64)),
    # How long ``old`` lasted; NULL when its start is not known (first change ever recorded).
    sa.Column("duration_s", sa.Double),
    sa.Index(None, "at"),
)

# Login to logout; ``logout_at`` NULL while the advisor is logged in (restored after a restart).
agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("login_at", sa.Double, primary_key=True),
    sa.Column("logout_at", sa.Double),
    sa.Index(None, "logout_at"),
)

# Rows the database refused (or that could never be stored), set aside with the reason instead of
# blocking the rows after them. ``row`` is the row as the recorder built it, in JSON.
dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("set_aside_at", sa.Double, nullable=False),
    sa.Column("row_table", sa.String(32), nullable=False),
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN)),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("row", sa.Text, nullable=False),
    sa.Index(None, "set_aside_at"),
)

# While acd was down, calls went to the dialplan's fallback: those Asterisk could still describe
# at restart have their own rows (``calls_recovered``); this row stands for the interval, with the
# number of calls Asterisk reported for it when it could (NULL: unknown).
service_gaps = sa.Table(
    "service_gaps",
    metadata,
    sa.Column("started_at", sa.Double, primary_key=True),
    sa.Column("ended_at", sa.Double, nullable=False),
    sa.Column("calls_reported", sa.Integer),
    sa.Column("calls_recovered", sa.Integer, nullable=False, server_default="0"),
    sa.Column("detail", sa.String(300), nullable=False, server_default=""),
    sa.Index(None, "ended_at"),
)

# The customer directory (acd.core.customers): one row per customer, its numbers, its consents.
# Numbers are E.164 and belong to one customer each; ``last_activity_at`` (their last call, or
# their creation) is what ``[retention] inactive_customers_days`` counts from.
customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    # consumer | business
    sa.Column("kind", sa.String(16), nullable=False, server_default="consumer"),
    sa.Column("segment", sa.String(64), nullable=False, server_default=""),
    sa.Column("vip_level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("language", sa.String(8), nullable=False, server_default=""),
    sa.Column("preferred_agent", sa.String(64), nullable=False, server_default=""),
    sa.Column("region", sa.String(64), nullable=False, server_default=""),
    sa.Column("attributes", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("last_activity_at", sa.Double, nullable=False),
    sa.Index(None, "last_activity_at"),
)

customer_numbers = sa.Table(
    "customer_numbers",
    metadata,
    sa.Column("number", sa.String(20), primary_key=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.Index(None, "customer_id"),
)

customer_consents = sa.Table(
    "customer_consents",
    metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(32), primary_key=True),
    sa.Column("given_at", sa.Double, primary_key=True),
    # consent | contract | legitimate_interest | legal_obligation
    sa.Column("legal_basis", sa.String(24), nullable=False),
    sa.Column("withdrawn_at", sa.Double),
    sa.Column("collected_by", sa.String(32), nullable=False, server_default=""),
    sa.Column("proof_ref", sa.String(128), nullable=False, server_default=""),
)

# Numbers that must not be called (the person's request, the national do-not-call list); kept
# apart from customers: an opposition outlives the customer record it came with.
contact_oppositions = sa.Table(
    "contact_oppositions",
    metadata,
    sa.Column("number", sa.String(20), primary_key=True),
    # '' opposes every purpose.
    sa.Column("purpose", sa.String(32), primary_key=True, server_default=""),
    sa.Column("since", sa.Double, nullable=False),
    sa.Column("until", sa.Double),
    sa.Column("source", sa.String(32), nullable=False, server_default="customer"),
)

# The advisor's note on a call (personal data: the customer may read it).
call_notes = sa.Table(
    "call_notes",
    metadata,
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN), primary_key=True),
    sa.Column("agent_id", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Index(None, "customer_id"),
    sa.Index(None, "at"),
)

# Emergency closures of queues (a fire drill, an outage), closed by a supervisor until reopened:
# one row per queue closed now, so a restarted daemon (and ``acd hours``) still sees them.
queue_closures = sa.Table(
    "queue_closures",
    metadata,
    sa.Column("queue", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("closed_at", sa.Double, nullable=False),
    sa.Column("closed_by", sa.String(64), nullable=False, server_default=""),
)

# Outbound campaigns: each campaign's state (its settings are [campaigns.NAME] in acd.toml).
campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    # draft | running | paused | stopped
    sa.Column("state", sa.String(16), nullable=False, server_default="draft"),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False, server_default=""),
)

# A campaign's contact list: customers (acd's customer directory) and the number to dial.
campaign_contacts = sa.Table(
    "campaign_contacts",
    metadata,
    sa.Column("campaign", sa.String(64), primary_key=True),
    sa.Column("number", sa.String(20), primary_key=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    # pending | done (a final outcome) | excluded (a rule refuses it for good)
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("next_at", sa.Double, nullable=False, server_default="0"),
    sa.Column("last_outcome", sa.String(24), nullable=False, server_default=""),
    sa.Column("imported_at", sa.Double, nullable=False),
    sa.Index(None, "customer_id"),
)

# Every dial attempt (and every dial a rule refused), with its outcome and reason: the attempt
# history the 4-in-30-days and 60-days-after-refusal rules read, and the compliance audit trail.
outbound_attempts = sa.Table(
    "outbound_attempts",
    metadata,
    sa.Column("attempt_id", sa.String(64), primary_key=True),
    sa.Column("campaign", sa.String(64), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    # dialed: an outcome (busy, no_answer, machine, answered, sale, refused...); not dialed: blocked
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("rule", sa.String(40), nullable=False, server_default=""),
    sa.Column("detail", sa.String(200), nullable=False, server_default=""),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN)),
    sa.Index(None, "customer_id", "at"),
    sa.Index(None, "number", "at"),
    sa.Index(None, "campaign", "at"),
)

# The callback book (acd.core callbacks): one row per callback, its latest state. Pending ones
# (``pending``, ``reserved``) are handed back to the engine at start, so none is lost by a
# restart; the finished ones keep the figures (time to callback, attempts) until purged.
callbacks = sa.Table(
    "callbacks",
    metadata,
    sa.Column("callback_id", sa.String(CALL_ID_MAX_LEN), primary_key=True),
    sa.Column("queue", sa.String(64), nullable=False),
    # pending | reserved | connected | completed | failed | cancelled
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False, server_default=""),
    sa.Column("requested_at", sa.Double, nullable=False),
    # Its place in line: the original caller's arrival, or its scheduled time.
    sa.Column("arrived_at", sa.Double, nullable=False),
    sa.Column("due_at", sa.Double, nullable=False),
    sa.Column("give_up_at", sa.Double),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("from_call_id", sa.String(CALL_ID_MAX_LEN)),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("reason", sa.String(64), nullable=False, server_default=""),
    sa.Column("connected_at", sa.Double),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index(None, "state", "due_at"),
    sa.Index(None, "number", "requested_at"),
)

# One row per run of the daemon: when it started and the last instant it was known alive (a
# heartbeat every few seconds, and its stop). A run that ended without a stop (kill -9) ends at its
# last heartbeat: restart reconciliation closes its calls and sessions there, and reports stop
# counting an open session's logged-in time there. ``fallback_calls``: the calls Asterisk's
# fallback queues had completed or seen abandoned (QueueStatus) at that instant, NULL when AMI could
# not say; the next run's count minus this one is what the fallback took while acd was down.
daemon_runs = sa.Table(
    "daemon_runs",
    metadata,
    sa.Column("started_at", sa.Double, primary_key=True),
    sa.Column("last_seen_at", sa.Double, nullable=False),
    sa.Column("fallback_calls", sa.BigInteger),
    # When that count was read: calls handed to the fallback after it are in the next difference.
    sa.Column("fallback_counted_at", sa.Double),
    sa.Index(None, "last_seen_at"),
)

# Active/standby (docs/scaling.md): one row per cluster, written by the process that holds the
# cluster's PostgreSQL advisory lock. ``term`` grows by one at each takeover; ``lease_until`` is the
# database's clock (epoch seconds) the leader's lease ends at unless renewed; ``backend_pid`` is the
# leader's session, which a standby ends once the lease is well past (a hung leader).
leadership = sa.Table(
    "leadership",
    metadata,
    sa.Column("cluster", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("term", sa.BigInteger, nullable=False),
    sa.Column("backend_pid", sa.Integer),
    sa.Column("acquired_at", sa.Double, nullable=False),
    sa.Column("lease_until", sa.Double, nullable=False),
)

# The supervisor's desk: every use of listen/whisper/barge (who listened to whom, when, how long,
# in which modes), kept for the advisor to see on their page.
listenings = sa.Table(
    "listenings",
    metadata,
    sa.Column("listening_id", sa.String(64), primary_key=True),
    sa.Column("supervisor", sa.String(64), nullable=False),
    sa.Column("agent_id", sa.String(64), nullable=False),
    sa.Column("call_id", sa.String(64), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("modes", sa.String(100), nullable=False),
    sa.Column("requested_at", sa.Double, nullable=False),
    sa.Column("started_at", sa.Double),
    sa.Column("ended_at", sa.Double),
    sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
    sa.Index("ix_listenings_agent", "agent_id", "requested_at"),
)


# Call recordings (MixMonitor, docs/supervision.md): one row per call whose caller heard the
# information notice, recorded or not (``objected``: the caller refused, nothing was recorded).
# ``path`` is the file as acd reads it; the file and its row are deleted together.
recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN), primary_key=True),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("caller_number", sa.String(64), nullable=False, server_default=""),
    # recorded | objected | allowed (on demand, not started)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("path", sa.String(500), nullable=False, server_default=""),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("ended_at", sa.Double),
    sa.Column("size_bytes", sa.BigInteger),
    sa.Index(None, "started_at"),
    sa.Index(None, "caller_number"),
)

# What happened to a recording, who did it: objected, started, muted, unmuted, listened.
recording_log = sa.Table(
    "recording_log",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN), nullable=False),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Index(None, "call_id", "at"),
)


# Supervisors' live control (docs/supervision.md): every forced pause, ready, logout, every caller
# moved, re-prioritised or ended, with who did it and why (the advisor sees the reason).
supervisor_actions = sa.Table(
    "supervisor_actions",
    metadata,
    sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("agent_id", sa.String(64)),
    sa.Column("call_id", sa.String(CALL_ID_MAX_LEN)),
    sa.Column("detail", sa.String(300), nullable=False, server_default=""),
    sa.Index(None, "at"),
)
