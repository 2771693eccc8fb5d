"""Who may deliver: GitHub HMAC signatures and GitLab tokens, checked against cached instance secrets.

Why a cache: decrypting every instance's secrets on every delivery would cost more than storing it. The
decrypted (instance id, secret) pairs live a few seconds per app; any in-process change to an integration
row (ORM flush) drops them at once, other processes see a change within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from timbel.core.settings import Settings
from timbel.integrations import service as integrations
from timbel.integrations.base import IntegrationKind
from timbel.integrations.models import Integration

logger = logging.getLogger(__name__)
CACHE_SECONDS = 5.0
SECRET_FIELD = {IntegrationKind.github: "webhook_secret", IntegrationKind.gitlab: "webhook_token"}
SIGNATURE_PREFIX = "sha256="

Secrets = tuple[tuple[str, bytes], ...]  # (integration id, secret) pairs
_generation = 0


def _bump(*_args: Any) -> None:
    global _generation
    _generation += 1


for _name in ("after_insert", "after_update", "after_delete"):
    event.listen(Integration, _name, _bump)


def load_secrets(session: Session, *, settings: Settings, kind: IntegrationKind) -> Secrets:
    """The webhook secrets of every instance of a kind that has one (undecryptable rows are skipped)."""
    found: list[tuple[str, bytes]] = []
    for row in integrations.list_instances(session, kind=kind):
        if SECRET_FIELD[kind] not in (row.secret_fields or []):
            continue
        try:
            value = integrations.read_secrets(row, settings=settings).get(SECRET_FIELD[kind], "")
        except Exception:  # a broken row must not stop the others
            logger.warning("integration %s: its webhook secret cannot be read", row.name)
            continue
        if value:
            found.append((row.id, value.encode("utf-8")))
    return tuple(found)


@dataclass
class SecretCache:
    """Per-app cache of decrypted webhook secrets by kind, valid ``ttl`` seconds or until a row changes."""

    ttl: float = CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic
    _entries: dict[IntegrationKind, tuple[float, int, Secrets]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def peek(self, *, kind: IntegrationKind) -> Secrets | None:
        """The cached secrets of ``kind`` if still fresh, without touching the database."""
        entry = self._entries.get(kind)
        if entry is not None and entry[1] == _generation and self.clock() - entry[0] < self.ttl:
            return entry[2]
        return None

    def get(
        self, *, kind: IntegrationKind, session_factory: sessionmaker[Session], settings: Settings
    ) -> Secrets:
        """The cached secrets of ``kind``, loading them when stale."""
        fresh = self.peek(kind=kind)
        if fresh is not None:
            return fresh
        with self._lock:
            now = self.clock()
            generation = _generation
            with session_factory() as session:
                secrets = load_secrets(session, settings=settings, kind=kind)
            self._entries[kind] = (now, generation, secrets)
        return secrets

    def clear(self) -> None:
        """Forget every cached secret."""
        self._entries.clear()


def github_signature(body: bytes, *, secret: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>`` as GitHub sends it."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def match_github(body: bytes, *, signature: str | None, secrets: Sequence[tuple[str, bytes]]) -> str | None:
    """The instance whose secret signed ``body`` (constant-time compare per secret), or None."""
    if not signature or not signature.startswith(SIGNATURE_PREFIX):
        return None
    given = signature.strip().encode("ascii", "replace")
    matched = None
    for instance_id, secret in secrets:
        if (
            hmac.compare_digest(github_signature(body, secret=secret).encode("ascii"), given)
            and matched is None
        ):
            matched = instance_id
    return matched


def match_gitlab(token: str | None, *, secrets: Sequence[tuple[str, bytes]]) -> str | None:
    """The instance whose webhook token equals ``token`` (constant-time compare per token), or None."""
    if not token:
        return None
    given = token.encode("utf-8", "replace")
    matched = None
    for instance_id, secret in secrets:
        if hmac.compare_digest(secret, given) and matched is None:
            matched = instance_id
    return matched
