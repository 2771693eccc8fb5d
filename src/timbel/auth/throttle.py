"""Login throttling per account name and per client address, with exponential backoff.

Counters are keyed by the submitted username (whether or not it exists) so the
lockout behaviour reveals nothing about which accounts exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from timbel.auth.models import LoginThrottle
from timbel.core.settings import AuthSettings


@dataclass(frozen=True, slots=True)
class ThrottleKeys:
    """The two counters a sign-in attempt touches."""

    account: str
    ip: str

    @classmethod
    def for_attempt(cls, *, username: str, ip: str | None) -> ThrottleKeys:
        """Build the keys for a username and client address."""
        return cls(account=f"user:{username.strip().lower()[:180]}", ip=f"ip:{ip or 'unknown'}")


def retry_after(session: Session, *, keys: ThrottleKeys, now: datetime) -> int:
    """Return seconds until sign-in may be tried again (0 when not locked)."""
    wait = 0.0
    for key in (keys.account, keys.ip):
        row = session.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = max(wait, (row.locked_until - now).total_seconds())
    return math.ceil(wait)


def record_failure(session: Session, *, keys: ThrottleKeys, now: datetime, policy: AuthSettings) -> None:
    """Count a failed attempt on both keys and lock them with backoff past their thresholds."""
    for key, threshold in (
        (keys.account, policy.throttle_account_threshold),
        (keys.ip, policy.throttle_ip_threshold),
    ):
        row = session.get(LoginThrottle, key, with_for_update=True)
        window = timedelta(seconds=policy.throttle_window_seconds)
        if row is None:
            row = LoginThrottle(key=key, failures=0, first_failure_at=now, last_failure_at=now)
            session.add(row)
        elif now - row.last_failure_at > window and (row.locked_until is None or row.locked_until <= now):
            row.failures = 0
            row.first_failure_at = now
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= threshold:
            steps = row.failures - threshold
            seconds = min(policy.throttle_base_seconds * (2**steps), policy.throttle_max_seconds)
            row.locked_until = now + timedelta(seconds=seconds)
    session.flush()


def record_success(session: Session, *, keys: ThrottleKeys) -> None:
    """Clear the account counter after a successful sign-in (the address counter stays)."""
    row = session.get(LoginThrottle, keys.account)
    if row is not None:
        session.delete(row)
        session.flush()
