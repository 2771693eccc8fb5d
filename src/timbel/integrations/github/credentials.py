"""Clone credentials from GitHub instances: ``InstanceCredentials`` is a ``clone.CredentialLookup``.

Why the choice is made this way: a token goes only to the git host its instance names (``web_host``, or the
host derived from ``base_url``), so a token for github.com never reaches another server. Among instances
for that host, one scoped to the analysis's domain wins over a global one, and a default over a non-default
(then by name); instances scoped to other domains are never used. Secrets are decrypted only for the
instance chosen, and the token is neither logged nor put in any message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from timbel.core.crypto import SecretDecryptError
from timbel.core.settings import Settings
from timbel.integrations.base import IntegrationKind
from timbel.integrations.models import Integration
from timbel.integrations.service import read_secrets

from .config import clone_host_of

logger = logging.getLogger(__name__)


def host_matches(*, web_host: str, host: str) -> bool:
    """True when a clone of ``host`` goes to ``web_host``.

    The clone passes a bare host name (no port), so ``127.0.0.1`` matches a web host ``127.0.0.1:8080``;
    a ``host:port`` argument must match exactly.
    """
    host, web_host = host.lower().rstrip("."), web_host.lower()
    if host == web_host:
        return True
    name, sep, port = web_host.rpartition(":")
    return bool(sep) and port.isdigit() and host == name


def pick_instance(
    rows: Iterable[Integration], *, host: str, domain_id: str | None = None
) -> Integration | None:
    """The GitHub instance whose token may go to ``host``: domain-scoped before global, default first."""
    usable = [
        row
        for row in rows
        if row.kind == IntegrationKind.github.value
        and row.domain_id in (None, domain_id)
        and host_matches(web_host=web_host_of(row), host=host)
    ]
    usable.sort(key=lambda row: (row.domain_id is None, not row.is_default, row.name))
    return usable[0] if usable else None


def web_host_of(row: Integration) -> str:
    """The git host a stored GitHub instance serves (its ``web_host`` option, or derived from the API URL)."""
    option = (row.options or {}).get("web_host")
    return clone_host_of(base_url=row.base_url, web_host=option if isinstance(option, str) else None)


class InstanceCredentials:
    """Find clone tokens among the stored GitHub instances (global ones, plus those of ``domain_id``)."""

    def __init__(
        self, *, session_factory: sessionmaker[Session], settings: Settings, domain_id: str | None = None
    ) -> None:
        self._session_factory, self._settings, self._domain_id = session_factory, settings, domain_id

    def __repr__(self) -> str:
        return f"InstanceCredentials(domain_id={self._domain_id!r})"

    def token_for(self, host: str) -> str | None:
        """The token of the GitHub instance for ``host``, or None (anonymous clone)."""
        with self._session_factory() as session:
            rows = session.scalars(
                select(Integration).where(Integration.kind == IntegrationKind.github.value)
            )
            row = pick_instance(rows, host=host, domain_id=self._domain_id)
            if row is None:
                return None
            try:
                token = read_secrets(row, settings=self._settings).get("token")
            except SecretDecryptError:
                logger.warning(
                    "GitHub instance %s: its secrets cannot be decrypted; cloning anonymously", row.name
                )
                return None
        return token or None
