"""Catalog API shapes: domains, projects, work groups."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


class Priority(StrEnum):
    """How much attention a customer domain gets."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Contact(BaseModel):
    """A person to talk to at the customer."""

    name: str = Field(min_length=1, max_length=100)
    role: str = Field(default="", max_length=100)
    email: EmailStr | None = None
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9+()\-. ]*$")


def _code(value: str) -> str:
    value = value.strip().lower()
    if not CODE_RE.match(value):
        raise ValueError("2-64 characters: lower-case letters, digits and '-', starting alphanumeric")
    return value


class DomainCreate(BaseModel):
    """A new customer domain (영업처)."""

    code: str
    name: str = Field(min_length=1, max_length=200)
    industry: str = Field(default="", max_length=100)
    region: str = Field(default="", max_length=100)
    priority: Priority = Priority.medium
    description: str = Field(default="", max_length=20_000)
    contacts: list[Contact] = Field(default_factory=list, max_length=50)
    owner_id: str | None = None

    _v_code = field_validator("code")(_code)


class DomainUpdate(BaseModel):
    """Changes to a domain; unset fields stay (the code is permanent)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    priority: Priority | None = None
    description: str | None = Field(default=None, max_length=20_000)
    contacts: list[Contact] | None = Field(default=None, max_length=50)
    owner_id: str | None = None


class UserRef(BaseModel):
    """A user as other resources mention them."""

    id: str
    username: str
    display_name: str


class DomainRead(BaseModel):
    """A domain as the API returns it."""

    id: str
    code: str
    name: str
    industry: str
    region: str
    priority: Priority
    description: str
    contacts: list[Contact]
    owner: UserRef | None
    member_count: int
    created_at: datetime
    updated_at: datetime | None


class DomainMembers(BaseModel):
    """The complete set of users who belong to a domain."""

    user_ids: list[str] = Field(default_factory=list, max_length=5000)


class ProjectStatus(StrEnum):
    """Where a project is in its life."""

    draft = "draft"
    active = "active"
    on_hold = "on_hold"
    completed = "completed"
    cancelled = "cancelled"


def _as_utc(value: datetime | None) -> datetime | None:
    """Store and return times in UTC; a time without a zone is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ProjectFields(BaseModel):
    """Fields shared by project creation and update, with their cross-field rules."""

    start_date: date | None = None
    due_date: date | None = None
    urgent: bool = False
    urgent_reason: str = Field(default="", max_length=2000)
    urgent_deadline: datetime | None = None

    @field_validator("urgent_deadline")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> ProjectFields:
        if self.start_date and self.due_date and self.due_date < self.start_date:
            raise PydanticCustomError("project.due_before_start", "the due date is before the start date")
        if self.urgent and (not self.urgent_reason.strip() or self.urgent_deadline is None):
            raise PydanticCustomError(
                "project.urgent_incomplete", "urgent handling needs a reason and a deadline"
            )
        return self


class ProjectCreate(ProjectFields):
    """A new project in a domain."""

    domain_id: str = Field(min_length=1, max_length=36)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    status: ProjectStatus = ProjectStatus.draft
    requirement_summary: str = Field(default="", max_length=20_000)


class ProjectUpdate(BaseModel):
    """Changes to a project; unset fields stay. The merged result is checked like a new project."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    status: ProjectStatus | None = None
    start_date: date | None = None
    due_date: date | None = None
    urgent: bool | None = None
    urgent_reason: str | None = Field(default=None, max_length=2000)
    urgent_deadline: datetime | None = None
    requirement_summary: str | None = Field(default=None, max_length=20_000)


class DomainRef(BaseModel):
    """A domain as other resources mention it."""

    id: str
    code: str
    name: str


class ProjectRead(BaseModel):
    """A project as the API returns it."""

    id: str
    domain: DomainRef
    name: str
    description: str
    status: ProjectStatus
    start_date: date | None
    due_date: date | None
    urgent: bool
    urgent_reason: str
    urgent_deadline: datetime | None
    requirement_summary: str
    work_group_count: int
    created_at: datetime
    updated_at: datetime | None


class WorkGroupStatus(StrEnum):
    """Progress of a work group."""

    planned = "planned"
    active = "active"
    on_hold = "on_hold"
    done = "done"


class WorkGroupCreate(BaseModel):
    """A new work group (작업그룹) in a project."""

    name: str = Field(min_length=1, max_length=200)
    owner_id: str | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    status: WorkGroupStatus = WorkGroupStatus.planned
    description: str = Field(default="", max_length=20_000)


class WorkGroupUpdate(BaseModel):
    """Changes to a work group; unset fields stay."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    owner_id: str | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    status: WorkGroupStatus | None = None
    description: str | None = Field(default=None, max_length=20_000)


class WorkGroupRead(BaseModel):
    """A work group as the API returns it."""

    id: str
    project_id: str
    name: str
    owner: UserRef | None
    position: int
    status: WorkGroupStatus
    description: str
