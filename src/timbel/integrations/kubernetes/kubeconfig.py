"""Read the credentials of one context out of kubeconfig YAML text, without touching the filesystem.

Why so strict: the kubeconfig is stored encrypted in Timbel's database and used on Timbel's host, so
references to local files (``certificate-authority``, ``client-key``, ``tokenFile``) and credential plugins
(``exec``, ``auth-provider``) would read or run things on the wrong machine; they are refused with a hint to
embed the data (``kubectl config view --raw --flatten --minify``). Error messages name fields and entries,
never a value.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import yaml

FLATTEN_HINT = "embed the data with `kubectl config view --raw --flatten --minify`"
_FILE_FIELDS = {
    "certificate-authority": "certificate-authority-data",
    "client-certificate": "client-certificate-data",
    "client-key": "client-key-data",
    "tokenFile": "token",
}


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message names the field, never its value."""


@dataclass(frozen=True)
class KubeCredentials:
    """Server, TLS material and credentials of one kubeconfig context (PEM text, decoded)."""

    context: str
    server: str
    namespace: str | None = None
    ca_pem: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_cert_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)


def parse_kubeconfig(text: str, *, context: str | None = None) -> KubeCredentials:
    """The credentials of ``context`` (default: ``current-context``) in the kubeconfig ``text``."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise KubeconfigError(f"the kubeconfig is not valid YAML{where}") from None
    if not isinstance(document, dict):
        raise KubeconfigError("the kubeconfig must be a YAML mapping (kind: Config)")
    chosen = context or document.get("current-context")
    if not chosen:
        raise KubeconfigError("the kubeconfig has no current-context; set the context option")
    ctx = _entry(document, "contexts", "context", str(chosen))
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if not cluster_name:
        raise KubeconfigError(f"context {chosen!r} names no cluster")
    cluster = _entry(document, "clusters", "cluster", str(cluster_name))
    user = _entry(document, "users", "user", str(user_name)) if user_name else {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeconfigError(f"cluster {cluster_name!r} has no http(s) server")
    _refuse_unsupported(cluster, f"cluster {cluster_name!r}")
    _refuse_unsupported(user, f"user {user_name!r}")
    namespace = ctx.get("namespace")
    return KubeCredentials(
        context=str(chosen),
        server=server.rstrip("/"),
        namespace=str(namespace) if namespace else None,
        ca_pem=_pem(cluster, "certificate-authority-data", f"cluster {cluster_name!r}"),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=_text(cluster, "tls-server-name"),
        token=_text(user, "token"),
        username=_text(user, "username"),
        password=_text(user, "password"),
        client_cert_pem=_pem(user, "client-certificate-data", f"user {user_name!r}"),
        client_key_pem=_pem(user, "client-key-data", f"user {user_name!r}"),
    )


def _entry(document: dict[str, Any], section: str, key: str, name: str) -> dict[str, Any]:
    """The ``key`` mapping of the entry called ``name`` in the list ``section``."""
    entries = document.get(section) or []
    if not isinstance(entries, list):
        raise KubeconfigError(f"{section} must be a list")
    for entry in entries:
        if isinstance(entry, dict) and str(entry.get("name")) == name:
            body = entry.get(key) or {}
            if not isinstance(body, dict):
                raise KubeconfigError(f"{section} entry {name!r} has no {key} mapping")
            return body
    raise KubeconfigError(f"the kubeconfig has no {key} named {name!r}")


def _refuse_unsupported(body: dict[str, Any], what: str) -> None:
    """File references and credential plugins cannot work on Timbel's host."""
    for name, embedded in _FILE_FIELDS.items():
        if body.get(name):
            raise KubeconfigError(f"{what} refers to a local file ({name}); use {embedded}: {FLATTEN_HINT}")
    for plugin in ("exec", "auth-provider"):
        if body.get(plugin):
            raise KubeconfigError(
                f"{what} uses a credential plugin ({plugin}), which Timbel does not run; "
                "use a service account token or a client certificate"
            )
    if bool(body.get("client-certificate-data")) != bool(body.get("client-key-data")):
        raise KubeconfigError(f"{what} needs both client-certificate-data and client-key-data")


def _text(body: dict[str, Any], key: str) -> str | None:
    """A string field, or None."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise KubeconfigError(f"{key} must be a string")
    return value


def _pem(body: dict[str, Any], key: str, what: str) -> str | None:
    """Decode a base64 ``*-data`` field into PEM text."""
    value = _text(body, key)
    if value is None:
        return None
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"{what}: {key} is not valid base64 PEM") from None
    if "-----BEGIN " not in decoded:
        raise KubeconfigError(f"{what}: {key} does not decode to PEM")
    return decoded
