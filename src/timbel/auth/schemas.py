"""Auth API shapes: login, tokens, users, memberships."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from timbel.auth.permissions import Role

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
Locale = Literal["ko", "en"]


class LoginRequest(BaseModel):
    """Credentials for signing in."""

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)


class TokenPair(BaseModel):
    """An access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class RefreshRequest(BaseModel):
    """A refresh token to rotate."""

    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(BaseModel):
    """Optionally name the refresh token whose session ends (defaults to the caller's session)."""

    refresh_token: str | None = Field(default=None, max_length=512)


def _username(value: str) -> str:
    value = value.strip().lower()
    if not USERNAME_RE.match(value):
        raise ValueError(
            "2-63 characters: lower-case letters, digits, '.', '_' or '-', starting alphanumeric"
        )
    return value


class UserCreate(BaseModel):
    """A new account, created by an administrator."""

    username: str
    password: str = Field(min_length=1, max_length=1024)
    email: EmailStr | None = None
    display_name: str = Field(default="", max_length=200)
    roles: list[Role] = Field(min_length=1)
    preferred_locale: Locale = "ko"
    domain_ids: list[str] = Field(default_factory=list)
    must_change_password: bool = True

    _v_username = field_validator("username")(_username)


class UserUpdate(BaseModel):
    """Changes an administrator may make to an account (unset fields stay)."""

    email: EmailStr | None = None
    display_name: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    preferred_locale: Locale | None = None


class ProfileUpdate(BaseModel):
    """Changes a user may make to their own profile."""

    display_name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    preferred_locale: Locale | None = None


class PasswordChange(BaseModel):
    """A user's own password change."""

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordReset(BaseModel):
    """An administrator's password reset; the user must change it at next sign-in."""

    new_password: str = Field(min_length=1, max_length=1024)


class DomainMembershipSet(BaseModel):
    """The complete set of domains a user belongs to."""

    domain_ids: list[str] = Field(default_factory=list, max_length=1000)


class DomainRead(BaseModel):
    """A domain reference."""

    id: str
    code: str
    name: str


class UserRead(BaseModel):
    """An account as administrators see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    email: str | None
    display_name: str
    is_active: bool
    must_change_password: bool
    preferred_locale: str
    roles: list[str]
    domains: list[DomainRead]
    created_at: datetime
    last_login_at: datetime | None


class UserMe(BaseModel):
    """The signed-in user with effective roles, permissions and domains."""

    id: str
    username: str
    email: str | None
    display_name: str
    is_active: bool
    preferred_locale: str
    must_change_password: bool
    roles: list[str]
    permissions: list[str]
    domains: list[DomainRead]
    created_at: str
    last_login_at: str | None
    credential: str


class ApiTokenCreate(BaseModel):
    """A personal API token request."""

    name: str = Field(min_length=1, max_length=100)
    role_ceiling: Role
    expires_in_days: int | None = Field(default=None, ge=1)


class ApiTokenRead(BaseModel):
    """A personal API token's metadata (never the token itself)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    role_ceiling: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    """A newly created token; ``token`` is shown this once and never again."""

    token: str


def user_read(user: Any, domains: list[DomainRead]) -> UserRead:
    """Build the admin view of a user."""
    return UserRead(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        is_active=user.is_active,
        must_change_password=user.must_change_password,
        preferred_locale=user.preferred_locale,
        roles=sorted(g.role for g in user.role_grants),
        domains=domains,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
