"""Auth background jobs: purge dead credentials and stale throttles.

Retention windows (why not delete at expiry): rows that just ended stay a while so an
admin can still see recent sign-ins and revocations, and so a replayed refresh token of
a recently revoked session is still recognised as reuse rather than as an unknown token.

- refresh tokens: one day after they expire (``REFRESH_TOKEN_GRACE``);
- auth sessions: ``settings.auth.refresh_token_seconds`` after they expired or were
  revoked (one refresh-token lifetime), together with their remaining refresh tokens;
- API tokens: 30 days after they expired or were revoked (``API_TOKEN_RETENTION``);
- login throttles: once the last failure is older than ``throttle_window_seconds`` and
  no lock is in force.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, and_, delete, or_, select
from sqlalchemy.orm import Session

from timbel.auth.models import ApiToken, AuthSession, LoginThrottle, RefreshToken
from timbel.core.db import session_scope, utcnow
from timbel.core.jobs import JobContext, crontab, job

REFRESH_TOKEN_GRACE = timedelta(days=1)
API_TOKEN_RETENTION = timedelta(days=30)


def _delete(session: Session, statement: Delete) -> int:
    result = cast(CursorResult[Any], session.execute(statement.execution_options(synchronize_session=False)))
    return int(result.rowcount or 0)


@job("auth.cleanup_expired", periodic=crontab(minute="*/15"))
def cleanup_expired(ctx: JobContext) -> dict[str, int]:
    """Delete expired or revoked sessions and tokens past their retention, and stale throttles."""
    now = utcnow()
    auth = ctx.settings.auth
    session_cutoff = now - timedelta(seconds=auth.refresh_token_seconds)
    token_cutoff = now - API_TOKEN_RETENTION
    throttle_cutoff = now - timedelta(seconds=auth.throttle_window_seconds)

    dead_sessions = select(AuthSession.id).where(
        or_(AuthSession.expires_at < session_cutoff, AuthSession.revoked_at < session_cutoff)
    )
    with session_scope(ctx.session_factory) as session:
        # Refresh tokens of dead sessions go first and explicitly, so the counts are exact
        # and nothing depends on the database cascading the delete.
        refresh_tokens = _delete(
            session,
            delete(RefreshToken).where(
                or_(
                    RefreshToken.expires_at < now - REFRESH_TOKEN_GRACE,
                    RefreshToken.session_id.in_(dead_sessions),
                )
            ),
        )
        auth_sessions = _delete(session, delete(AuthSession).where(AuthSession.id.in_(dead_sessions)))
        api_tokens = _delete(
            session,
            delete(ApiToken).where(
                or_(ApiToken.expires_at < token_cutoff, ApiToken.revoked_at < token_cutoff)
            ),
        )
        login_throttles = _delete(
            session,
            delete(LoginThrottle).where(
                and_(
                    LoginThrottle.last_failure_at < throttle_cutoff,
                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
                )
            ),
        )
    return {
        "refresh_tokens": refresh_tokens,
        "auth_sessions": auth_sessions,
        "api_tokens": api_tokens,
        "login_throttles": login_throttles,
    }
