"""analyses and auto catalog items

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:05:29.865772
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analyses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("domain_id", sa.String(length=36), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=32), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("readiness_score", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_analyses_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_analyses_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_analyses_system_id_systems"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analyses")),
    )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analyses_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index("ix_analyses_state_heartbeat", ["state", "heartbeat_at"], unique=False)
        batch_op.create_index("ix_analyses_system_created", ["system_id", "created_at"], unique=False)

    op.create_table(
        "analysis_state_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("analysis_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_analysis_state_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name=op.f("fk_analysis_state_changes_analysis_id_analyses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_state_changes")),
    )
    with op.batch_alter_table("analysis_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analysis_state_changes_analysis_id"), ["analysis_id"], unique=False
        )

    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_key", sa.String(length=600), nullable=True))
        batch_op.add_column(sa.Column("auto_values", sa.JSON(), nullable=True))

    with op.batch_alter_table("design_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=8), nullable=False, server_default="manual"))
        batch_op.add_column(sa.Column("commit_sha", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("origin_key", sa.String(length=600), nullable=True))
        batch_op.add_column(sa.Column("auto_values", sa.JSON(), nullable=True))

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=8), nullable=False, server_default="manual"))
        batch_op.add_column(sa.Column("commit_sha", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("origin_key", sa.String(length=600), nullable=True))
        batch_op.add_column(sa.Column("auto_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
