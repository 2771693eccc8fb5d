"""API shapes of reusable assets: components, documents, design assets, their files, versions and usage."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from timbel.catalog.schemas import DomainRef, UserRef

SHA_RE = re.compile(r"^[0-9a-f]{7,64}$")
TAG_RE = re.compile(r'^[^"\\,\x00-\x1f]{1,50}$')
MAX_TAGS = 30


class AssetSource(StrEnum):
    """Who registered an asset: a person, or repository analysis."""

    manual = "manual"
    auto = "auto"


class ComponentKind(StrEnum):
    """What a code component is (``api`` stands for an API the system offers)."""

    ui = "ui"
    api = "api"
    library = "library"
    service = "service"
    utility = "utility"
    data = "data"
    other = "other"


class DocumentKind(StrEnum):
    """What a document is about; ``voc``, ``requirement`` and ``design`` are project documents."""

    api_guide = "api-guide"
    manual = "manual"
    technical = "technical"
    adr = "adr"
    readme = "readme"
    voc = "voc"
    requirement = "requirement"
    design = "design"
    other = "other"


class DocumentFormat(StrEnum):
    """How a document's content is held: markdown text or an uploaded file."""

    markdown = "markdown"
    pdf = "pdf"
    file = "file"


class DocumentStatus(StrEnum):
    """Whether a document is ready for readers."""

    draft = "draft"
    published = "published"


class DesignAssetKind(StrEnum):
    """What a design asset is."""

    image = "image"
    figma_link = "figma-link"
    style = "style"
    icon = "icon"
    mockup = "mockup"
    other = "other"


def _commit_sha(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().lower()
    if not SHA_RE.match(value):
        raise PydanticCustomError("commit_sha.invalid", "7-64 hexadecimal characters")
    return value


def _web_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("url.scheme", "only http:// and https:// addresses")
    return value


def _tags(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    seen: list[str] = []
    for raw in value:
        tag = raw.strip()
        if not tag:
            continue
        if not TAG_RE.match(tag):
            raise PydanticCustomError("tag.invalid", "tags have 1-50 characters without quotes or commas")
        if tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise PydanticCustomError("tag.too_many", "at most 30 tags")
    return seen


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


# --- components ---------------------------------------------------------------------------------


class ComponentCreate(BaseModel):
    """A new code component (코드 컴포넌트) of a visible system."""

    system_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=200)
    kind: ComponentKind = ComponentKind.library
    language: str = Field(default="", max_length=64)
    framework: str = Field(default="", max_length=64)
    path: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20_000)
    reuse_score: float = Field(default=0.0, ge=0, le=100)
    commit_sha: str | None = None
    source: AssetSource = AssetSource.manual

    _v_strip = field_validator("name", "language", "framework", "path", mode="before")(_stripped)
    _v_sha = field_validator("commit_sha")(_commit_sha)


class ComponentUpdate(BaseModel):
    """Changes to a component; unset fields stay (the system is permanent)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: ComponentKind | None = None
    language: str | None = Field(default=None, max_length=64)
    framework: str | None = Field(default=None, max_length=64)
    path: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    reuse_score: float | None = Field(default=None, ge=0, le=100)
    commit_sha: str | None = None
    source: AssetSource | None = None

    _v_strip = field_validator("name", "language", "framework", "path", mode="before")(_stripped)
    _v_sha = field_validator("commit_sha")(_commit_sha)


class SystemRef(BaseModel):
    """A system as assets mention it."""

    id: str
    slug: str
    name: str


class ProjectRef(BaseModel):
    """A project as assets mention it."""

    id: str
    name: str


class UsageRead(BaseModel):
    """How often an asset was viewed, downloaded and reused."""

    views: int = 0
    downloads: int = 0
    reuses: int = 0


class ComponentRead(BaseModel):
    """A component as the API returns it."""

    id: str
    domain: DomainRef
    system: SystemRef
    name: str
    kind: str
    language: str
    framework: str
    path: str
    description: str
    reuse_score: float
    commit_sha: str | None
    source: str
    version: int
    usage: UsageRead
    created_at: datetime
    updated_at: datetime | None


# --- files, documents, design assets ------------------------------------------------------------


class FileRead(BaseModel):
    """An uploaded file's metadata: checksum, size and the content type sniffed from its bytes."""

    id: str
    filename: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime


class OwnedFields(BaseModel):
    """Exactly one owner: a system or a project the caller may see."""

    system_id: str | None = Field(default=None, max_length=36)
    project_id: str | None = Field(default=None, max_length=36)

    @model_validator(mode="after")
    def _one_owner(self) -> OwnedFields:
        self.system_id = self.system_id or None
        self.project_id = self.project_id or None
        if (self.system_id is None) == (self.project_id is None):
            raise PydanticCustomError("asset.owner", "give exactly one of system_id and project_id")
        return self


class DocumentCreate(OwnedFields):
    """A new document (문서); JSON creates markdown, the upload route a file document."""

    title: str = Field(min_length=1, max_length=300)
    kind: DocumentKind = DocumentKind.technical
    status: DocumentStatus = DocumentStatus.draft
    content: str = Field(default="", max_length=1_000_000)

    _v_strip = field_validator("title", mode="before")(_stripped)


class DocumentUpdate(BaseModel):
    """Changes to a document; ``content`` only for markdown documents (files: ``PUT /{id}/file``)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    kind: DocumentKind | None = None
    status: DocumentStatus | None = None
    content: str | None = Field(default=None, max_length=1_000_000)

    _v_strip = field_validator("title", mode="before")(_stripped)


class DocumentRead(BaseModel):
    """A document as the API returns it."""

    id: str
    domain: DomainRef
    system: SystemRef | None
    project: ProjectRef | None
    title: str
    kind: str
    format: str
    status: str
    content: str
    file: FileRead | None
    source: str
    commit_sha: str | None
    version: int
    usage: UsageRead
    created_by: UserRef | None
    created_at: datetime
    updated_at: datetime | None


class DesignAssetCreate(OwnedFields):
    """A new design asset (디자인 자산): a link (JSON) or an uploaded file (upload route), with tags."""

    title: str = Field(min_length=1, max_length=300)
    kind: DesignAssetKind = DesignAssetKind.image
    description: str = Field(default="", max_length=20_000)
    url: str = Field(default="", max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=100)

    _v_strip = field_validator("title", mode="before")(_stripped)
    _v_url = field_validator("url")(_web_url)
    _v_tags = field_validator("tags")(_tags)


class DesignAssetUpdate(BaseModel):
    """Changes to a design asset; unset fields stay."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    kind: DesignAssetKind | None = None
    description: str | None = Field(default=None, max_length=20_000)
    url: str | None = Field(default=None, max_length=1000)
    tags: list[str] | None = Field(default=None, max_length=100)

    _v_strip = field_validator("title", mode="before")(_stripped)
    _v_url = field_validator("url")(_web_url)
    _v_tags = field_validator("tags")(_tags)


class DesignAssetRead(BaseModel):
    """A design asset as the API returns it."""

    id: str
    domain: DomainRef
    system: SystemRef | None
    project: ProjectRef | None
    title: str
    kind: str
    description: str
    url: str
    tags: list[str]
    file: FileRead | None
    source: str
    commit_sha: str | None
    version: int
    usage: UsageRead
    created_by: UserRef | None
    created_at: datetime
    updated_at: datetime | None


# --- versions and popularity --------------------------------------------------------------------


class VersionSummary(BaseModel):
    """One entry of an asset's version history."""

    version: int
    author: UserRef | None
    created_at: datetime


class VersionRead(VersionSummary):
    """One saved version with the asset's fields as they were."""

    snapshot: dict[str, Any]


class FieldChange(BaseModel):
    """How one field differs between two versions; ``lines`` is a unified diff for text."""

    field: str
    old: Any
    new: Any
    lines: list[str]


class VersionDiff(BaseModel):
    """The field changes from one version to another."""

    from_version: int
    to_version: int
    changes: list[FieldChange]


class PopularItem(BaseModel):
    """An asset on a popular or most-reused list, with its real counts."""

    kind: str
    id: str
    title: str
    usage: UsageRead
