"""Initial schema: calls, call_events, agent_states, agent_sessions.

Revision ID: r0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("linked_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("first_queue", sa.String(64), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=False, server_default=""),
        sa.Column("caller_name", sa.String(128), nullable=False, server_default=""),
        sa.Column("offered_at", sa.Double, nullable=False),
        sa.Column("presented_at", sa.Double),
        sa.Column("answered_at", sa.Double),
        sa.Column("ended_at", sa.Double, nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("agents_tried", sa.String(1024), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False, server_default=""),
        sa.Column("wait_s", sa.Double, nullable=False),
        sa.Column("talk_s", sa.Double, nullable=False),
        sa.Column("wrap_up_s", sa.Double, nullable=False),
        sa.Column("disposition", sa.String(64)),
        sa.Column("transferred_to", sa.String(128)),
        sa.Column("overflow_target", sa.String(128)),
        sa.Column("answered_within_sl", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_calls"),
    )
    op.create_index("ix_calls_offered_at", "calls", ["offered_at"])
    op.create_index("ix_calls_agent_id_answered_at", "calls", ["agent_id", "answered_at"])
    op.create_table(
        "call_events",
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("call_id", "seq", name="pk_call_events"),
    )
    op.create_index("ix_call_events_at", "call_events", ["at"])
    op.create_table(
        "agent_states",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("old", sa.String(32), nullable=False),
        sa.Column("new", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("duration_s", sa.Double),
        sa.PrimaryKeyConstraint("agent_id", "dimension", "at", "ordinal", name="pk_agent_states"),
    )
    op.create_index("ix_agent_states_at", "agent_states", ["at"])
    op.create_table(
        "agent_sessions",
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("login_at", sa.Double, nullable=False),
        sa.Column("logout_at", sa.Double),
        sa.PrimaryKeyConstraint("agent_id", "login_at", name="pk_agent_sessions"),
    )
    op.create_index("ix_agent_sessions_logout_at", "agent_sessions", ["logout_at"])


def downgrade() -> None:
    op.drop_table("agent_sessions")
    op.drop_table("agent_states")
    op.drop_table("call_events")
    op.drop_table("calls")
