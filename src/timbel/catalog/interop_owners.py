"""Resolve Backstage owner references to existing Timbel users; accounts are never created.

``user:x`` matches the user named x (or, through a User entity of the file, its e-mail address);
``group:x`` stands for the members of the file's Group x plus the file's users who are memberOf it.
``group:unowned`` (what an export writes for nobody) means "no owner". Anything else is a warning.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timbel.auth.models import User
from timbel.catalog import backstage_map as bmap
from timbel.catalog.backstage import Entity, EntityRef, Problem, parse_refs


class OwnerResolver:
    """Resolve owner references to existing Timbel users through the file's User and Group entities."""

    def __init__(self, session: Session, entities: list[Entity]) -> None:
        self.resolved = 0
        self.users = {e.name.lower(): e for e in entities if e.kind == "User"}
        self.groups = {e.name.lower(): e for e in entities if e.kind == "Group"}
        emails = {self._email(e) for e in self.users.values()} - {""}
        names = set(self.users)
        for entity in entities:
            for ref in self._owner_refs(entity):
                names.add(ref.name.lower())
            for ref in self._safe_refs(entity.spec.get("members"), "user") if entity.kind == "Group" else []:
                names.add(ref.name.lower())
        rows = session.execute(
            select(User.id, User.username, User.email).where(
                or_(User.username.in_(names), func.lower(User.email).in_(emails))
            )
        ).all()
        self.by_username: dict[str, str] = {r.username: r.id for r in rows}
        self.by_email: dict[str, str] = {r.email.lower(): r.id for r in rows if r.email}

    @staticmethod
    def _email(entity: Entity) -> str:
        profile = entity.spec.get("profile")
        email = profile.get("email") if isinstance(profile, dict) else None
        return email.strip().lower() if isinstance(email, str) else ""

    @staticmethod
    def _safe_refs(value: Any, kind: str) -> list[EntityRef]:
        try:
            return parse_refs(value, default_kind=kind)
        except ValueError:
            return []

    def _owner_refs(self, entity: Entity) -> list[EntityRef]:
        try:
            return bmap.owner_refs(entity) or []
        except ValueError:
            return []

    def _user(self, name: str) -> str | None:
        entity = self.users.get(name)
        if entity is not None and self._email(entity) in self.by_email:
            return self.by_username.get(name) or self.by_email[self._email(entity)]
        return self.by_username.get(name)

    def _members(self, group: str) -> list[tuple[str, str | None]]:
        members = self._safe_refs(self.groups[group].spec.get("members"), "user")
        names = [m.name.lower() for m in members]
        for name, user in self.users.items():
            member_of = self._safe_refs(user.spec.get("memberOf"), "group")
            if any(ref.name.lower() == group for ref in member_of) and name not in names:
                names.append(name)
        return [(name, self._user(name)) for name in names]

    def resolve(self, entity: Entity, refs: list[EntityRef], warnings: list[Problem]) -> list[str] | None:
        """Return the user ids behind some owner references, warning about those that match nobody."""
        found: list[str] = []
        explicit_none = False
        for ref in refs:
            name = ref.name.lower()
            if ref.kind == "group" and name in self.groups:
                members = self._members(name)
                ids = [i for _, i in members if i]
                for member, _ in (m for m in members if m[1] is None):
                    reason = f"member user:{member} of owner {ref} matches no Timbel user"
                    warnings.append(entity.problem(reason, "backstage.owner"))
            elif ref.kind == "group" and str(ref) == bmap.UNOWNED:
                explicit_none = True
                continue
            else:
                user_id = self._user(name) if ref.kind == "user" else None
                ids = [user_id] if user_id else []
            if not ids:
                warnings.append(entity.problem(f"owner {ref} matches no Timbel user", "backstage.owner"))
            self.resolved += len(ids)
            found += [i for i in ids if i not in found]
        return found if found or explicit_none else None
