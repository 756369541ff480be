"""The supervisor's desk: one row per use of listen, whisper or barge.

Revision ID: r0008
Revises: r0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0008"
down_revision = "r0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listenings",
        sa.Column("listening_id", sa.String(64), nullable=False),
        sa.Column("supervisor", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("modes", sa.String(100), nullable=False),
        sa.Column("requested_at", sa.Double, nullable=False),
        sa.Column("started_at", sa.Double),
        sa.Column("ended_at", sa.Double),
        sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("listening_id", name="pk_listenings"),
    )
    op.create_index("ix_listenings_agent", "listenings", ["agent_id", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_listenings_agent", table_name="listenings")
    op.drop_table("listenings")
