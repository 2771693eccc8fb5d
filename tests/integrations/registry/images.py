"""Push test images to a real registry over the HTTP API (no Docker engine here).

Blobs go up as monolithic uploads (POST, then PUT to the upload ``Location`` keeping its ``_state`` query
plus ``digest=``); manifests are Docker schema 2 or OCI, optionally under an OCI index.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from timbel.integrations.registry.adapter import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST


def sha256(data: bytes) -> str:
    """The content digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def upload_blob(url: str, repository: str, data: bytes, *, headers: Mapping[str, str] | None = None) -> str:
    """Upload one blob monolithically; return its digest."""
    digest = sha256(data)
    with httpx.Client(headers=dict(headers or {}), timeout=10) as http:
        started = http.post(f"{url}/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = urljoin(url, started.headers["Location"])
        joiner = "&" if "?" in location else "?"
        finished = http.put(
            f"{location}{joiner}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert finished.status_code == 201, finished.text
    return digest


def put_manifest(
    url: str,
    repository: str,
    reference: str,
    manifest: dict[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
) -> str:
    """PUT a manifest under a tag (or digest); return the digest the registry reports."""
    raw = json.dumps(manifest).encode()
    with httpx.Client(headers=dict(headers or {}), timeout=10) as http:
        answer = http.put(
            f"{url}/v2/{repository}/manifests/{reference}",
            content=raw,
            headers={"Content-Type": manifest["mediaType"]},
        )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Docker-Content-Digest"] == sha256(raw)
    return sha256(raw)


def push_image(
    url: str,
    repository: str,
    tag: str,
    *,
    created: datetime | None = None,
    oci: bool = False,
    headers: Mapping[str, str] | None = None,
) -> str:
    """Push a one-layer image whose config has ``created`` (omitted when None); return the manifest digest."""
    layer = os.urandom(64)
    config: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        "config": {},
    }
    if created is not None:
        config["created"] = created.isoformat().replace("+00:00", "Z")
    config_raw = json.dumps(config).encode()
    config_digest = upload_blob(url, repository, config_raw, headers=headers)
    layer_digest = upload_blob(url, repository, layer, headers=headers)
    config_type = (
        "application/vnd.oci.image.config.v1+json"
        if oci
        else "application/vnd.docker.container.image.v1+json"
    )
    layer_type = (
        "application/vnd.oci.image.layer.v1.tar+gzip"
        if oci
        else "application/vnd.docker.image.rootfs.diff.tar.gzip"
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {"mediaType": config_type, "size": len(config_raw), "digest": config_digest},
        "layers": [{"mediaType": layer_type, "size": len(layer), "digest": layer_digest}],
    }
    return put_manifest(url, repository, tag, manifest, headers=headers)


def push_index(
    url: str,
    repository: str,
    tag: str,
    *,
    children: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> str:
    """Push an OCI index over already pushed OCI manifests (``{digest: "os/arch"}``); return its digest."""
    manifests = []
    with httpx.Client(headers=dict(headers or {}), timeout=10) as http:
        for digest, platform in children.items():
            answer = http.get(f"{url}/v2/{repository}/manifests/{digest}", headers={"Accept": OCI_MANIFEST})
            assert answer.status_code == 200, answer.text
            os_name, _, arch = platform.partition("/")
            manifests.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "size": len(answer.content),
                    "digest": digest,
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
    return put_manifest(
        url,
        repository,
        tag,
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
        headers=headers,
    )
