"""Customer directory: customers, their numbers and consents, oppositions, call notes.

Revision ID: r0003
Revises: r0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0003"
down_revision = "r0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False, server_default=""),
        sa.Column("kind", sa.String(16), nullable=False, server_default="consumer"),
        sa.Column("segment", sa.String(64), nullable=False, server_default=""),
        sa.Column("vip_level", sa.Integer, nullable=False, server_default="0"),
        sa.Column("language", sa.String(8), nullable=False, server_default=""),
        sa.Column("preferred_agent", sa.String(64), nullable=False, server_default=""),
        sa.Column("region", sa.String(64), nullable=False, server_default=""),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("last_activity_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customers"),
    )
    op.create_index("ix_customers_last_activity_at", "customers", ["last_activity_at"])
    op.create_table(
        "customer_numbers",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("number", name="pk_customer_numbers"),
    )
    op.create_index("ix_customer_numbers_customer_id", "customer_numbers", ["customer_id"])
    op.create_table(
        "customer_consents",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("given_at", sa.Double, nullable=False),
        sa.Column("legal_basis", sa.String(24), nullable=False),
        sa.Column("withdrawn_at", sa.Double),
        sa.Column("collected_by", sa.String(32), nullable=False, server_default=""),
        sa.Column("proof_ref", sa.String(128), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("customer_id", "purpose", "given_at", name="pk_customer_consents"),
    )
    op.create_table(
        "contact_oppositions",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False, server_default=""),
        sa.Column("since", sa.Double, nullable=False),
        sa.Column("until", sa.Double),
        sa.Column("source", sa.String(32), nullable=False, server_default="customer"),
        sa.PrimaryKeyConstraint("number", "purpose", name="pk_contact_oppositions"),
    )
    op.create_table(
        "call_notes",
        sa.Column("call_id", sa.String(160), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("at", sa.Double, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("call_id", "agent_id", name="pk_call_notes"),
    )
    op.create_index("ix_call_notes_customer_id", "call_notes", ["customer_id"])
    op.create_index("ix_call_notes_at", "call_notes", ["at"])
    op.create_index("ix_calls_caller_number_offered_at", "calls", ["caller_number", "offered_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_caller_number_offered_at", table_name="calls")
    op.drop_table("call_notes")
    op.drop_table("contact_oppositions")
    op.drop_table("customer_consents")
    op.drop_table("customer_numbers")
    op.drop_table("customers")
