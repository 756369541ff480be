"""Active/standby: the lease row of each cluster's leader (leadership).

Revision ID: r0012
Revises: r0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0012"
down_revision = "r0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leadership",
        sa.Column("cluster", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("term", sa.BigInteger, nullable=False),
        sa.Column("backend_pid", sa.Integer),
        sa.Column("acquired_at", sa.Double, nullable=False),
        sa.Column("lease_until", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("cluster", name="pk_leadership"),
    )


def downgrade() -> None:
    op.drop_table("leadership")
