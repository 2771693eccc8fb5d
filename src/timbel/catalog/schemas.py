"""Catalog API shapes (domains so far)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, EmailStr, Field, field_validator

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
