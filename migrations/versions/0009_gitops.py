"""gitops

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 12:41:09.847700
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gitops_repositories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("branch", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=8), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gitops_repositories")),
        sa.UniqueConstraint("name", name=op.f("uq_gitops_repositories_name")),
    )
    op.create_table(
        "gitops_targets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("env", sa.String(length=8), nullable=False),
        sa.Column("repository_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_gitops_targets_domain_id_domains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["gitops_repositories.id"],
            name=op.f("fk_gitops_targets_repository_id_gitops_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gitops_targets")),
        sa.UniqueConstraint("domain_id", "env", name=op.f("uq_gitops_targets_domain_id")),
    )
    with op.batch_alter_table("gitops_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gitops_targets_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gitops_targets_repository_id"), ["repository_id"], unique=False)

    op.create_table(
        "delivery_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("analysis_id", sa.String(length=36), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name=op.f("fk_delivery_drafts_analysis_id_analyses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_delivery_drafts_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.id"],
            name=op.f("fk_delivery_drafts_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_drafts")),
    )
    with op.batch_alter_table("delivery_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_drafts_system_id"), ["system_id"], unique=False)

    op.create_table(
        "gitops_operations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("draft_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("what", sa.String(length=300), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("commits", sa.JSON(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_gitops_operations_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["delivery_drafts.id"],
            name=op.f("fk_gitops_operations_draft_id_delivery_drafts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.id"],
            name=op.f("fk_gitops_operations_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gitops_operations")),
    )
    with op.batch_alter_table("gitops_operations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gitops_operations_system_id"), ["system_id"], unique=False)

    op.create_table(
        "gitops_operation_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["gitops_operations.id"],
            name=op.f("fk_gitops_operation_changes_operation_id_gitops_operations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gitops_operation_changes")),
    )
    with op.batch_alter_table("gitops_operation_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gitops_operation_changes_operation_id"), ["operation_id"], unique=False
        )


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
