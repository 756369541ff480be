"""When a run last read the fallback queues' count (daemon_runs.fallback_counted_at).

Revision ID: r0011
Revises: r0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0011"
down_revision = "r0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("daemon_runs") as table:
        table.add_column(sa.Column("fallback_counted_at", sa.Double))


def downgrade() -> None:
    with op.batch_alter_table("daemon_runs") as table:
        table.drop_column("fallback_counted_at")
