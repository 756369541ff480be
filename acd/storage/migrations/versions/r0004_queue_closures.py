"""Emergency closures of queues (opening hours): one row per queue closed until reopened.

Revision ID: r0004
Revises: r0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0004"
down_revision = "r0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_closures",
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("closed_at", sa.Double, nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("queue", name="pk_queue_closures"),
    )


def downgrade() -> None:
    op.drop_table("queue_closures")
