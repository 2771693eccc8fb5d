"""The Docker Registry v2 / OCI distribution adapter behind ``base.Registry``.

Why HEAD with every manifest media type: a registry answers a tag with the manifest form the client
accepts; without the OCI and list/index types it either converts (losing the real digest) or says
MANIFEST_UNKNOWN, so the digest Timbel records would not be the one that was deployed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from timbel.core.errors import IntegrationError, ValidationFailed
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.registry.client import RegistryClient
from timbel.integrations.registry.config import RegistryConfig

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_ACCEPT = ", ".join((DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX))
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
API_VERSION_HEADER = "Docker-Distribution-API-Version"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_FRACTION = re.compile(r"(\.\d{6})\d+")


class DockerRegistry:
    """A Docker Registry v2 / OCI distribution instance (anonymous, Basic or Bearer-token auth)."""

    kind = IntegrationKind.registry

    def __init__(
        self,
        config: RegistryConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = RegistryClient(config, transport=transport, clock=clock, sleep=sleep)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def ping(self) -> str | None:
        """Check ``/v2/`` with credentials; return the advertised API version (``registry/2.0``)."""
        response = self.client.request("GET", "/v2/", scope=None, what="GET /v2/")
        version = response.headers.get(API_VERSION_HEADER)
        return str(version) if version is not None else None

    def repositories(self, *, limit: int = 1000) -> list[str]:
        """Image repositories from ``/v2/_catalog``, following ``Link: rel="next"`` pages up to ``limit``."""
        return self._paged("/v2/_catalog", key="repositories", scope="registry:catalog:*", limit=limit)

    def tags(self, repository: str) -> list[str]:
        """Tags of one repository (paged like the catalog); empty when the repository is unknown."""
        _check(REPOSITORY_RE, repository, "repository")
        path = f"/v2/{repository}/tags/list"
        return self._paged(path, key="tags", scope=_pull(repository), limit=None, missing_ok=True)

    def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest of ``tag`` via HEAD (``Docker-Content-Digest``); None when it is absent."""
        _check(REPOSITORY_RE, repository, "repository")
        _check(TAG_RE, tag, "tag")
        path = f"/v2/{repository}/manifests/{tag}"
        what = f"HEAD manifest {repository}:{tag}"
        headers = {"Accept": MANIFEST_ACCEPT}
        response = self.client.request(
            "HEAD", path, scope=_pull(repository), what=what, headers=headers, allow={404}
        )
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest")
        if digest:
            return str(digest)
        # Some registries omit the header on HEAD: hash the manifest bytes exactly as served.
        _, _, raw = self._manifest(repository, tag)
        return "sha256:" + hashlib.sha256(raw).hexdigest()

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]]:
        """The media type and body of a manifest (tag or digest)."""
        _check(REPOSITORY_RE, repository, "repository")
        _check_reference(reference)
        media_type, body, _ = self._manifest(repository, reference)
        return media_type, body

    def created(self, repository: str, reference: str) -> datetime | None:
        """The image's build time: the ``created`` field of its config blob (first image of an index)."""
        media_type, body = self.manifest(repository, reference)
        if media_type in INDEX_TYPES or "manifests" in body:
            children = [m for m in body.get("manifests", []) if isinstance(m, dict) and m.get("digest")]
            if not children:
                return None
            media_type, body = self.manifest(repository, _pick_platform(children))
        config = body.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            return None
        blob = self.blob_json(repository, config["digest"])
        return _parse_time(blob.get("created"))

    def blob_json(self, repository: str, digest: str) -> dict[str, Any]:
        """A JSON blob (an image config), following the registry's redirect to its storage."""
        _check(REPOSITORY_RE, repository, "repository")
        _check(DIGEST_RE, digest, "digest")
        path = f"/v2/{repository}/blobs/{digest}"
        what = f"GET blob {repository}@{digest}"
        response = self.client.request("GET", path, scope=_pull(repository), what=what, follow_redirects=True)
        try:
            body = response.json()
        except ValueError as exc:
            raise IntegrationError(f"registry '{self.config.name}': {what} is not JSON") from exc
        return body if isinstance(body, dict) else {}

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (every tag pointing to it goes with it)."""
        _check(REPOSITORY_RE, repository, "repository")
        _check(DIGEST_RE, digest, "digest")
        what = f"DELETE manifest {repository}@{digest}"
        path = f"/v2/{repository}/manifests/{digest}"
        scope = f"repository:{repository}:delete"
        response = self.client.request("DELETE", path, scope=scope, what=what, allow={405})
        if response.status_code == 405:
            raise IntegrationError(
                f"registry '{self.config.name}' does not allow deleting images ({what}: HTTP 405); "
                "enable deletion in the registry (storage.delete.enabled: true)"
            )

    def test_connection(self) -> ConnectionReport:
        """Check reachability, the v2 API, that the credentials are accepted, and catalog permission."""
        try:
            first = self.client.probe("/v2/", what="GET /v2/")
        except IntegrationError as exc:
            detail = exc.detail
            return ConnectionReport(
                [Check("reachable", False, detail), *_skipped("v2 API", "auth", "catalog")]
            )
        checks = [Check("reachable", True, f"{self.config.root} answered HTTP {first.status_code}")]
        version = first.headers.get(API_VERSION_HEADER)
        if first.status_code not in (200, 401) or (version and version != "registry/2.0"):
            checks.append(
                Check("v2 API", False, f"/v2/ answered HTTP {first.status_code}, version {version}")
            )
            return ConnectionReport([*checks, *_skipped("auth", "catalog")], version=version)
        checks.append(Check("v2 API", True, version or "OCI distribution (no version header)"))
        try:
            version = self.ping() or version
            checks.append(Check("auth", True, _auth_detail(self.config, first)))
        except IntegrationError as exc:
            checks.append(Check("auth", False, exc.detail))
            return ConnectionReport([*checks, *_skipped("catalog")], version=version)
        try:
            count = len(self._paged("/v2/_catalog", key="repositories", scope="registry:catalog:*", limit=1))
            checks.append(Check("catalog", True, f"catalog readable ({count} on the first page)"))
        except IntegrationError as exc:
            checks.append(Check("catalog", False, f"cannot list repositories: {exc.detail}"))
        return ConnectionReport(checks, version=version)

    def _manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any], bytes]:
        """GET a manifest with every accepted media type; return (media type, body, raw bytes)."""
        what = f"GET manifest {repository}:{reference}"
        path = f"/v2/{repository}/manifests/{reference}"
        headers = {"Accept": MANIFEST_ACCEPT}
        response = self.client.request("GET", path, scope=_pull(repository), what=what, headers=headers)
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise IntegrationError(f"registry '{self.config.name}': {what} is not JSON") from exc
        if not isinstance(body, dict):
            raise IntegrationError(f"registry '{self.config.name}': {what} is not a manifest object")
        media_type = str(body.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0])
        return media_type, body, response.content

    def _paged(
        self, path: str, *, key: str, scope: str, limit: int | None, missing_ok: bool = False
    ) -> list[str]:
        """Collect ``key`` across pages (``n``/``last`` via ``Link: <…>; rel="next"``) up to ``limit``."""
        items: list[str] = []
        url: str | None = path
        params: dict[str, str | int] | None = {"n": _page(self.config.page_size, limit)}
        seen: set[str] = set()
        while url is not None and (limit is None or len(items) < limit):
            what = f"GET {path}"
            response = self.client.request(
                "GET", url, scope=scope, what=what, params=params, allow={404} if missing_ok else ()
            )
            if response.status_code == 404:
                return []
            body = response.json()
            items.extend(str(item) for item in (body.get(key) or []))
            url = _next_link(response, str(response.url))
            if url is not None and url in seen:
                break  # a registry that links a page to itself must not loop us forever
            if url is not None:
                seen.add(url)
            params = None  # the next link carries n and last
        return items if limit is None else items[:limit]


def _pull(repository: str) -> str:
    """The token scope for reading a repository."""
    return f"repository:{repository}:pull"


def _page(page_size: int, limit: int | None) -> int:
    """The ``n`` of the first page."""
    return page_size if limit is None else max(1, min(page_size, limit))


def _next_link(response: httpx.Response, base: str) -> str | None:
    """The absolute URL of ``Link: <…>; rel="next"``, or None on the last page."""
    match = _LINK_NEXT.search(response.headers.get("Link", ""))
    return urljoin(base, match[1]) if match else None


def _check(pattern: re.Pattern[str], value: str, field: str) -> None:
    """Refuse names that are not valid distribution references before they reach a URL."""
    if not pattern.fullmatch(value):
        raise ValidationFailed(
            f"invalid {field}: {value[:200]!r}", errors=[{"field": field, "message": "invalid"}]
        )


def _check_reference(reference: str) -> None:
    """A reference is a tag or a digest."""
    if not (TAG_RE.fullmatch(reference) or DIGEST_RE.fullmatch(reference)):
        _check(TAG_RE, reference, "reference")


def _pick_platform(children: list[dict[str, Any]]) -> str:
    """The digest of the linux/amd64 image of an index, else its first image."""
    for child in children:
        platform = child.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return str(child["digest"])
    return str(children[0]["digest"])


def _parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (nanoseconds trimmed to microseconds); None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _skipped(*names: str) -> list[Check]:
    """Checks not run because an earlier one failed."""
    return [Check(name, False, "not checked: an earlier check failed") for name in names]


def _auth_detail(config: RegistryConfig, first: httpx.Response) -> str:
    """How the registry let us in."""
    if first.status_code == 200:
        return "anonymous access"
    scheme = first.headers.get("WWW-Authenticate", "").split(" ", 1)[0] or "unknown"
    return f"{scheme} auth accepted for user '{config.username}'"
