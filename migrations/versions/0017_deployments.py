"""Deployments: environments per domain, releases, deployments, locks, approvals and their histories.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 19:30:03.572027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the deployment tables."""
    op.create_table(
        "deploy_environments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("argocd_integration_id", sa.String(length=36), nullable=True),
        sa.Column("application_pattern", sa.String(length=200), nullable=False),
        sa.Column("kubernetes_integration_id", sa.String(length=36), nullable=True),
        sa.Column("namespace_pattern", sa.String(length=200), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("approver_roles", sa.JSON(), nullable=False),
        sa.Column("approval_ttl_hours", sa.Integer(), nullable=False),
        sa.Column("healthy_minutes", sa.Integer(), nullable=False),
        sa.Column("health_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("verify_window_seconds", sa.Integer(), nullable=False),
        sa.Column("auto_rollback", sa.Boolean(), nullable=False),
        sa.Column("freeze_windows", sa.JSON(), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["argocd_integration_id"],
            ["integrations.id"],
            name=op.f("fk_deploy_environments_argocd_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["domains.id"],
            name=op.f("fk_deploy_environments_domain_id_domains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["kubernetes_integration_id"],
            ["integrations.id"],
            name=op.f("fk_deploy_environments_kubernetes_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_environments")),
        sa.UniqueConstraint("domain_id", "name", name=op.f("uq_deploy_environments_domain_id")),
    )
    with op.batch_alter_table("deploy_environments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deploy_environments_domain_id"), ["domain_id"], unique=False)

    op.create_table(
        "deploy_releases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("source_commit", sa.String(length=64), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("chart_version", sa.String(length=100), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("values_hash", sa.String(length=64), nullable=False),
        sa.Column("pipeline_run_id", sa.String(length=36), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_deploy_releases_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_deploy_releases_pipeline_run_id_pipeline_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.id"],
            name=op.f("fk_deploy_releases_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_releases")),
        sa.UniqueConstraint("pipeline_run_id", name=op.f("uq_deploy_releases_pipeline_run_id")),
        sa.UniqueConstraint("system_id", "version", name=op.f("uq_deploy_releases_system_id")),
    )
    with op.batch_alter_table("deploy_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deploy_releases_system_id"), ["system_id"], unique=False)

    op.create_table(
        "deployments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("environment_id", sa.String(length=36), nullable=True),
        sa.Column("environment", sa.String(length=32), nullable=False),
        sa.Column("release_id", sa.String(length=36), nullable=False),
        sa.Column("previous_release_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("health", sa.String(length=32), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("rollback_of_id", sa.String(length=36), nullable=True),
        sa.Column("rolled_back_by_id", sa.String(length=36), nullable=True),
        sa.Column("gitops_repository", sa.String(length=200), nullable=False),
        sa.Column("gitops_sha", sa.String(length=64), nullable=True),
        sa.Column("commits", sa.JSON(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("requested_by_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_deployments_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_deployments_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["deploy_environments.id"],
            name=op.f("fk_deployments_environment_id_deploy_environments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_release_id"],
            ["deploy_releases.id"],
            name=op.f("fk_deployments_previous_release_id_deploy_releases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["deploy_releases.id"],
            name=op.f("fk_deployments_release_id_deploy_releases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_deployments_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rollback_of_id"],
            ["deployments.id"],
            name=op.f("fk_deployments_rollback_of_id_deployments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rolled_back_by_id"],
            ["deployments.id"],
            name=op.f("fk_deployments_rolled_back_by_id_deployments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_deployments_system_id_systems"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployments_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployments_release_id"), ["release_id"], unique=False)
        batch_op.create_index("ix_deployments_state", ["state"], unique=False)
        batch_op.create_index(
            "ix_deployments_system_env_created", ["system_id", "environment", "created_at"], unique=False
        )

    op.create_table(
        "deploy_approvals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approver_roles", sa.JSON(), nullable=False),
        sa.Column("requested_by_id", sa.String(length=36), nullable=True),
        sa.Column("decided_by_id", sa.String(length=36), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("expires_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_deploy_approvals_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deploy_approvals_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_deploy_approvals_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_approvals")),
        sa.UniqueConstraint("deployment_id", name=op.f("uq_deploy_approvals_deployment_id")),
    )
    with op.batch_alter_table("deploy_approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deploy_approvals_state"), ["state"], unique=False)

    op.create_table(
        "deploy_locks",
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("environment", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("acquired_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deploy_locks_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_deploy_locks_system_id_systems"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("system_id", "environment", name=op.f("pk_deploy_locks")),
    )
    op.create_table(
        "deployment_state_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_deployment_state_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_state_changes_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_state_changes")),
    )
    with op.batch_alter_table("deployment_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_state_changes_deployment_id"), ["deployment_id"], unique=False
        )

    op.create_table(
        "deploy_approval_state_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("approval_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_deploy_approval_state_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["deploy_approvals.id"],
            name=op.f("fk_deploy_approval_state_changes_approval_id_deploy_approvals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploy_approval_state_changes")),
    )
    with op.batch_alter_table("deploy_approval_state_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deploy_approval_state_changes_approval_id"), ["approval_id"], unique=False
        )


def downgrade() -> None:
    """Forward-only: migrations are never reversed."""
    raise NotImplementedError("migrations are forward-only")
