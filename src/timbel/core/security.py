"""Password hashing (argon2id), access JWTs, opaque token generation and HMAC helpers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from timbel.core.db import new_id, utcnow

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash("timbel-dummy-password-for-timing")
JWT_ALGORITHM = "HS256"
API_TOKEN_PREFIX = "tbl_"  # noqa: S105 - a prefix, not a secret


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, spend the same time and fail (hides unknown users)."""
    try:
        if password_hash is None:
            _hasher.verify(_DUMMY_HASH, password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Tell whether a stored hash uses outdated parameters."""
    return _hasher.check_needs_rehash(password_hash)


def new_opaque_token(prefix: str = "") -> str:
    """Return a new high-entropy token for refresh tokens, sessions and API tokens."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Hash an opaque token for storage and lookup (SHA-256 hex; tokens are high-entropy)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hmac_hex(key: str, message: str) -> str:
    """Return an HMAC-SHA256 of a message under a key."""
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings without leaking timing."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """Verified claims of an access token."""

    user_id: str
    session_id: str
    token_id: str
    expires_at: datetime

    @property
    def expired(self) -> bool:
        """Tell whether the token has expired by now."""
        return self.expires_at.timestamp() <= time.time()


class InvalidToken(Exception):
    """An access token failed verification."""


def issue_access_token(
    *,
    key: str,
    issuer: str,
    audience: str,
    user_id: str,
    session_id: str,
    ttl_seconds: int,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """Sign a short-lived access JWT for a user's session; return it and its expiry."""
    issued = now or utcnow()
    expires = issued + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "sid": session_id,
        "jti": new_id(),
        "typ": "access",
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()) - 5,
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM), expires


def decode_access_token(token: str, *, key: str, issuer: str, audience: str) -> AccessClaims:
    """Verify signature, issuer, audience, expiry and type of an access JWT."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "sid", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("typ") != "access":
        raise InvalidToken("not an access token")
    return AccessClaims(
        user_id=str(claims["sub"]),
        session_id=str(claims["sid"]),
        token_id=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


class AccessTokenVerifier:
    """Verify access JWTs, remembering each verified token until it expires.

    Checking an HS256 signature and the claims costs as much as the rest of an
    authenticated request; a token seen before is only checked for expiry.
    """

    def __init__(self, *, key: str, issuer: str, audience: str, max_entries: int = 20_000) -> None:
        self._key, self._issuer, self._audience = key, issuer, audience
        self._max_entries = max_entries
        self._verified: dict[str, AccessClaims] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> AccessClaims:
        """Return the claims of a valid, unexpired token or raise InvalidToken."""
        claims = self._verified.get(token)
        if claims is None:
            claims = decode_access_token(token, key=self._key, issuer=self._issuer, audience=self._audience)
            with self._lock:
                if len(self._verified) >= self._max_entries:
                    self._verified.clear()
                self._verified[token] = claims
        elif claims.expired:
            self._verified.pop(token, None)
            raise InvalidToken("Signature has expired")
        return claims
