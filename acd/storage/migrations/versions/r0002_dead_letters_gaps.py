"""Dead letters and service gaps; call ids as long as Asterisk's Uniqueids.

Revision ID: r0002
Revises: r0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision = "r0001"
branch_labels = None
depends_on = None

# (table, column): ids that hold an Asterisk Uniqueid (up to 150 characters) plus a "#N" suffix.
_CALL_IDS = (("calls", "call_id"), ("calls", "linked_id"), ("call_events", "call_id"))


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths (and cannot ALTER a column's type): nothing to do.
    if op.get_bind().dialect.name != "sqlite":
        for table, column in _CALL_IDS:
            op.alter_column(
                table, column, type_=sa.String(160), existing_type=sa.String(64), nullable=False
            )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("set_aside_at", sa.Double, nullable=False),
        sa.Column("row_table", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(160)),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("row", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_set_aside_at", "dead_letters", ["set_aside_at"])
    op.create_table(
        "service_gaps",
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("ended_at", sa.Double, nullable=False),
        sa.Column("calls_reported", sa.Integer),
        sa.Column("calls_recovered", sa.Integer, nullable=False, server_default="0"),
        sa.Column("detail", sa.String(300), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("started_at", name="pk_service_gaps"),
    )
    op.create_index("ix_service_gaps_ended_at", "service_gaps", ["ended_at"])


def downgrade() -> None:
    op.drop_table("service_gaps")
    op.drop_table("dead_letters")
    if op.get_bind().dialect.name != "sqlite":
        for table, column in _CALL_IDS:
            op.alter_column(
                table, column, type_=sa.String(64), existing_type=sa.String(160), nullable=False
            )
