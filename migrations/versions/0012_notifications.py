"""Notification delivery log: one row per (event, channel) with state, attempts, last error and dedup key.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create notification_deliveries (channels are integrations of kind notify; no table of their own)."""
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=True),
        sa.Column("channel_name", sa.String(length=100), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("next_attempt_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_notification_deliveries_domain_id_domains"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_notification_deliveries_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("integration_id", "dedup_key", name="uq_notification_deliveries_dedup"),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_deliveries_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_deliveries_event"), ["event"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_deliveries_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_deliveries_state_due", ["state", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    """Forward-only: migrations are never reversed."""
    raise NotImplementedError("migrations are forward-only")
