"""Clone credentials from GitHub instances: which instance's token goes to which host, and stored analyses of
private repositories cloning with it (the loopback git server records the Authorization header it got)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.conftest import MakeUser, login
from tests.servers import ServerUnavailableError
from tests.servers.git_http import GitHttpServer, start_git_http
from timbel.core.settings import AnalysisSettings, Settings
from timbel.integrations import registry_of_adapters as adapters
from timbel.integrations.base import IntegrationKind
from timbel.integrations.github.adapter import from_instance
from timbel.integrations.github.config import GitHubConfig
from timbel.integrations.github.credentials import InstanceCredentials, host_matches, pick_instance
from timbel.integrations.models import Integration

TOKEN = "ghp_clone-token-for-private-repos-91c2"
OTHER = "ghp_token-of-another-domain-77aa"
API = "/api/v1/integrations"


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


def _row(name: str, **fields: Any) -> Integration:
    values: dict[str, Any] = {"kind": "github", "base_url": "https://api.github.com", "options": {}}
    values |= {"domain_id": None, "is_default": False} | fields
    return Integration(name=name, **values)


class TestWhichInstance:
    def test_host_matching(self) -> None:
        assert host_matches(web_host="github.com", host="GitHub.com")
        assert host_matches(web_host="127.0.0.1:8080", host="127.0.0.1")  # the clone passes no port
        assert host_matches(web_host="127.0.0.1:8080", host="127.0.0.1:8080")
        assert not host_matches(web_host="127.0.0.1:8080", host="127.0.0.1:9090")
        assert not host_matches(web_host="github.com", host="evil-github.com")
        assert not host_matches(web_host="github.com", host="github.com.evil.example")

    def test_the_web_host_is_explicit_or_derived_from_the_api_url(self) -> None:
        dotcom = _row("dotcom")
        ghe = _row("ghe", base_url="https://ghe.example.com/api/v3")
        mapped = _row("mapped", base_url="https://api.internal/api/v3", options={"web_host": "git.internal"})
        rows = [dotcom, ghe, mapped]
        assert pick_instance(rows, host="github.com") is dotcom
        assert pick_instance(rows, host="ghe.example.com") is ghe
        assert pick_instance(rows, host="git.internal") is mapped
        assert pick_instance(rows, host="api.internal") is None
        assert pick_instance(rows, host="gitlab.com") is None
        assert pick_instance([_row("gl", kind="gitlab")], host="github.com") is None

    def test_domain_scoped_before_global_default_before_others_never_other_domains(self) -> None:
        plain = _row("a-plain")
        default = _row("b-default", is_default=True)
        mine = _row("c-mine", domain_id="d1")
        theirs = _row("0-theirs", domain_id="d2", is_default=True)
        rows = [theirs, plain, default, mine]
        assert pick_instance(rows, host="github.com") is default
        assert pick_instance(rows, host="github.com", domain_id="d1") is mine
        assert pick_instance(rows, host="github.com", domain_id="d3") is default
        assert pick_instance([plain, _row("z")], host="github.com") is plain  # then by name
        assert pick_instance([theirs], host="github.com", domain_id="d1") is None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback allow-listed by the admin, as for an internal git server."""
    return settings.model_copy(update={"analysis": AnalysisSettings(allowed_hosts=("127.0.0.0/8",))})


@pytest.fixture
def github_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GitHub adapter registered for this test only (as ``integrations.builtin`` will do)."""
    monkeypatch.setitem(adapters._ADAPTERS, IntegrationKind.github, None)
    adapters.register_adapter(IntegrationKind.github, from_instance, config=GitHubConfig)


@pytest.fixture
def git_server(tmp_path: Path) -> Iterator[GitHttpServer]:
    """A loopback git smart-HTTP server publishing a small repository as ``private-shop``."""
    try:
        running = start_git_http(tmp_path / "srv")
    except ServerUnavailableError as exc:
        pytest.fail(str(exc))
    try:
        running.add_repo("private-shop", build_fastapi_repo(tmp_path / "src"))
        yield running
    finally:
        running.stop()


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """Bearer headers of an administrator."""
    return login(client, make_user(roles=("admin",)))


def _add_instance(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"kind": "github", "name": "ghe", "base_url": "https://ghe.example.com/api/v3"} | body
    response = client.post(API, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _analyse(client: TestClient, headers: dict[str, str], **target: str) -> dict[str, Any]:
    started = client.post("/api/v1/analyses", json=target, headers=headers)
    assert started.status_code == 202, started.text
    done = client.get(f"/api/v1/analyses/{started.json()['id']}", headers=headers)
    return done.json()  # type: ignore[no-any-return]


@pytest.mark.usefixtures("github_registered")
class TestStoredAnalysisClones:
    def test_the_instance_token_is_sent_to_its_web_host(
        self,
        client: TestClient,
        admin: dict[str, str],
        git_server: GitHttpServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        web_host = f"127.0.0.1:{git_server.port}"
        _add_instance(
            client, admin, options={"web_host": web_host}, secrets={"token": TOKEN}, is_default=True
        )
        done = _analyse(client, admin, url=git_server.url_for("private-shop"))
        assert done["state"] == "succeeded", done["error"]
        sent = {r["authorization"] for r in git_server.requests()}
        assert sent == {_basic(TOKEN)}
        assert TOKEN not in caplog.text and _basic(TOKEN) not in caplog.text
        assert TOKEN not in str(done) and _basic(TOKEN)[6:] not in str(done)

    def test_without_an_instance_for_the_host_the_clone_is_anonymous(
        self, client: TestClient, admin: dict[str, str], git_server: GitHttpServer
    ) -> None:
        _add_instance(client, admin, secrets={"token": TOKEN}, is_default=True)  # ghe.example.com only
        done = _analyse(client, admin, url=git_server.url_for("private-shop"))
        assert done["state"] == "succeeded", done["error"]
        assert git_server.requests() and {r["authorization"] for r in git_server.requests()} == {None}

    def test_a_system_analysis_uses_its_domains_instance(
        self,
        client: TestClient,
        admin: dict[str, str],
        git_server: GitHttpServer,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        web_host = f"127.0.0.1:{git_server.port}"
        mine, theirs = make_domain("shop"), make_domain("bank")
        system_id = make_system(mine, "shop", repo_url=git_server.url_for("private-shop"))
        options = {"web_host": web_host}
        _add_instance(
            client, admin, name="global", options=options, secrets={"token": OTHER}, is_default=True
        )
        _add_instance(client, admin, name="bank", options=options, secrets={"token": OTHER}, domain_id=theirs)
        _add_instance(client, admin, name="shop", options=options, secrets={"token": TOKEN}, domain_id=mine)
        done = _analyse(client, admin, system_id=system_id)
        assert done["state"] == "succeeded", done["error"]
        assert {r["authorization"] for r in git_server.requests()} == {_basic(TOKEN)}

    def test_the_lookup_reads_instances_from_the_database(
        self, app: FastAPI, client: TestClient, admin: dict[str, str], make_domain: Callable[[str], str]
    ) -> None:
        domain = make_domain("shop")
        _add_instance(
            client, admin, name="dotcom", base_url="https://api.github.com", secrets={"token": OTHER}
        )
        _add_instance(client, admin, name="dotcom-shop", base_url="https://api.github.com",
                      secrets={"token": TOKEN}, domain_id=domain)  # fmt: skip
        factory, settings = app.state.session_factory, app.state.settings
        global_lookup = InstanceCredentials(session_factory=factory, settings=settings)
        shop_lookup = InstanceCredentials(session_factory=factory, settings=settings, domain_id=domain)
        assert global_lookup.token_for("github.com") == OTHER
        assert shop_lookup.token_for("github.com") == TOKEN
        assert shop_lookup.token_for("gitlab.com") is None
        assert TOKEN not in repr(shop_lookup)
