"""Integration instances in the API: secrets are write-only (only the names of the stored ones are shown)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from timbel.integrations.base import ConnectionReport, IntegrationKind
from timbel.integrations.models import Integration

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SecretValue = Annotated[SecretStr, Field(min_length=1, max_length=20_000)]
# Option keys that look like credentials must go to ``secrets`` (so they are encrypted and never shown).
SECRET_LOOKING = re.compile(r"pass(word)?|secret|token|credential|api[_-]?key|private", re.IGNORECASE)


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^/@\s]+(/\S*)?$", value):
        raise ValueError("must be an http(s) URL without credentials")
    return value


def _check_options(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        if SECRET_LOOKING.search(key):
            raise ValueError(f"option {key!r} looks like a credential: send it in secrets")
    return value


class IntegrationCreate(BaseModel):
    """Add an integration instance; ``domain_id`` null → global; secrets are encrypted and never shown."""

    model_config = ConfigDict(extra="forbid")

    kind: IntegrationKind
    name: Name
    base_url: str = Field(max_length=1000)
    options: dict[FieldName, Any] = Field(default_factory=dict)
    secrets: dict[FieldName, SecretValue] = Field(default_factory=dict)
    domain_id: str | None = Field(default=None, max_length=36)
    is_default: bool = False

    _url = field_validator("base_url")(_check_url)
    _options = field_validator("options")(_check_options)


class IntegrationUpdate(BaseModel):
    """Change an instance; absent fields stay. ``secrets``: per field, absent keeps, null clears, a value
    replaces. ``options`` replaces the whole set. Scope changes by sending ``domain_id`` (null → global)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    base_url: str | None = Field(default=None, max_length=1000)
    options: dict[FieldName, Any] | None = None
    secrets: dict[FieldName, SecretValue | None] | None = None
    domain_id: str | None = Field(default=None, max_length=36)
    is_default: bool | None = None

    _url = field_validator("base_url")(lambda v: v if v is None else _check_url(v))
    _options = field_validator("options")(lambda v: v if v is None else _check_options(v))


class IntegrationRead(BaseModel):
    """An instance as the API shows it: never a secret, only which secret fields are stored."""

    id: str
    kind: IntegrationKind
    name: str
    base_url: str
    options: dict[str, Any]
    secret_fields: list[str]
    domain_id: str | None
    is_default: bool
    health: str
    last_error: str
    last_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def of(cls, row: Integration) -> IntegrationRead:
        """Build from a row."""
        return cls(
            id=row.id, kind=IntegrationKind(row.kind), name=row.name, base_url=row.base_url,
            options=dict(row.options or {}), secret_fields=list(row.secret_fields or []),
            domain_id=row.domain_id, is_default=row.is_default, health=row.health, last_error=row.last_error,
            last_checked_at=row.last_checked_at, created_at=row.created_at, updated_at=row.updated_at,
        )  # fmt: skip


class CheckRead(BaseModel):
    """One thing a connection test verified."""

    name: str
    ok: bool
    detail: str


class ConnectionReportRead(BaseModel):
    """What "test connection" found; ``ok`` only when every check passed."""

    ok: bool
    version: str | None
    checks: list[CheckRead]

    @classmethod
    def of(cls, report: ConnectionReport) -> ConnectionReportRead:
        """Build from an adapter's report."""
        checks = [CheckRead(name=c.name, ok=c.ok, detail=c.detail) for c in report.checks]
        return cls(ok=report.ok, version=report.version, checks=checks)


class KindRead(BaseModel):
    """An integration kind and whether an adapter serves it yet."""

    kind: IntegrationKind
    has_adapter: bool
    secret_fields: list[str] | None
    config_schema: dict[str, Any] | None = None  # the adapter config's JSON Schema, for generated forms
