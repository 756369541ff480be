"""Each run of the daemon and the last instant it was known alive (restart reconciliation, reports).

Revision ID: r0007
Revises: r0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0007"
down_revision = "r0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemon_runs",
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("last_seen_at", sa.Double, nullable=False),
        sa.Column("fallback_calls", sa.BigInteger),
        sa.PrimaryKeyConstraint("started_at", name="pk_daemon_runs"),
    )
    op.create_index("ix_daemon_runs_last_seen_at", "daemon_runs", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_daemon_runs_last_seen_at", "daemon_runs")
    op.drop_table("daemon_runs")
