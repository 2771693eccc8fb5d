"""A thin httpx client for the GitLab REST API v4 (``PRIVATE-TOKEN`` header)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from timbel.core.errors import IntegrationError
from timbel.integrations.http import CircuitBreaker, as_integration_error, make_client

from .config import GitLabConfig

USER_AGENT = "timbel-gitlab"


class GitLabClient:
    """Call one GitLab instance; ``transport`` lets tests swap the network out."""

    def __init__(
        self,
        config: GitLabConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._http = make_client(
            base_url=config.base_url + "/api/v4",
            breaker=breaker,
            transport=transport,
            headers={
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "PRIVATE-TOKEN": config.token.get_secret_value(),
            },
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(5.0, config.timeout_seconds)),
            verify=config.verify_tls,
            sleep=sleep,
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def get_json(self, path: str) -> Any:
        """``GET /api/v4{path}`` → decoded JSON; failures become IntegrationError naming the instance."""
        try:
            response = self._http.get(path)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise as_integration_error(self.config.name, exc) from None
        try:
            return response.json()
        except ValueError:
            raise IntegrationError(f"{self.config.name}: {path} did not answer JSON") from None

    def version(self) -> dict[str, Any]:
        """``GET /api/v4/version`` → ``{version, revision, …}`` (needs a valid token)."""
        data = self.get_json("/version")
        return data if isinstance(data, dict) else {}
