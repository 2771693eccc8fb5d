"""Repository URL keys: one spelling for https, ssh and scp-like forms of the same repository."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_SCP = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>(?!//)[^\s]+)$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}


def repo_key(url: str) -> str:
    """``host[:port]/path`` lower-cased, without scheme, user, default port, ``.git`` or trailing slash.

    Git hosts (GitHub, GitLab) treat owner and repository names case-insensitively, so the path is
    lower-cased too. An empty or unreadable URL gives ``""``.
    """
    text = url.strip()
    if not text:
        return ""
    if "://" in text:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        try:
            port = parts.port
        except ValueError:
            return ""
        if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
            host = f"{host}:{port}"
        path = parts.path
    else:
        scp = _SCP.match(text)
        if scp is None:
            return ""
        host, path = scp.group("host").lower(), scp.group("path")
    path = path.strip("/")
    while path.endswith(".git") or path.endswith("/"):
        path = path.removesuffix(".git").rstrip("/")
    if not host or not path:
        return ""
    return f"{host}/{path.lower()}"


def last_segment(key: str) -> str:
    """The repository name of a key (the last path segment)."""
    return key.rsplit("/", 1)[-1]
