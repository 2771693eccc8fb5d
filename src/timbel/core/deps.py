"""Request-scoped dependencies shared by every domain: settings, DB session, audit context."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from timbel.audit.service import AuditContext
from timbel.auth.principal import AUTH_CHANGED, PrincipalCache
from timbel.core.db import AFTER_COMMIT, run_after_commit
from timbel.core.errors import AppError
from timbel.core.settings import Settings


def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Open the request's transaction: commit on success, roll back on error (the edge)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
        session.commit()
        _after_commit(request, session)
    except AppError as exc:
        if exc.keep_changes:
            session.commit()
            _after_commit(request, session)
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(AFTER_COMMIT, None)
        session.close()


def _after_commit(request: Request, session: Session) -> None:
    run_after_commit(session)
    if session.info.pop(AUTH_CHANGED, False):
        cache: PrincipalCache = request.app.state.principal_cache
        cache.clear()


def client_ip(request: Request) -> str | None:
    """Return the client address as the server saw it."""
    return request.client.host if request.client else None


def get_audit_context(request: Request) -> AuditContext:
    """Return the request's audit context, with the authenticated caller as actor."""
    ctx: AuditContext | None = getattr(request.state, "audit", None)
    if ctx is None:
        principal = getattr(request.state, "principal", None)
        ctx = AuditContext(
            actor_id=principal.user_id if principal else None,
            actor_name=principal.username if principal else None,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            request_id=getattr(request.state, "request_id", None),
            method=request.method,
            path=request.scope["path"],
        )
        request.state.audit = ctx
    return ctx


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
AuditDep = Annotated[AuditContext, Depends(get_audit_context)]
