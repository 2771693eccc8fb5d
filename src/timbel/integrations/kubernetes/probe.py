"""``test_connection`` for a cluster: reachable, version, health, authenticated, permissions.

Permissions are asked with ``SelfSubjectAccessReview``; a server that does not answer it (an emulator, an
old or locked-down API server) gives "could not check", not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.base import Check, ConnectionReport

from .client import KubeClient, KubernetesForbidden

ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SELF_REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def needed_permissions(namespace: str) -> list[tuple[str, dict[str, str]]]:
    """(label, resourceAttributes) of every permission Timbel checks."""
    return [
        ("list namespaces", {"verb": "list", "resource": "namespaces"}),
        (
            f"patch deployments in {namespace}",
            {"verb": "patch", "group": "apps", "resource": "deployments", "namespace": namespace},
        ),
    ]


def connection_report(client: KubeClient, *, namespace: str, health: Callable[[], str]) -> ConnectionReport:
    """Run the checks in order; stop early when the server is unreachable or refuses the credentials."""
    checks: list[Check] = []
    try:
        data = client.get("/version")
    except IntegrationAuthError as exc:
        return ConnectionReport(checks=[Check("reachable", True), Check("authentication", False, str(exc))])
    except IntegrationError as exc:
        return ConnectionReport(checks=[Check("reachable", False, str(exc))])
    version = str(data.get("gitVersion") or "") if isinstance(data, dict) else ""
    checks.append(Check("reachable", True, client.credentials.server))
    checks.append(Check("version", bool(version), f"Kubernetes {version or 'unknown version'}"))
    try:
        checks.append(Check("health", True, health()))
    except IntegrationError as exc:
        checks.append(Check("health", False, str(exc)))
    auth = _authentication(client)
    checks.append(auth)
    if auth.ok:
        checks += [_permission(client, label, attrs) for label, attrs in needed_permissions(namespace)]
    return ConnectionReport(checks=checks, version=version or None)


def _authentication(client: KubeClient) -> Check:
    """Discovery (``GET /apis``) is open to every authenticated user; 401 means the credentials failed."""
    try:
        client.get("/apis")
    except KubernetesForbidden as exc:
        return Check("authentication", False, f"authenticated, but discovery is forbidden: {exc}")
    except IntegrationAuthError as exc:
        return Check("authentication", False, str(exc))
    except IntegrationError as exc:
        return Check("authentication", False, f"could not check: {exc}")
    user = _username(client)
    return Check("authentication", True, f"credentials accepted{f' as {user}' if user else ''}")


def _username(client: KubeClient) -> str | None:
    """Who the server thinks we are (``SelfSubjectReview``, Kubernetes 1.28+); None when not answered."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        data = client.post(SELF_REVIEWS, body)
    except IntegrationError:
        return None
    name = _dig(data, "status", "userInfo", "username")
    return str(name) if name else None


def _permission(client: KubeClient, label: str, attributes: dict[str, str]) -> Check:
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    name = f"permission: {label}"
    try:
        data = client.post(ACCESS_REVIEWS, body)
    except IntegrationUnavailable as exc:
        return Check(name, False, str(exc))
    except IntegrationError as exc:
        return Check(name, True, f"could not check ({exc})")
    allowed = _dig(data, "status", "allowed")
    if not isinstance(allowed, bool):
        return Check(name, True, "could not check (the server did not answer the access review)")
    if allowed:
        return Check(name, True, "allowed")
    reason = _dig(data, "status", "reason") or _dig(data, "status", "evaluationError") or "denied by RBAC"
    return Check(name, False, f"denied: {reason}")


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
