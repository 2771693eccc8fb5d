"""The GitHub adapter: ``base.SourceHost`` (metadata, webhooks) plus ``test_connection`` and ``whoami``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from timbel.core.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationUnavailable,
    ValidationFailed,
)
from timbel.integrations.base import (
    Check,
    CommitInfo,
    ConnectionReport,
    HookInfo,
    IntegrationKind,
    RepositoryInfo,
)
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from .client import API_VERSION, GitHubClient, GitHubRateLimited, RateLimit, reset_time
from .config import GitHubConfig

PAGE_SIZE = 100
_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$")
HOOK_SCOPES = frozenset({"repo", "admin:repo_hook", "write:repo_hook"})


@dataclass(frozen=True)
class Identity:
    """Who the token authenticates as, its classic scopes (None for fine-grained tokens), the rate limit."""

    login: str
    scopes: tuple[str, ...] | None
    rate: RateLimit
    api_version: str | None = None


class GitHubAdapter:
    """Read repositories and manage webhooks on one GitHub instance (github.com or Enterprise Server)."""

    kind = IntegrationKind.github

    def __init__(
        self,
        config: GitHubConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client = GitHubClient(config, transport=transport, breaker=breaker, sleep=sleep, clock=clock)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def repository(self, repo: str) -> RepositoryInfo:
        """``GET /repos/{owner}/{repo}``: default branch, clone URL, language, size, topics."""
        data = self._object(self.client.get_json(_repo_path(repo)), repo)
        return RepositoryInfo(
            full_name=str(data.get("full_name") or repo),
            default_branch=str(data.get("default_branch") or ""),
            clone_url=str(data.get("clone_url") or ""),
            html_url=_str_or_none(data.get("html_url")),
            language=_str_or_none(data.get("language")),
            private=bool(data.get("private", False)),
            size_kb=int(data.get("size") or 0),
            topics=tuple(str(t) for t in data.get("topics") or ()),
        )

    def branches(self, repo: str, *, limit: int = 1000) -> list[str]:
        """Branch names, following ``Link`` pages (100 a page) up to ``limit``."""
        items = self.client.paged(_repo_path(repo, "branches"), {"per_page": PAGE_SIZE}, limit=limit)
        return [str(item["name"]) for item in items if isinstance(item, dict) and "name" in item]

    def commits(self, repo: str, *, ref: str | None = None, limit: int = 30) -> list[CommitInfo]:
        """Recent commits of ``ref`` (default branch when None), newest first, at most ``limit``."""
        if limit < 1:
            raise ValidationFailed("limit must be at least 1")
        params: dict[str, str | int] = {"per_page": min(limit, PAGE_SIZE)}
        if ref is not None:
            params["sha"] = ref
        items = self.client.paged(_repo_path(repo, "commits"), params, limit=limit)
        return [_commit(item) for item in items if isinstance(item, dict)]

    def languages(self, repo: str) -> dict[str, int]:
        """Bytes of code per language."""
        data = self._object(self.client.get_json(_repo_path(repo, "languages")), repo)
        return {str(k): v for k, v in data.items() if isinstance(v, int)}

    def create_hook(self, repo: str, *, url: str, secret: str, events: Sequence[str] = ("push",)) -> HookInfo:
        """Create a JSON webhook that signs deliveries with ``secret`` (HMAC-SHA256)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed("the webhook URL must be an http:// or https:// URL")
        if not secret:
            raise ValidationFailed("a webhook needs a secret")
        body = {
            "name": "web",
            "active": True,
            "events": list(events),
            "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
        }
        created = self._object(self.client.post_json(_repo_path(repo, "hooks"), body), repo)
        if not isinstance(created.get("id"), int):
            raise IntegrationError(f"GitHub '{self.config.name}' created a hook on {repo} without an id")
        return _hook(created)

    def hooks(self, repo: str) -> list[HookInfo]:
        """The repository's webhooks."""
        items = self.client.paged(_repo_path(repo, "hooks"), {"per_page": PAGE_SIZE}, limit=1000)
        return [_hook(item) for item in items if isinstance(item, dict) and isinstance(item.get("id"), int)]

    def delete_hook(self, repo: str, hook_id: int) -> None:
        """Delete one webhook."""
        self.client.delete(_repo_path(repo, "hooks", str(int(hook_id))))

    def whoami(self) -> Identity:
        """``GET /user``: the token's login, its ``X-OAuth-Scopes`` and the rate limit left."""
        response = self.client.get("/user")
        data = self.client.decode(response, "GET /user")
        login = str(data.get("login") or "") if isinstance(data, dict) else ""
        header = response.headers.get("X-OAuth-Scopes")
        scopes = None if header is None else tuple(s.strip() for s in header.split(",") if s.strip())
        version = response.headers.get("X-GitHub-Api-Version-Selected")
        return Identity(login, scopes, RateLimit.of(response.headers), version)

    def test_connection(self) -> ConnectionReport:
        """Check reachability and version (``/meta``), the token (``/user``), its scopes, the rate limit."""
        checks: list[Check] = []
        try:
            version = self._version()
        except (IntegrationAuthError, GitHubRateLimited) as exc:  # it answered, but refused
            answered = Check("reachable", True, f"{self.config.base_url} answered")
            failed = "rate limit" if isinstance(exc, GitHubRateLimited) else "authentication"
            return ConnectionReport(checks=[answered, Check(failed, False, str(exc))])
        except IntegrationError as exc:
            return ConnectionReport(checks=[Check("reachable", False, str(exc))])
        checks.append(Check("reachable", True, f"{self.config.base_url} answered ({version})"))
        try:
            me = self.whoami()
        except IntegrationAuthError as exc:
            return ConnectionReport(
                checks=[*checks, Check("authentication", False, str(exc))], version=version
            )
        except IntegrationUnavailable as exc:
            return ConnectionReport(checks=[*checks, Check("rate limit", False, str(exc))], version=version)
        except IntegrationError as exc:
            return ConnectionReport(
                checks=[*checks, Check("authentication", False, str(exc))], version=version
            )
        checks.append(Check("authentication", bool(me.login), f"authenticated as {me.login or 'nobody'}"))
        checks.append(_scope_check(me.scopes))
        checks.append(_rate_check(me.rate))
        return ConnectionReport(checks=checks, version=version)

    def _version(self) -> str:
        """``GET /meta``: the Enterprise Server version when there is one, else the REST API version."""
        response = self.client.get("/meta")
        data = self.client.decode(response, "GET /meta")
        installed = data.get("installed_version") if isinstance(data, dict) else None
        enterprise = installed or response.headers.get("X-GitHub-Enterprise-Version")
        api = response.headers.get("X-GitHub-Api-Version-Selected") or API_VERSION
        return f"GitHub Enterprise Server {enterprise} (REST API {api})" if enterprise else f"REST API {api}"

    def _object(self, data: Any, repo: str) -> dict[str, Any]:
        """Check that an answer is a JSON object."""
        if not isinstance(data, dict):
            raise IntegrationError(f"GitHub '{self.config.name}' answered about {repo} without an object")
        return data


def from_instance(c: InstanceConfig) -> GitHubAdapter:
    """Build the adapter of a stored instance, behind that instance's circuit breaker."""
    return GitHubAdapter(GitHubConfig.model_validate(c.config_data()), breaker=breaker_for(c.id, name=c.name))


def _repo_path(repo: str, *rest: str) -> str:
    """``/repos/{owner}/{repo}[/…]`` for a checked ``owner/name``."""
    if not _REPO.match(repo):
        raise ValidationFailed(f"{repo!r} is not an owner/name repository")
    owner, name = repo.split("/")
    return "/".join(["/repos", quote(owner, safe=""), quote(name, safe=""), *rest])


def _commit(item: dict[str, Any]) -> CommitInfo:
    """One entry of ``GET /repos/{owner}/{repo}/commits``."""
    commit = _obj(item.get("commit"))
    author, committer, user = (
        _obj(commit.get("author")),
        _obj(commit.get("committer")),
        _obj(item.get("author")),
    )
    return CommitInfo(
        sha=str(item.get("sha") or ""),
        message=str(commit.get("message") or ""),
        author=str(author.get("name") or user.get("login") or ""),
        committed_at=_time(committer.get("date") or author.get("date")),
    )


def _hook(item: dict[str, Any]) -> HookInfo:
    """One webhook object."""
    config = _obj(item.get("config"))
    return HookInfo(
        id=int(item["id"]),
        url=str(config.get("url") or ""),
        events=tuple(str(e) for e in item.get("events") or ()),
        active=bool(item.get("active", True)),
    )


def _scope_check(scopes: tuple[str, ...] | None) -> Check:
    """Classic tokens need ``repo`` (private clones and hooks); fine-grained tokens report no scopes."""
    if scopes is None:
        return Check(
            "scopes", True, "fine-grained token: no scopes reported; permissions are checked per call"
        )
    shown = ", ".join(scopes) or "none"
    ok = "repo" in scopes or ("public_repo" in scopes and bool(HOOK_SCOPES & set(scopes)))
    detail = f"token scopes: {shown}" + ("" if ok else " (needs repo, or public_repo and admin:repo_hook)")
    return Check("scopes", ok, detail)


def _rate_check(rate: RateLimit) -> Check:
    """Requests left in the current rate-limit window."""
    if rate.remaining is None:
        return Check("rate limit", True, "no rate limit reported")
    detail = f"{rate.remaining} of {rate.limit} requests left until {reset_time(rate.reset)}"
    return Check("rate limit", rate.remaining > 0, detail)


def _time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` allowed), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _str_or_none(value: Any) -> str | None:
    """A string, or None for missing/empty values."""
    return str(value) if value else None
