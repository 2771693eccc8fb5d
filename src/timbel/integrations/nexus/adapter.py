"""The Nexus 3 adapter behind ``base.Registry``: docker images as components of one hosted repository.

Why components: Nexus keeps one component per docker tag (name = image, version = tag) with the manifest
as its asset, and deletes by component id, never by digest. ``delete(repository, digest)`` therefore
removes every component of the image whose manifest has that digest — the same effect as a registry's
``DELETE manifests/<digest>``, which takes every tag of the manifest with it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from timbel.core.errors import IntegrationError, ValidationFailed
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from .client import NexusClient
from .config import NexusConfig

DOCKER = "docker"
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_SERVER_VERSION = re.compile(r"Nexus/([0-9][^ ]*)")


@dataclass(frozen=True)
class Component:
    """One docker tag in Nexus: component id, image name, tag, manifest digest and upload time."""

    id: str
    name: str
    version: str
    digest: str | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class RepositoryRef:
    """One Nexus repository as ``GET /repositories`` lists it."""

    name: str
    format: str
    type: str
    url: str = ""


class NexusAdapter:
    """Docker images of one Nexus hosted repository (``config.repository``)."""

    kind = IntegrationKind.nexus

    def __init__(
        self,
        config: NexusConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = NexusClient(config, transport=transport, breaker=breaker, sleep=sleep)
        self._listing: dict[str, list[Component]] = {}

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def repositories(self, *, limit: int = 1000) -> list[str]:
        """Image names in the docker repository (sorted), from the paged docker search, up to ``limit``."""
        names: set[str] = set()
        for item in self._search():
            names.add(str(item.get("name", "")))
            if len(names) >= limit:
                break
        names.discard("")
        return sorted(names)[:limit]

    def components(self, repository: str) -> list[Component]:
        """Every component (tag) of one image name, as Nexus lists them."""
        found = [
            _component(item)
            for item in self._search(name=_name(repository))
            if item.get("name") == repository
        ]
        self._listing[repository] = found
        return found

    def tags(self, repository: str) -> list[str]:
        """Tags (component versions) of one image; empty when the image is unknown."""
        return list(dict.fromkeys(c.version for c in self.components(repository)))

    def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest of ``tag`` (the manifest asset's sha256); None when the tag is absent."""
        for item in self._search(name=_name(repository), version=_tag(tag)):
            if item.get("name") == repository and item.get("version") == tag:
                return _component(item).digest
        return None

    def created(self, repository: str, reference: str) -> datetime | None:
        """When the newest component with this tag or digest was uploaded (from the last listing read)."""
        listing = self._listing.get(repository)
        if listing is None:
            listing = self.components(repository)
        times = [c.created for c in listing if reference in (c.version, c.digest) and c.created]
        return max(times) if times else None

    def delete(self, repository: str, digest: str) -> None:
        """Delete every component of the image whose manifest has ``digest`` (all its tags)."""
        if not DIGEST_RE.fullmatch(digest):
            raise ValidationFailed(f"Nexus '{self.config.name}': '{digest[:80]}' is not a sha256 digest")
        matching = [c for c in self.components(repository) if c.digest == digest]
        if not matching:
            raise IntegrationError(
                f"Nexus '{self.config.name}': no tag of {repository} has the manifest {digest}"
            )
        for component in matching:
            self.delete_component(component.id, what=f"DELETE {repository}:{component.version}")
        self._listing.pop(repository, None)

    def delete_component(self, component_id: str, *, what: str | None = None) -> None:
        """``DELETE components/{id}``; a component already gone (404) counts as deleted."""
        path = f"components/{quote(component_id, safe='')}"
        self.client.delete(path, what=what or f"DELETE component {component_id}", allow={404})

    def list_repositories(self) -> list[RepositoryRef]:
        """Every repository the user may see (``GET /repositories``)."""
        body = self.client.json(self.client.get("repositories", what="GET repositories"), what="repositories")
        rows = [r for r in body if isinstance(r, dict)] if isinstance(body, list) else []
        return [
            RepositoryRef(
                str(r.get("name", "")),
                str(r.get("format", "")),
                str(r.get("type", "")),
                str(r.get("url") or ""),
            )
            for r in rows
        ]

    def test_connection(self) -> ConnectionReport:
        """Check reachability, writability, the credentials, the docker repository and search permission."""
        try:
            status = self.client.probe("status", what="GET status")
        except IntegrationError as exc:
            return ConnectionReport([Check("reachable", False, exc.detail)])
        version = _version(status)
        if status.status_code != 200:
            detail = f"{self.config.base_url} answered HTTP {status.status_code} on /service/rest/v1/status"
            return ConnectionReport([Check("reachable", False, detail)], version=version)
        checks = [
            Check("reachable", True, f"Nexus {version or '(version hidden)'} at {self.config.base_url}")
        ]
        try:
            writable = self.client.probe("status/writable", what="GET status/writable")
        except IntegrationError as exc:
            return ConnectionReport([*checks, Check("writable", False, exc.detail)], version=version)
        checks.append(
            Check("writable", True, "accepts writes") if writable.status_code == 200
            else Check("writable", False, f"read-only (status/writable answered HTTP {writable.status_code})")
        )  # fmt: skip
        try:
            repositories = self.list_repositories()
        except IntegrationError as exc:
            return ConnectionReport([*checks, Check("auth", False, exc.detail)], version=version)
        who = f"signed in as {self.config.username}" if self.config.username else "anonymous access"
        checks.append(Check("auth", True, f"{who}; {len(repositories)} repositories visible"))
        checks.append(self._repository_check(repositories))
        try:
            next(self._search(), None)
            checks.append(Check("search", True, f"docker search in {self.config.repository} allowed"))
        except IntegrationError as exc:
            checks.append(Check("search", False, exc.detail))
        return ConnectionReport(checks, version=version)

    def _repository_check(self, repositories: list[RepositoryRef]) -> Check:
        """The configured repository exists and is a docker hosted repository."""
        wanted = self.config.repository
        found = next((r for r in repositories if r.name == wanted), None)
        if found is None:
            return Check("repository", False, f"repository '{wanted}' not found or not visible to the user")
        if found.format != DOCKER or found.type != "hosted":
            return Check("repository", False, f"'{wanted}' is a {found.format} {found.type} repository, "
                         "not docker hosted")  # fmt: skip
        return Check("repository", True, f"'{wanted}' is a docker hosted repository")

    def _search(self, **filters: str) -> Iterator[dict[str, Any]]:
        """Items of ``GET search?repository=&format=docker`` (plus ``name``/``version``), all pages."""
        params = {"repository": self.config.repository, "format": DOCKER, **filters}
        return self.client.paged("search", what="GET search", params=params)


def from_instance(c: InstanceConfig) -> NexusAdapter:
    """The adapter of a stored instance, with that instance's circuit breaker."""
    return NexusAdapter(NexusConfig.model_validate(c.config_data()), breaker=breaker_for(c.id, name=c.name))


def _component(item: dict[str, Any]) -> Component:
    """A search/components item → ``Component`` (digest and time from its manifest asset)."""
    assets = [a for a in item.get("assets") or [] if isinstance(a, dict)]
    manifests = [a for a in assets if "/manifests/" in str(a.get("path", ""))] or assets
    asset = manifests[0] if manifests else {}
    return Component(
        id=str(item.get("id", "")), name=str(item.get("name", "")), version=str(item.get("version", "")),
        digest=_asset_digest(asset), created=_time(asset.get("blobCreated") or asset.get("lastModified")),
    )  # fmt: skip


def _asset_digest(asset: dict[str, Any]) -> str | None:
    """``sha256:<hex>`` from the asset's checksum, else its docker ``content_digest`` attribute."""
    checksum = asset.get("checksum")
    if isinstance(checksum, dict) and isinstance(checksum.get("sha256"), str):
        return f"sha256:{checksum['sha256'].lower()}"
    attributes = asset.get("attributes")
    docker = attributes.get("docker") if isinstance(attributes, dict) else None
    digest = docker.get("content_digest") if isinstance(docker, dict) else None
    return str(digest) if isinstance(digest, str) and DIGEST_RE.fullmatch(digest) else None


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time from Nexus (``2026-01-01T10:00:00.123+00:00``); naive → UTC; junk → None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _version(response: httpx.Response) -> str | None:
    """The version from Nexus' ``Server: Nexus/3.61.0-02 (OSS)`` header, when it shows one."""
    match = _SERVER_VERSION.search(response.headers.get("Server", ""))
    return match.group(1) if match else None


def _name(repository: str) -> str:
    """An image name as a search filter (non-empty, no control characters)."""
    if not repository or len(repository) > 255 or any(ord(ch) < 32 for ch in repository):
        raise ValidationFailed("an image name must be 1–255 printable characters")
    return repository


def _tag(tag: str) -> str:
    """A tag as a search filter (non-empty, no control characters)."""
    if not tag or len(tag) > 128 or any(ord(ch) < 32 for ch in tag):
        raise ValidationFailed("a tag must be 1–128 printable characters")
    return tag
