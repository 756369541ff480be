"""Call recordings: one row per call that heard the notice (recorded or objected), and the log of
what was done to each (objected, started, muted, unmuted, listened).

Revision ID: r0009
Revises: r0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0009"
down_revision = "r0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("call_id", sa.String(160), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("caller_number", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("path", sa.String(500), nullable=False, server_default=""),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("ended_at", sa.Double),
        sa.Column("size_bytes", sa.BigInteger),
        sa.PrimaryKeyConstraint("call_id", name="pk_recordings"),
    )
    op.create_index("ix_recordings_started_at", "recordings", ["started_at"])
    op.create_index("ix_recordings_caller_number", "recordings", ["caller_number"])
    op.create_table(
        "recording_log",
        sa.Column("entry_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(160), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", name="pk_recording_log"),
    )
    op.create_index("ix_recording_log_call_id_at", "recording_log", ["call_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_recording_log_call_id_at", table_name="recording_log")
    op.drop_table("recording_log")
    op.drop_index("ix_recordings_caller_number", table_name="recordings")
    op.drop_index("ix_recordings_started_at", table_name="recordings")
    op.drop_table("recordings")
