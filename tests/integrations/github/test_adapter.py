"""The GitHub adapter against the fake GitHub API: exact requests, paging, hooks, errors, rate limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from tests.fakes.server import as_json, header
from tests.integrations.github.conftest import NOW, TOKEN, GitHub
from timbel.core.errors import (
    IntegrationAuthError,
    IntegrationError,
    IntegrationUnavailable,
    ValidationFailed,
)
from timbel.integrations.base import CommitInfo, HookInfo, IntegrationKind, RepositoryInfo, SourceHost
from timbel.integrations.github.adapter import GitHubAdapter, from_instance
from timbel.integrations.github.client import GitHubNotFound, GitHubRateLimited
from timbel.integrations.github.config import GitHubConfig
from timbel.integrations.registry_of_adapters import InstanceConfig

MakeAdapter = Callable[..., GitHubAdapter]


def test_every_request_carries_the_documented_headers(github: GitHub, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    host: SourceHost = adapter  # mypy checks the Protocol
    assert host is adapter
    adapter.languages("acme/shop")
    (request,) = github.running.recorder.requests
    assert header(request, "authorization") == f"Bearer {TOKEN}"
    assert header(request, "accept") == "application/vnd.github+json"
    assert header(request, "x-github-api-version") == "2022-11-28"


def test_repository_metadata(github: GitHub, make_adapter: MakeAdapter) -> None:
    info = make_adapter().repository("acme/shop")
    base = github.running.base_url
    assert info == RepositoryInfo(
        full_name="acme/shop", default_branch="main", clone_url=f"{base}/acme/shop.git",
        html_url=f"{base}/acme/shop", language="Python", private=False, size_kb=1024,
        topics=("shop", "fastapi"),
    )  # fmt: skip
    assert make_adapter().repository("acme/vault").private is True
    assert github.calls() == ["GET /repos/acme/shop", "GET /repos/acme/vault"]


def test_branches_follow_link_pages(github: GitHub, make_adapter: MakeAdapter) -> None:
    github.state.repos["acme/shop"].branches = [f"b{i:03d}" for i in range(250)]
    names = make_adapter().branches("acme/shop")
    assert names == [f"b{i:03d}" for i in range(250)]
    queries = [r.query for r in github.running.recorder.requests]
    assert github.calls() == ["GET /repos/acme/shop/branches"] * 3
    assert queries == ["per_page=100", "per_page=100&page=2", "per_page=100&page=3"]
    github.running.recorder.clear()
    assert make_adapter().branches("acme/shop", limit=120) == [f"b{i:03d}" for i in range(120)]
    assert len(github.calls()) == 2  # stops once the limit is reached


def test_commits_of_a_ref_newest_first(github: GitHub, make_adapter: MakeAdapter) -> None:
    commits = make_adapter().commits("acme/shop", ref="develop", limit=2)
    assert commits == [
        CommitInfo("c" * 40, "Add cart\n\nDetails", "Kim", datetime(2026, 11, 3, 9, tzinfo=UTC)),
        CommitInfo("b" * 40, "Add catalog", "Lee", datetime(2026, 11, 2, 9, tzinfo=UTC)),
    ]
    (request,) = github.running.recorder.requests
    assert (request.path, request.query) == ("/repos/acme/shop/commits", "per_page=2&sha=develop")
    assert len(make_adapter().commits("acme/shop")) == 3
    assert github.running.recorder.requests[-1].query == "per_page=30"
    with pytest.raises(GitHubNotFound, match="github-main"):
        make_adapter().commits("acme/shop", ref="nope")


def test_languages(make_adapter: MakeAdapter) -> None:
    assert make_adapter().languages("acme/shop") == {"Python": 52_000, "Dockerfile": 300}


def test_hooks_create_list_delete_with_the_exact_body(github: GitHub, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    hook = adapter.create_hook(
        "acme/shop", url="https://timbel.example.com/webhooks/github/x1", secret="hook-secret"
    )
    assert hook == HookInfo(1, "https://timbel.example.com/webhooks/github/x1", ("push",), True)
    created = github.running.recorder.requests[0]
    assert (created.method, created.path) == ("POST", "/repos/acme/shop/hooks")
    assert as_json(created) == {
        "name": "web",
        "active": True,
        "events": ["push"],
        "config": {
            "url": "https://timbel.example.com/webhooks/github/x1",
            "content_type": "json",
            "secret": "hook-secret",
            "insecure_ssl": "0",
        },
    }
    second = adapter.create_hook("acme/shop", url="https://t.example/h", secret="s", events=["push", "ping"])
    assert second.events == ("push", "ping")
    assert adapter.hooks("acme/shop") == [hook, second]
    adapter.delete_hook("acme/shop", hook.id)
    assert adapter.hooks("acme/shop") == [second]
    with pytest.raises(GitHubNotFound):
        adapter.delete_hook("acme/shop", hook.id)
    assert github.calls() == [
        "POST /repos/acme/shop/hooks",
        "POST /repos/acme/shop/hooks",
        "GET /repos/acme/shop/hooks",
        "DELETE /repos/acme/shop/hooks/1",
        "GET /repos/acme/shop/hooks",
        "DELETE /repos/acme/shop/hooks/1",
    ]


def test_bad_input_is_refused_before_any_request(github: GitHub, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    for repo in ("acme", "acme/shop/x", "../etc", "acme/..", "-x/y", "a b/c"):
        with pytest.raises(ValidationFailed):
            adapter.repository(repo)
    with pytest.raises(ValidationFailed):
        adapter.create_hook("acme/shop", url="ftp://x/y", secret="s")
    with pytest.raises(ValidationFailed):
        adapter.create_hook("acme/shop", url="https://x/y", secret="")
    assert github.calls() == []


def test_not_found_and_bad_token_name_the_instance_never_the_token(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    with pytest.raises(GitHubNotFound, match=r"github-main.*GET /repos/acme/missing") as missing:
        make_adapter().repository("acme/missing")
    assert missing.value.status == 404
    wrong = "ghp_wrong-token-0000"
    with pytest.raises(IntegrationAuthError, match=r"github-main.*HTTP 401.*Bad credentials") as refused:
        make_adapter(token=wrong).repository("acme/shop")
    for error in (missing.value, refused.value):
        assert TOKEN not in str(error) and wrong not in str(error) and wrong not in repr(error)


def test_test_connection_reports_version_login_scopes_and_rate_limit(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    report = make_adapter().test_connection()
    assert report.ok, report.checks
    assert report.version == "REST API 2022-11-28"
    details = {check.name: check.detail for check in report.checks}
    assert list(details) == ["reachable", "authentication", "scopes", "rate limit"]
    assert details["authentication"] == "authenticated as timbel-bot"
    assert details["scopes"] == "token scopes: repo, admin:repo_hook"
    assert details["rate limit"] == "4997 of 5000 requests left until 2030-03-17T17:47:10Z"
    assert github.calls() == ["GET /meta", "GET /user"]


def test_test_connection_on_enterprise_and_fine_grained_tokens(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    github.state.enterprise_version = "3.14.2"
    github.state.scopes = None
    report = make_adapter().test_connection()
    assert report.ok and report.version == "GitHub Enterprise Server 3.14.2 (REST API 2022-11-28)"
    scopes = next(c for c in report.checks if c.name == "scopes")
    assert scopes.detail.startswith("fine-grained token")


def test_test_connection_failures_are_checks_not_exceptions(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    github.state.scopes = "read:user"
    report = make_adapter().test_connection()
    assert not report.ok
    assert [(c.name, c.ok) for c in report.checks][-2:] == [("scopes", False), ("rate limit", True)]
    bad = make_adapter(token="ghp_nope").test_connection()
    assert [(c.name, c.ok) for c in bad.checks] == [("reachable", True), ("authentication", False)]
    assert "HTTP 401" in bad.checks[1].detail and "ghp_nope" not in bad.checks[1].detail
    github.state.exhaust(times=None, reset=int(NOW) + 3600)
    limited = make_adapter(max_wait_seconds=0).test_connection()
    assert [(c.name, c.ok) for c in limited.checks] == [("reachable", True), ("rate limit", False)]
    assert "rate limit exhausted until" in limited.checks[1].detail
    github.state.exhaust(times=0)
    closed = make_adapter(base_url="http://127.0.0.1:9").test_connection()
    assert [(c.name, c.ok) for c in closed.checks] == [("reachable", False)]
    assert "github-main" in closed.checks[0].detail


def test_exhausted_rate_limit_waits_until_reset_then_retries_once(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    github.state.exhaust(times=1, reset=int(NOW) + 42)
    assert make_adapter().languages("acme/shop") == {"Python": 52_000, "Dockerfile": 300}
    assert github.clock.slept == [42.0]
    assert github.calls() == ["GET /repos/acme/shop/languages"] * 2


def test_a_rate_limited_post_is_sent_again_after_the_wait(github: GitHub, make_adapter: MakeAdapter) -> None:
    github.state.exhaust(times=1, reset=int(NOW) + 5)
    hook = make_adapter().create_hook("acme/shop", url="https://t.example/h", secret="s")
    assert hook.id == 1 and github.clock.slept == [5.0]
    assert github.calls() == ["POST /repos/acme/shop/hooks"] * 2
    assert len(github.state.repos["acme/shop"].hooks) == 1


def test_a_reset_beyond_max_wait_is_unavailable_naming_the_reset_time(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    github.state.exhaust(times=None, reset=int(NOW) + 3600)
    with pytest.raises(GitHubRateLimited) as info:
        make_adapter(max_wait_seconds=60).repository("acme/shop")
    assert isinstance(info.value, IntegrationUnavailable) and info.value.status == 503
    message = str(info.value)
    reset = datetime.fromtimestamp(NOW + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "github-main" in message and f"rate limit exhausted until {reset}" in message
    assert "max_wait_seconds is 60" in message and TOKEN not in message
    assert info.value.headers == {"Retry-After": "3600"}
    assert github.clock.slept == [] and github.calls() == ["GET /repos/acme/shop"]


def test_a_limit_still_exhausted_after_waiting_is_unavailable(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    github.state.exhaust(times=None, reset=int(NOW) + 10)
    with pytest.raises(IntegrationUnavailable, match="still refused after waiting once"):
        make_adapter().languages("acme/shop")
    assert github.clock.slept == [10.0]
    assert len(github.calls()) == 2


def test_secondary_limits_honour_retry_after(github: GitHub, make_adapter: MakeAdapter) -> None:
    github.state.secondary(times=1, retry_after=7)
    assert make_adapter().branches("acme/shop") == ["main", "develop", "feature/cart"]
    assert github.clock.slept == [7.0]
    github.state.secondary(times=1, retry_after=600)
    with pytest.raises(IntegrationUnavailable, match=r"secondary rate limit \(Retry-After 600 s\)"):
        make_adapter(max_wait_seconds=60).branches("acme/shop")


def test_a_forbidden_answer_without_rate_limit_headers_is_an_auth_error(
    github: GitHub, make_adapter: MakeAdapter
) -> None:
    github.state.repos["acme/shop"].hooks_forbidden = True
    with pytest.raises(IntegrationAuthError, match=r"denied GET /repos/acme/shop/hooks .*not accessible"):
        make_adapter().hooks("acme/shop")
    assert github.clock.slept == [] and github.calls() == ["GET /repos/acme/shop/hooks"]


def test_next_page_links_to_another_host_are_not_followed(make_adapter: MakeAdapter) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = '<https://evil.example.com/repos/acme/shop/branches?page=2>; rel="next"'
        return httpx.Response(200, json=[{"name": "main"}], headers={"Link": link})

    config = GitHubConfig(name="github-main", token=TOKEN)
    adapter = GitHubAdapter(config, transport=httpx.MockTransport(handler))
    with pytest.raises(IntegrationError, match=r"next-page link .* to another host"):
        adapter.branches("acme/shop")


def test_config_derives_the_clone_host_and_hides_secrets() -> None:
    def host(**data: str) -> str:
        return GitHubConfig.model_validate({"name": "g", "token": TOKEN} | data).clone_host()

    assert host() == "github.com"
    assert host(base_url="https://ghe.example.com/api/v3") == "ghe.example.com"
    assert host(base_url="https://ghe.example.com:8443/api/v3") == "ghe.example.com:8443"
    assert host(base_url="https://ghe.example.com/api/v3", web_host="Git.Example.com") == "git.example.com"
    config = GitHubConfig.model_validate({"name": "g", "token": TOKEN, "webhook_secret": "whs"})
    assert TOKEN not in repr(config) and "whs" not in repr(config)
    for bad in (
        {"base_url": "ftp://x"},
        {"base_url": f"https://u:{TOKEN}@h/api"},
        {"web_host": "https://x/y"},
    ):
        with pytest.raises(ValueError):
            GitHubConfig.model_validate({"name": "g", "token": TOKEN} | bad)
    with pytest.raises(ValueError):
        GitHubConfig.model_validate({"name": "g", "token": TOKEN, "extra": 1})
    schema = json.dumps(GitHubConfig.model_json_schema())
    assert all(f in schema for f in ("base_url", "token", "webhook_secret", "web_host", "max_wait_seconds"))


def test_from_instance_builds_the_adapter_of_a_stored_instance(github: GitHub) -> None:
    instance = InstanceConfig(
        id="gh-1", kind=IntegrationKind.github, name="github-main", base_url=github.running.base_url,
        options={"web_host": "127.0.0.1"}, secrets={"token": TOKEN},
    )  # fmt: skip
    adapter = from_instance(instance)
    try:
        assert adapter.config.clone_host() == "127.0.0.1"
        assert adapter.test_connection().ok
    finally:
        adapter.close()


def test_server_errors_retry_reads_only_and_non_json_is_a_failed_check() -> None:
    seen: list[str] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/meta":
            return httpx.Response(200, text="<html>proxy login</html>")
        return httpx.Response(503, json={"message": "unavailable"})

    config = GitHubConfig(name="github-main", token=TOKEN)
    adapter = GitHubAdapter(config, transport=httpx.MockTransport(handler), sleep=slept.append)
    with pytest.raises(IntegrationUnavailable, match=r"github-main.*HTTP 503"):
        adapter.repository("acme/shop")
    with pytest.raises(IntegrationUnavailable):
        adapter.create_hook("acme/shop", url="https://t.example/h", secret="s")
    assert seen == ["GET /repos/acme/shop"] * 3 + ["POST /repos/acme/shop/hooks"]
    assert slept == [0.2, 0.4]
    report = adapter.test_connection()
    assert [(c.name, c.ok) for c in report.checks] == [("reachable", False)]
    assert "non-JSON" in report.checks[0].detail
