"""Pipeline run logs in chunks.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create pipeline_log_chunks (a run's log as ordered chunks; deleted with the run)."""
    op.create_table(
        "pipeline_log_chunks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("stage_index", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_log_chunks_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_log_chunks")),
        sa.UniqueConstraint("run_id", "seq", name="uq_pipeline_log_chunks_run_seq"),
    )
    with op.batch_alter_table("pipeline_log_chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_log_chunks_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    """Forward-only: migrations are never reversed."""
    raise NotImplementedError("migrations are forward-only")
