"""API shapes of systems (시스템), relations and similar-system references (유사시스템 참조).

Repository addresses are only checked for syntax here; whoever fetches a repository later applies
its own network and file-access guards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from timbel.catalog.schemas import DomainRef, UserRef

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,99}$")
SHA_RE = re.compile(r"^[0-9a-f]{7,64}$")
SCP_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:[^\s]+$")
BRANCH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$")
MAX_TECH = 30


class Stage(StrEnum):
    """Where a system is in its life (개발 단계)."""

    development = "development"
    staging = "staging"
    production = "production"


class Source(StrEnum):
    """How a system or component got into the catalog."""

    manual = "manual"
    auto = "auto"


def _has_control(value: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def check_slug(value: str) -> str:
    """Normalise a slug to lower case and refuse anything but ``[a-z0-9-]`` (2-100, alphanumeric first)."""
    value = value.strip().lower()
    if not SLUG_RE.match(value):
        raise PydanticCustomError(
            "system.slug_invalid", "2-100 lower-case letters, digits and '-', starting alphanumeric"
        )
    return value


def check_repo_url(value: str) -> str:
    """Accept https/http/ssh URLs, ``user@host:path`` or an absolute local path (empty for none)."""
    value = value.strip()
    if not value:
        return ""
    bad = PydanticCustomError(
        "system.repo_url_invalid", "use https://, http://, ssh://, git@host:path or an absolute path"
    )
    if _has_control(value) or " " in value or value.startswith("-"):
        raise bad
    if value.startswith("/"):
        if value.startswith("//") or ".." in value.split("/"):
            raise bad
        return value
    if SCP_RE.match(value) and "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        host, password = parts.hostname, parts.password
        _ = parts.port
    except ValueError as exc:
        raise bad from exc
    if parts.scheme not in {"https", "http", "ssh"} or not host or host.startswith("-"):
        raise bad
    if password is not None:
        raise PydanticCustomError("system.repo_url_credentials", "do not put passwords or tokens in the URL")
    return value


def check_web_url(value: str) -> str:
    """Accept only absolute http(s) addresses with a host (for links shown to users)."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme in {"http", "https"} and bool(parts.hostname) and not _has_control(value)
    except ValueError:
        ok = False
    if not ok or " " in value:
        raise PydanticCustomError("system.link_invalid", "links must be http:// or https:// addresses")
    return value


def check_branch(value: str) -> str:
    """Refuse branch names git would not accept (or that look like command-line options)."""
    value = value.strip()
    if not BRANCH_RE.match(value) or ".." in value or value.endswith(("/", ".lock", ".")) or "//" in value:
        raise PydanticCustomError("system.branch_invalid", "not a valid branch name")
    return value


def clean_names(values: list[str]) -> list[str]:
    """Strip, drop empties and duplicates (case-insensitively, first spelling wins) of short names."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in values:
        name = raw.strip()
        if not name:
            continue
        if len(name) > 50 or _has_control(name) or "," in name:
            raise PydanticCustomError("system.tech_invalid", "names are 1-50 characters without commas")
        if name.lower() not in seen:
            seen.add(name.lower())
            result.append(name)
    if len(result) > MAX_TECH:
        raise PydanticCustomError("system.tech_invalid", "at most 30 names per list")
    return result


def _optional(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    """Apply a check to a value unless it is None (for partial updates)."""

    def run(value: str | None) -> str | None:
        return None if value is None else check(value)

    return run


class TechStack(BaseModel):
    """Languages, frameworks and datastores a system is built with."""

    languages: list[str] = Field(default_factory=list, max_length=200)
    frameworks: list[str] = Field(default_factory=list, max_length=200)
    datastores: list[str] = Field(default_factory=list, max_length=200)

    _v_names = field_validator("languages", "frameworks", "datastores")(clean_names)


class LastCommit(BaseModel):
    """The newest commit of a system's default branch, as last seen."""

    sha: str
    author: str = Field(default="", max_length=200)
    at: datetime | None = None
    message: str = Field(default="", max_length=20_000)

    @field_validator("sha")
    @classmethod
    def _sha(cls, value: str) -> str:
        value = value.strip().lower()
        if not SHA_RE.match(value):
            raise PydanticCustomError("system.commit_sha_invalid", "7-64 hexadecimal characters")
        return value

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Link(BaseModel):
    """A titled web address about a system (wiki, dashboard, issue tracker, …)."""

    title: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=1000)

    _v_url = field_validator("url")(check_web_url)


class SystemCreate(BaseModel):
    """A new system in a visible domain; the domain can never change afterwards."""

    domain_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=200)
    slug: str
    description: str = Field(default="", max_length=20_000)
    repo_url: str = Field(default="", max_length=1000)
    default_branch: str = "main"
    last_commit: LastCommit | None = None
    stage: Stage = Stage.development
    tech_stack: TechStack = Field(default_factory=TechStack)
    owner_ids: list[str] = Field(
        default_factory=list, max_length=50, validation_alias=AliasChoices("owner_ids", "owners")
    )
    project_ids: list[str] = Field(default_factory=list, max_length=100)
    links: list[Link] = Field(default_factory=list, max_length=50)
    source: Source = Source.manual

    _v_slug = field_validator("slug")(check_slug)
    _v_repo = field_validator("repo_url")(check_repo_url)
    _v_branch = field_validator("default_branch")(check_branch)


class SystemUpdate(BaseModel):
    """Changes to a system; unset fields stay, ``last_commit: null`` clears it."""

    domain_id: str | None = Field(default=None, description="Must equal the current domain if given.")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: str | None = None
    description: str | None = Field(default=None, max_length=20_000)
    repo_url: str | None = Field(default=None, max_length=1000)
    default_branch: str | None = None
    last_commit: LastCommit | None = None
    stage: Stage | None = None
    tech_stack: TechStack | None = None
    owner_ids: list[str] | None = Field(
        default=None, max_length=50, validation_alias=AliasChoices("owner_ids", "owners")
    )
    project_ids: list[str] | None = Field(default=None, max_length=100)
    links: list[Link] | None = Field(default=None, max_length=50)
    source: Source | None = None

    _v_slug = field_validator("slug")(_optional(check_slug))
    _v_repo = field_validator("repo_url")(_optional(check_repo_url))
    _v_branch = field_validator("default_branch")(_optional(check_branch))


class ProjectRef(BaseModel):
    """A project as a system mentions it."""

    id: str
    name: str


class ChildCounts(BaseModel):
    """How many catalog entries a system holds."""

    components: int = 0
    documents: int = 0
    design_assets: int = 0


class SystemRead(BaseModel):
    """A system as the API returns it (``readiness`` is filled by repository analysis)."""

    id: str
    domain: DomainRef
    name: str
    slug: str
    description: str
    repo_url: str
    default_branch: str
    last_commit: LastCommit | None
    stage: Stage
    tech_stack: TechStack
    owners: list[UserRef]
    projects: list[ProjectRef]
    links: list[Link]
    readiness: dict[str, Any] | None
    source: Source
    counts: ChildCounts
    created_at: datetime
    updated_at: datetime | None


class SystemRef(BaseModel):
    """A system as other resources mention it."""

    id: str
    slug: str
    name: str
    stage: Stage
    domain: DomainRef


class RelationKind(StrEnum):
    """How two catalog entries relate."""

    depends_on = "depends_on"
    provides_api = "provides_api"
    consumes_api = "consumes_api"
    similar_to = "similar_to"
    part_of = "part_of"


class EndType(StrEnum):
    """What a relation end points at (APIs are components of kind ``api``)."""

    system = "system"
    component = "component"


class RelationEnd(BaseModel):
    """One end of a relation."""

    type: EndType
    id: str = Field(min_length=1, max_length=36)


class RelationCreate(BaseModel):
    """A new typed edge between two visible systems or components."""

    kind: RelationKind
    source: RelationEnd
    target: RelationEnd
    note: str = Field(default="", max_length=2000)


class RelationUpdate(BaseModel):
    """Changes to a relation: only its note (delete and re-create to change the ends)."""

    note: str = Field(max_length=2000)


class EndRead(BaseModel):
    """A relation end with what a reader needs to show it."""

    type: EndType
    id: str
    name: str
    kind: str | None = None
    system_id: str


class RelationRead(BaseModel):
    """A relation as the API returns it."""

    id: str
    kind: RelationKind
    source: EndRead
    target: EndRead
    note: str
    domain_id: str
    created_at: datetime


class GraphNode(BaseModel):
    """A system or component in a relations graph."""

    id: str
    type: EndType
    name: str
    kind: str | None = None


class GraphEdge(BaseModel):
    """A relation (or a component's membership, ``part_of``) in a relations graph."""

    source: str
    target: str
    kind: str


class Graph(BaseModel):
    """The visible relations around a system."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]


class SimilarSystemCreate(BaseModel):
    """A project's new reference to an existing, visible system."""

    system_id: str = Field(min_length=1, max_length=36)
    note: str = Field(default="", max_length=2000)


class SimilarSystemUpdate(BaseModel):
    """Changes to a similar-system reference: its note."""

    note: str = Field(max_length=2000)


class SimilarSystemRead(BaseModel):
    """A similar-system reference as the API returns it."""

    id: str
    project_id: str
    system: SystemRef
    note: str
    created_at: datetime
