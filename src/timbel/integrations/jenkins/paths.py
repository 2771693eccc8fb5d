"""Job paths (``folder/sub/name``) and the Jenkins URLs they map to (``/job/folder/job/sub/job/name``)."""

from __future__ import annotations

from urllib.parse import quote

# Characters Jenkins refuses in item names (Jenkins.checkGoodName), plus '/' which separates folders.
_UNSAFE = frozenset("?*/\\%!@#$^&|<>[]:;")


def split_job(job: str) -> list[str]:
    """Split a job path into its names; raise ValueError naming the path when a name is not acceptable."""
    names = job.strip("/").split("/") if job.strip("/") else []
    if not names:
        raise ValueError("a job path must name at least one item")
    for name in names:
        if not name or name.strip() != name or name in (".", ".."):
            raise ValueError(f"job path {job!r}: empty, padded or relative name {name!r}")
        bad = sorted(set(name) & _UNSAFE) + [c for c in name if ord(c) < 0x20 or ord(c) == 0x7F]
        if bad:
            raise ValueError(f"job path {job!r}: name {name!r} contains {''.join(bad)!r}")
    return names


def job_url(job: str) -> str:
    """``a/b/c`` → ``/job/a/job/b/job/c`` (every name percent-encoded)."""
    return "".join(f"/job/{quote(name, safe='')}" for name in split_job(job))


def folder_url(folder: str | None) -> str:
    """The URL of a folder, or ``""`` for the root (so ``folder_url(f) + "/api/json"`` always works)."""
    return job_url(folder) if folder else ""


def join_job(*parts: str | None) -> str:
    """Join folder and job paths, skipping empty parts: ``join_job("a", "b/c")`` → ``a/b/c``."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def parent_and_name(job: str) -> tuple[str | None, str]:
    """``a/b/c`` → ``("a/b", "c")``; ``c`` → ``(None, "c")``."""
    names = split_job(job)
    return ("/".join(names[:-1]) or None), names[-1]
