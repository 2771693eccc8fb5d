"""First-start bootstrap for embedded mode: a one-time administrator password."""

from __future__ import annotations

import secrets
import string

from sqlalchemy.orm import Session, sessionmaker

from timbel.audit.service import AuditContext
from timbel.auth import service as user_service
from timbel.auth.schemas import UserCreate
from timbel.core.db import session_scope
from timbel.core.settings import Settings

FIRST_ADMIN = "admin"


def generate_password(length: int = 20) -> str:
    """Return a random password of letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def ensure_first_admin(factory: sessionmaker[Session], *, settings: Settings) -> str | None:
    """Create the first administrator when no account exists; return its one-time password."""
    with session_scope(factory) as session:
        if user_service.count(session) > 0:
            return None
        password = generate_password()
        user_service.create(
            session,
            data=UserCreate(
                username=FIRST_ADMIN,
                password=password,
                display_name="Administrator",
                roles=["admin"],
                must_change_password=True,
            ),
            min_password_length=settings.auth.password_min_length,
            ctx=AuditContext(actor_name="system", method="CLI", path="timbel serve (first start)"),
        )
        return password
