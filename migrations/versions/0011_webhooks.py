"""Webhook deliveries (GitHub, GitLab): raw payload, source, state machine, history of state changes.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create webhook_deliveries (unique per source + delivery id) and webhook_state_changes."""
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("enqueues", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("repository", sa.String(length=1000), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("system_ids", sa.JSON(), nullable=False),
        sa.Column("received_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_webhook_deliveries_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_delivery"),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_integration_id"), ["integration_id"], unique=False
        )
        batch_op.create_index("ix_webhook_deliveries_received", ["received_at"], unique=False)
        batch_op.create_index("ix_webhook_deliveries_state_enqueued", ["state", "enqueued_at"], unique=False)

    op.create_table(
        "webhook_state_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_webhook_state_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_state_changes_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_state_changes")),
    )
    with op.batch_alter_table("webhook_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_state_changes_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    """Forward-only: migrations are never reversed."""
    raise NotImplementedError("migrations are forward-only")
