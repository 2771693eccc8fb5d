"""Catalog ORM models: domains, projects, systems, components, documents, design assets, relations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow


class Domain(Base):
    """A customer account (영업처) whose members may see its catalog and operations."""

    __tablename__ = "domains"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(100), default="", server_default="")
    region: Mapped[str] = mapped_column(String(100), default="", server_default="")
    priority: Mapped[str] = mapped_column(String(16), default="medium", server_default="medium")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class Project(Base):
    """A customer engagement inside a domain: VoC, requirements, work groups, urgency."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    urgent_reason: Mapped[str] = mapped_column(Text, default="")
    urgent_deadline: Mapped[datetime | None] = mapped_column(nullable=True)
    requirement_summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class WorkGroup(Base):
    """A slice of a large project (작업그룹) with its own owner, order and status."""

    __tablename__ = "work_groups"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class System(Base):
    """A deployable system (git repository) built for a domain; its domain never changes."""

    __tablename__ = "systems"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    repo_url: Mapped[str] = mapped_column(String(1000), default="")
    default_branch: Mapped[str] = mapped_column(String(200), default="main")
    last_commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_commit_author: Mapped[str] = mapped_column(String(200), default="")
    last_commit_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_commit_message: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default="development", index=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    frameworks: Mapped[list[str]] = mapped_column(JSON, default=list)
    datastores: Mapped[list[str]] = mapped_column(JSON, default=list)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    readiness: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source: Mapped[str] = mapped_column(String(8), default="manual")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class SystemProject(Base):
    """A system serves a project (many-to-many, same domain)."""

    __tablename__ = "system_projects"

    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SystemOwner(Base):
    """A user responsible for a system."""

    __tablename__ = "system_owners"

    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SimilarSystemRef(Base):
    """A project's reference to an existing system it resembles (유사시스템 참조), with a note."""

    __tablename__ = "similar_system_refs"
    __table_args__ = (UniqueConstraint("project_id", "system_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFile(Base):
    """An uploaded file's metadata; the bytes live once per checksum in ``file_blobs``."""

    __tablename__ = "stored_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(ForeignKey("file_blobs.sha256"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FileBlob(Base):
    """File content, deduplicated by SHA-256, kept in the database so every process and backup has it."""

    __tablename__ = "file_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Component(Base):
    """A reusable code component (코드 컴포넌트) inside a system; ``kind='api'`` stands for an API."""

    __tablename__ = "components"
    __table_args__ = (UniqueConstraint("system_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="library", index=True)
    language: Mapped[str] = mapped_column(String(64), default="", index=True)
    framework: Mapped[str] = mapped_column(String(64), default="")
    path: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    reuse_score: Mapped[float] = mapped_column(Float, default=0.0)
    commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(8), default="manual")
    origin_key: Mapped[str | None] = mapped_column(String(600), nullable=True)
    auto_values: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class Document(Base):
    """A document (문서) of a system or a project: markdown text or an uploaded file (VoC, 요구사양서, …)."""

    __tablename__ = "documents"
    __table_args__ = (CheckConstraint("system_id IS NOT NULL OR project_id IS NOT NULL", name="has_owner"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str | None] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), nullable=True, index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), default="technical", index=True)
    format: Mapped[str] = mapped_column(String(16), default="markdown")
    content: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[str | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    source: Mapped[str] = mapped_column(String(8), default="manual", server_default="manual")
    commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    origin_key: Mapped[str | None] = mapped_column(String(600), nullable=True)
    auto_values: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class DesignAsset(Base):
    """A design asset (디자인 자산) of a system or a project: an uploaded file or a link, with tags."""

    __tablename__ = "design_assets"
    __table_args__ = (CheckConstraint("system_id IS NOT NULL OR project_id IS NOT NULL", name="has_owner"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[str | None] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), nullable=True, index=True
    )
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), default="image", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[str | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL"), nullable=True
    )
    url: Mapped[str] = mapped_column(String(1000), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(8), default="manual", server_default="manual")
    commit_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    origin_key: Mapped[str | None] = mapped_column(String(600), nullable=True)
    auto_values: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class AssetVersion(Base):
    """One saved version of a component, document or design asset (exactly one of the three ids is set)."""

    __tablename__ = "asset_versions"
    __table_args__ = (
        UniqueConstraint("component_id", "version"),
        UniqueConstraint("document_id", "version"),
        UniqueConstraint("design_asset_id", "version"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), nullable=True
    )
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True
    )
    design_asset_id: Mapped[str | None] = mapped_column(
        ForeignKey("design_assets.id", ondelete="CASCADE"), nullable=True
    )
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetUsage(Base):
    """Usage counters of one component, document or design asset (exactly one of the three ids is set)."""

    __tablename__ = "asset_usage"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    design_asset_id: Mapped[str | None] = mapped_column(
        ForeignKey("design_assets.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    views: Mapped[int] = mapped_column(Integer, default=0)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    reuses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Relation(Base):
    """A typed edge between systems and components (APIs are components of kind ``api``).

    Exactly one source id and one target id are set; ``key`` makes each edge unique.
    """

    __tablename__ = "relations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    source_system_id: Mapped[str | None] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), nullable=True, index=True
    )
    source_component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), nullable=True, index=True
    )
    target_system_id: Mapped[str | None] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), nullable=True, index=True
    )
    target_component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), nullable=True, index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Lists sort by name/title then id and page through the ids first (core.pagination.fetch_page):
# these indexes let deep pages walk an index instead of sorting every row.
Index("ix_projects_name_id", Project.name, Project.id)
Index("ix_systems_name_id", System.name, System.id)
Index("ix_components_name_id", Component.name, Component.id)
Index("ix_documents_title_id", Document.title, Document.id)
Index("ix_design_assets_title_id", DesignAsset.title, DesignAsset.id)
