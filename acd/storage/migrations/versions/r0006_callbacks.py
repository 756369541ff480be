"""The callback book, and room in ``calls.outcome`` for ``callback_requested``.

Revision ID: r0006
Revises: r0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0006"
down_revision = "r0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.alter_column(
            "outcome", existing_type=sa.String(16), type_=sa.String(24), existing_nullable=False
        )
    op.create_table(
        "callbacks",
        sa.Column("callback_id", sa.String(160), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("requested_at", sa.Double, nullable=False),
        sa.Column("arrived_at", sa.Double, nullable=False),
        sa.Column("due_at", sa.Double, nullable=False),
        sa.Column("give_up_at", sa.Double),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("from_call_id", sa.String(160)),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("reason", sa.String(64), nullable=False, server_default=""),
        sa.Column("connected_at", sa.Double),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("callback_id", name="pk_callbacks"),
    )
    op.create_index("ix_callbacks_state_due_at", "callbacks", ["state", "due_at"])
    op.create_index("ix_callbacks_number_requested_at", "callbacks", ["number", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_number_requested_at", table_name="callbacks")
    op.drop_index("ix_callbacks_state_due_at", table_name="callbacks")
    op.drop_table("callbacks")
    with op.batch_alter_table("calls") as batch:
        batch.alter_column(
            "outcome", existing_type=sa.String(24), type_=sa.String(16), existing_nullable=False
        )
