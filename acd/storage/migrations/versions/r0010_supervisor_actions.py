"""Supervisors' live control: one row per forced advisor action or caller moved, re-prioritised
or ended, with who did it and why.

Revision ID: r0010
Revises: r0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0010"
down_revision = "r0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervisor_actions",
        sa.Column("entry_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("call_id", sa.String(160)),
        sa.Column("detail", sa.String(300), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("entry_id", name="pk_supervisor_actions"),
    )
    op.create_index("ix_supervisor_actions_at", "supervisor_actions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_supervisor_actions_at", table_name="supervisor_actions")
    op.drop_table("supervisor_actions")
