"""Outbound campaigns: campaign states, contact lists, every dial attempt with its outcome.

Revision ID: r0005
Revises: r0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0005"
down_revision = "r0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("name", name="pk_campaigns"),
    )
    op.create_table(
        "campaign_contacts",
        sa.Column("campaign", sa.String(64), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("next_at", sa.Double, nullable=False, server_default="0"),
        sa.Column("last_outcome", sa.String(24), nullable=False, server_default=""),
        sa.Column("imported_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("campaign", "number", name="pk_campaign_contacts"),
    )
    op.create_index("ix_campaign_contacts_customer_id", "campaign_contacts", ["customer_id"])
    op.create_table(
        "outbound_attempts",
        sa.Column("attempt_id", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False, server_default=""),
        sa.Column("detail", sa.String(200), nullable=False, server_default=""),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("call_id", sa.String(160)),
        sa.PrimaryKeyConstraint("attempt_id", name="pk_outbound_attempts"),
    )
    op.create_index(
        "ix_outbound_attempts_customer_id_at", "outbound_attempts", ["customer_id", "at"]
    )
    op.create_index("ix_outbound_attempts_number_at", "outbound_attempts", ["number", "at"])
    op.create_index("ix_outbound_attempts_campaign_at", "outbound_attempts", ["campaign", "at"])


def downgrade() -> None:
    op.drop_table("outbound_attempts")
    op.drop_table("campaign_contacts")
    op.drop_table("campaigns")
