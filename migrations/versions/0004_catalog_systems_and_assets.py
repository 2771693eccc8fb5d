"""catalog systems and assets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:21:32.564031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import timbel.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "file_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_file_blobs")),
    )
    op.create_table(
        "stored_files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_stored_files_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["sha256"], ["file_blobs.sha256"], name=op.f("fk_stored_files_sha256_file_blobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
    )
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_files_sha256"), ["sha256"], unique=False)

    op.create_table(
        "systems",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("repo_url", sa.String(length=1000), nullable=False),
        sa.Column("default_branch", sa.String(length=200), nullable=False),
        sa.Column("last_commit_sha", sa.String(length=64), nullable=True),
        sa.Column("last_commit_author", sa.String(length=200), nullable=False),
        sa.Column("last_commit_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_commit_message", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("frameworks", sa.JSON(), nullable=False),
        sa.Column("datastores", sa.JSON(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("readiness", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_systems_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_systems")),
        sa.UniqueConstraint("slug", name=op.f("uq_systems_slug")),
    )
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_systems_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_systems_stage"), ["stage"], unique=False)

    op.create_table(
        "components",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=64), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reuse_score", sa.Float(), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_components_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_components_system_id_systems"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_components")),
        sa.UniqueConstraint("system_id", "name", name=op.f("uq_components_system_id")),
    )
    with op.batch_alter_table("components", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_components_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_components_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_components_language"), ["language"], unique=False)
        batch_op.create_index(batch_op.f("ix_components_system_id"), ["system_id"], unique=False)

    op.create_table(
        "design_assets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "system_id IS NOT NULL OR project_id IS NOT NULL", name=op.f("ck_design_assets_has_owner")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_design_assets_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_design_assets_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_design_assets_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_design_assets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_design_assets_system_id_systems"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_design_assets")),
    )
    with op.batch_alter_table("design_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_design_assets_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_design_assets_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_design_assets_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_design_assets_system_id"), ["system_id"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("file_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "system_id IS NOT NULL OR project_id IS NOT NULL", name=op.f("ck_documents_has_owner")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_documents_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_documents_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_documents_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_documents_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_documents_system_id_systems"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_documents_system_id"), ["system_id"], unique=False)

    op.create_table(
        "similar_system_refs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_similar_system_refs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.id"],
            name=op.f("fk_similar_system_refs_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_similar_system_refs")),
        sa.UniqueConstraint("project_id", "system_id", name=op.f("uq_similar_system_refs_project_id")),
    )
    with op.batch_alter_table("similar_system_refs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_similar_system_refs_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_similar_system_refs_system_id"), ["system_id"], unique=False)

    op.create_table(
        "system_owners",
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_system_owners_system_id_systems"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_system_owners_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("system_id", "user_id", name=op.f("pk_system_owners")),
    )
    with op.batch_alter_table("system_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_system_owners_user_id"), ["user_id"], unique=False)

    op.create_table(
        "system_projects",
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_system_projects_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["systems.id"],
            name=op.f("fk_system_projects_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "project_id", name=op.f("pk_system_projects")),
    )
    with op.batch_alter_table("system_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_system_projects_project_id"), ["project_id"], unique=False)

    op.create_table(
        "asset_usage",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("component_id", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("design_asset_id", sa.String(length=36), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("reuses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", timbel.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_asset_usage_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["design_asset_id"],
            ["design_assets.id"],
            name=op.f("fk_asset_usage_design_asset_id_design_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_asset_usage_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_asset_usage_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_usage")),
        sa.UniqueConstraint("component_id", name=op.f("uq_asset_usage_component_id")),
        sa.UniqueConstraint("design_asset_id", name=op.f("uq_asset_usage_design_asset_id")),
        sa.UniqueConstraint("document_id", name=op.f("uq_asset_usage_document_id")),
    )
    with op.batch_alter_table("asset_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_usage_domain_id"), ["domain_id"], unique=False)

    op.create_table(
        "asset_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("component_id", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("design_asset_id", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_asset_versions_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["components.id"],
            name=op.f("fk_asset_versions_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["design_asset_id"],
            ["design_assets.id"],
            name=op.f("fk_asset_versions_design_asset_id_design_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_asset_versions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_versions")),
        sa.UniqueConstraint("component_id", "version", name=op.f("uq_asset_versions_component_id")),
        sa.UniqueConstraint("design_asset_id", "version", name=op.f("uq_asset_versions_design_asset_id")),
        sa.UniqueConstraint("document_id", "version", name=op.f("uq_asset_versions_document_id")),
    )
    op.create_table(
        "relations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("domain_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_system_id", sa.String(length=36), nullable=True),
        sa.Column("source_component_id", sa.String(length=36), nullable=True),
        sa.Column("target_system_id", sa.String(length=36), nullable=True),
        sa.Column("target_component_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", timbel.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_relations_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_relations_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_component_id"],
            ["components.id"],
            name=op.f("fk_relations_source_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_system_id"],
            ["systems.id"],
            name=op.f("fk_relations_source_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_component_id"],
            ["components.id"],
            name=op.f("fk_relations_target_component_id_components"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_system_id"],
            ["systems.id"],
            name=op.f("fk_relations_target_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relations")),
        sa.UniqueConstraint("key", name=op.f("uq_relations_key")),
    )
    with op.batch_alter_table("relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relations_domain_id"), ["domain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_relations_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_relations_source_component_id"), ["source_component_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_relations_source_system_id"), ["source_system_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_relations_target_component_id"), ["target_component_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_relations_target_system_id"), ["target_system_id"], unique=False)


def downgrade() -> None:
    raise NotImplementedError("migrations are forward-only")
