"""Read what matters from a push payload of GitHub or GitLab."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from timbel.webhooks.models import Source

GITHUB_PUSH = "push"
GITLAB_PUSH = ("Push Hook", "Tag Push Hook")
ZERO_SHA = "0" * 40


class PayloadError(ValueError):
    """The payload is not the JSON object a push sends."""


@dataclass(frozen=True)
class Push:
    """A push: ref, before/after SHAs, repository name and every URL it is known by."""

    ref: str
    before: str
    after: str
    repository: str
    urls: tuple[str, ...]
    commit_count: int
    pusher: str

    @property
    def branch(self) -> str:
        """The branch name, or "" when a tag was pushed."""
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else ""

    @property
    def tag(self) -> str:
        """The tag name, or "" when a branch was pushed."""
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else ""

    @property
    def deleted(self) -> bool:
        """True when the ref was deleted (``after`` is all zeros)."""
        return self.after == ZERO_SHA


def is_push(*, source: str, event: str) -> bool:
    """Tell whether a delivery's event is a push of its source."""
    return event == GITHUB_PUSH if source == Source.github else event in GITLAB_PUSH


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _urls(*values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in (_text(x).strip() for x in values) if v))


def parse_push(*, source: str, payload: bytes) -> Push:
    """Parse a push payload of ``source`` (raise PayloadError when it is not a JSON object)."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"the payload is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("the payload is not a JSON object")
    if source == Source.github:
        repo = _object(data.get("repository"))
        pusher = _object(data.get("pusher"))
        name = _text(repo.get("full_name"))
        urls = _urls(repo.get("clone_url"), repo.get("ssh_url"), repo.get("html_url"), repo.get("git_url"))
        who = _text(pusher.get("name"))
    else:
        repo = _object(data.get("project"))
        old = _object(data.get("repository"))
        name = _text(repo.get("path_with_namespace"))
        urls = _urls(
            repo.get("git_http_url"), repo.get("git_ssh_url"), repo.get("web_url"),
            old.get("git_http_url"), old.get("git_ssh_url"), old.get("homepage"), old.get("url"),
        )  # fmt: skip
        who = _text(data.get("user_username")) or _text(data.get("user_name"))
    commits = data.get("commits")
    count = data.get("total_commits_count")
    return Push(
        ref=_text(data.get("ref")),
        before=_text(data.get("before")),
        after=_text(data.get("after")),
        repository=name,
        urls=urls,
        commit_count=count if isinstance(count, int) else len(commits) if isinstance(commits, list) else 0,
        pusher=who,
    )


def zen(payload: bytes) -> str:
    """The ``zen`` line of a GitHub ping, if any."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return ""
    return _text(data.get("zen")) if isinstance(data, dict) else ""
