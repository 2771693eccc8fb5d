"""pipeline templates

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 12:30:45.691542
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipeline_templates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("stack", sa.String(length=32), nullable=False),
        sa.Column("framework", sa.String(length=64), server_default="", nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("usage_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_seed", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_pipeline_templates_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_templates")),
        sa.UniqueConstraint("key", name=op.f("uq_pipeline_templates_key")),
    )
    with op.batch_alter_table("pipeline_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_templates_stack"), ["stack"], unique=False)

    op.create_table(
        "pipeline_template_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("template_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_pipeline_template_versions_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["pipeline_templates.id"],
            name=op.f("fk_pipeline_template_versions_template_id_pipeline_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_template_versions")),
        sa.UniqueConstraint("template_id", "version", name=op.f("uq_pipeline_template_versions_template_id")),
    )
    with op.batch_alter_table("pipeline_template_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pipeline_template_versions_template_id"), ["template_id"], unique=False
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
