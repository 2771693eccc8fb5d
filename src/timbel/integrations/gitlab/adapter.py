"""The GitLab adapter (minimal): ``base.Testable`` — reachable, authenticated, version."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from .client import GitLabClient
from .config import GitLabConfig


class GitLabAdapter:
    """Test the connection to one GitLab instance."""

    kind = IntegrationKind.gitlab

    def __init__(
        self,
        config: GitLabConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = GitLabClient(config, transport=transport, breaker=breaker, sleep=sleep)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def test_connection(self) -> ConnectionReport:
        """``GET /api/v4/version`` with the token: reachable, token accepted, GitLab version."""
        name = self.config.name
        try:
            data = self.client.version()
        except IntegrationAuthError as exc:
            return ConnectionReport([Check("reachable", True), Check("authentication", False, str(exc))])
        except IntegrationUnavailable as exc:
            return ConnectionReport([Check("reachable", False, str(exc))])
        except IntegrationError as exc:
            return ConnectionReport([Check("reachable", True), Check("version", False, str(exc))])
        version = data.get("version") if isinstance(data.get("version"), str) else None
        return ConnectionReport(
            [
                Check("reachable", True),
                Check("authentication", True, f"{name}: token accepted"),
                Check("version", version is not None, f"GitLab {version}" if version else "no version"),
            ],
            version=version,
        )


def from_instance(c: InstanceConfig) -> GitLabAdapter:
    """Build the adapter of a stored instance, behind that instance's circuit breaker."""
    return GitLabAdapter(GitLabConfig.model_validate(c.config_data()), breaker=breaker_for(c.id, name=c.name))
