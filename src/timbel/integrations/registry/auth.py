"""Registry authentication: the ``WWW-Authenticate`` challenge parser and a per-scope token cache.

Why: Docker's token flow answers a request without a usable token with 401 and a Bearer challenge
(``realm``, ``service``, ``scope``); the client fetches a token from the realm (with Basic credentials when
it has them) and retries. Tokens are cached per scope until shortly before they expire, so a page of
catalog or tag calls costs one token request, not one per call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
MIN_TOKEN_SECONDS = 60  # the token spec's default lifetime
EXPIRY_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge."""

    scheme: str
    params: dict[str, str]

    @property
    def is_bearer(self) -> bool:
        """True for the token flow."""
        return self.scheme == "bearer"


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``Bearer realm="…",service="…",scope="…"`` (or ``Basic realm=…``); None when empty."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params = {
        m[1].lower(): (m[2].replace('\\"', '"') if m[2] is not None else m[3]) for m in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


@dataclass
class TokenCache:
    """Bearer tokens by scope, each valid until its expiry minus a small margin."""

    clock: Callable[[], float] = time.monotonic
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def get(self, scope: str) -> str | None:
        """The cached token for ``scope`` if it is still valid."""
        entry = self._tokens.get(scope)
        if entry is None:
            return None
        token, expires_at = entry
        if self.clock() >= expires_at:
            del self._tokens[scope]
            return None
        return token

    def put(self, scope: str, token: str, *, expires_in: float | None) -> None:
        """Remember a token for ``scope`` for ``expires_in`` seconds (the spec's 60 when not given)."""
        lifetime = float(expires_in) if expires_in else float(MIN_TOKEN_SECONDS)
        self._tokens[scope] = (token, self.clock() + lifetime - EXPIRY_MARGIN_SECONDS)

    def clear(self) -> None:
        """Forget every token."""
        self._tokens.clear()
