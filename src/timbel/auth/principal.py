"""The authenticated caller of a request, and a short-lived per-process cache of it.

Loading the caller (user, roles, domains, session or token state) costs a few
queries; an authenticated GET would spend most of its time there. The cache
keeps a principal for ``auth.principal_cache_seconds`` and is cleared in this
process whenever a transaction changes users, roles, memberships, sessions or
tokens, so a revocation is immediate here and within that bound elsewhere.
See docs/decisions/0003-principal-cache.md.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from timbel.auth.models import ApiToken, AuthSession, DomainMembership, User, UserRole
from timbel.auth.permissions import ROLE_PERMISSIONS, Permission, Role, permissions_for
from timbel.catalog.models import Domain

AUTH_MODELS = (User, UserRole, DomainMembership, AuthSession, ApiToken)
AUTH_CHANGED = "timbel.auth_changed"


@dataclass(frozen=True, slots=True)
class DomainRef:
    """A domain the user belongs to."""

    id: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, with what effective permissions, through which credential."""

    user_id: str
    username: str
    display_name: str
    email: str | None
    locale: str
    must_change_password: bool
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    domains: tuple[DomainRef, ...]
    credential: str  # "access_token" | "api_token" | "web_session"
    session_id: str | None = None
    api_token_id: str | None = None
    expires_at: datetime | None = None
    me_view: dict[str, Any] = field(default_factory=dict, compare=False)
    me_json: bytes = field(default=b"{}", compare=False)

    def has(self, permission: Permission) -> bool:
        """Tell whether the caller holds a permission."""
        return permission in self.permissions

    @property
    def domain_ids(self) -> frozenset[str]:
        """Ids of the domains the caller belongs to."""
        return frozenset(d.id for d in self.domains)


def load_user_principal(
    session: Session,
    *,
    user_id: str,
    credential: str,
    session_id: str | None = None,
    api_token: ApiToken | None = None,
    expires_at: datetime | None = None,
) -> Principal | None:
    """Build a principal for an active user, limiting permissions by an API token's role ceiling."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    roles = frozenset(Role(g.role) for g in user.role_grants)
    permissions = permissions_for(roles)
    if api_token is not None:
        ceiling = ROLE_PERMISSIONS[Role(api_token.role_ceiling)]
        permissions = permissions & ceiling
        roles = frozenset(r for r in roles if ROLE_PERMISSIONS[r] <= ceiling)
    rows = session.execute(
        select(Domain.id, Domain.code, Domain.name)
        .join(DomainMembership, DomainMembership.domain_id == Domain.id)
        .where(DomainMembership.user_id == user.id)
        .order_by(Domain.code)
    ).all()
    domains = tuple(DomainRef(id=r.id, code=r.code, name=r.name) for r in rows)
    me_view = {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "is_active": user.is_active,
        "preferred_locale": user.preferred_locale,
        "must_change_password": user.must_change_password,
        "roles": sorted(r.value for r in roles),
        "permissions": sorted(p.value for p in permissions),
        "domains": [{"id": d.id, "code": d.code, "name": d.name} for d in domains],
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "credential": credential,
    }
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        locale=user.preferred_locale,
        must_change_password=user.must_change_password,
        roles=roles,
        permissions=permissions,
        domains=domains,
        credential=credential,
        session_id=session_id,
        api_token_id=api_token.id if api_token else None,
        expires_at=expires_at,
        me_view=me_view,
        me_json=json.dumps(me_view, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
    )


class PrincipalCache:
    """A small TTL cache of principals keyed by credential, safe across threads."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        # Loads in progress, so concurrent misses on one credential share a single query.
        self.inflight: dict[str, asyncio.Future[Principal | None]] = {}

    def get(self, key: str) -> Principal | None:
        """Return a fresh cached principal or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    @property
    def generation(self) -> int:
        """A counter bumped on every clear; a load started before a clear is not stored."""
        return self._generation

    def put(self, key: str, principal: Principal, *, generation: int) -> None:
        """Store a principal loaded at a given generation (dropped if the cache was cleared since)."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        """Forget every cached principal (after any auth-relevant change)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()


def mark_auth_changed(session: Session) -> None:
    """Flag a transaction as changing auth state, for changes made with bulk statements."""
    session.info[AUTH_CHANGED] = True


@event.listens_for(Session, "after_flush")
def _track_auth_changes(session: Session, _flush_context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, AUTH_MODELS):
            session.info[AUTH_CHANGED] = True
            return
