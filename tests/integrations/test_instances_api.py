"""The integration instances API: admin-only CRUD with write-only secrets, one default per kind and scope,
"test connection" through the adapter registry (against a real loopback HTTP server), the health job, and
a planted secret that never shows up in responses, audit rows, logs or error messages."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.servers import LOOPBACK, free_port
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope
from timbel.core.errors import IntegrationAuthError
from timbel.core.jobs import JobContext
from timbel.integrations import registry_of_adapters as adapters
from timbel.integrations import service
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.http import RetryPolicy, as_integration_error, make_client
from timbel.integrations.models import Integration

PLANTED = "planted-integration-secret-7f3a91"
REPLACED = "replacement-secret-c41d0e"
API = "/api/v1/integrations"
GOOD_TOKEN = "the-token-the-server-accepts"


class StatusHandler(BaseHTTPRequestHandler):
    """``GET /status`` → 200 with a version for the right bearer token, else 401."""

    def do_GET(self) -> None:
        ok = self.headers.get("Authorization") == f"Bearer {GOOD_TOKEN}"
        body = json.dumps({"version": "9.1.0"} if ok else {"error": "unauthorized"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def status_server() -> Iterator[str]:
    """A real HTTP server on a free loopback port; its base URL."""
    server = ThreadingHTTPServer((LOOPBACK, free_port()), StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class LoopbackConfig(BaseModel):
    """The loopback adapter's config model: its ``SecretStr`` field is the instance's only secret."""

    model_config = ConfigDict(extra="forbid")

    name: str
    base_url: str
    folder: str = "/"
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    token: SecretStr | None = None


class LoopbackAdapter:
    """A minimal adapter over the real client: reachability, version, authentication."""

    def __init__(self, config: adapters.InstanceConfig) -> None:
        self.config = config

    def test_connection(self) -> ConnectionReport:
        token = self.config.secrets.get("token", "")
        with make_client(
            base_url=self.config.base_url, headers={"Authorization": f"Bearer {token}"},
            retry=RetryPolicy(attempts=1),
        ) as client:  # fmt: skip
            try:
                response = client.get("/status")
            except httpx.HTTPError as exc:
                raise as_integration_error(self.config.name, exc) from exc
        if response.status_code == 401:
            # A careless adapter that echoes the token: the service must scrub it.
            return ConnectionReport(
                checks=[Check("reachable", True), Check("authentication", False, f"token {token} refused")]
            )
        return ConnectionReport(
            checks=[Check("reachable", True), Check("authentication", True)],
            version=response.json()["version"],
        )


class LeakyFailingAdapter:
    """An adapter whose error message (wrongly) contains the password."""

    def __init__(self, config: adapters.InstanceConfig) -> None:
        self.config = config

    def test_connection(self) -> ConnectionReport:
        raise IntegrationAuthError(
            f"{self.config.name}: login with {self.config.secrets['password']} refused"
        )


class CrashingAdapter:
    """An adapter with a bug: it raises something that is not an IntegrationError."""

    def __init__(self, config: adapters.InstanceConfig) -> None:
        self.config = config

    def test_connection(self) -> ConnectionReport:
        raise RuntimeError(f"bug while using {self.config.secrets.get('token')}")


@pytest.fixture
def registered(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jenkins → the loopback adapter (secret ``token``), Nexus → a leaky one; GitHub has no adapter.

    After the app (which registers the shipped adapters), so these replacements win.
    """
    table = adapters._ADAPTERS
    monkeypatch.setitem(table, IntegrationKind.jenkins, table.get(IntegrationKind.jenkins))  # restored after
    adapters.register_adapter(IntegrationKind.jenkins, LoopbackAdapter, config=LoopbackConfig)
    monkeypatch.setitem(table, IntegrationKind.nexus, adapters.AdapterSpec(LeakyFailingAdapter, None))
    monkeypatch.setitem(table, IntegrationKind.argocd, adapters.AdapterSpec(CrashingAdapter))
    monkeypatch.delitem(table, IntegrationKind.github, raising=False)


@pytest.fixture
def admin(client: TestClient, make_user: MakeUser) -> dict[str, str]:
    """Bearer headers of an administrator."""
    return login(client, make_user(roles=("admin",)))


def _create(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"kind": "jenkins", "name": "jenkins-prod", "base_url": "https://ci.example.com"} | body
    response = client.post(API, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _row(app: FastAPI, integration_id: str) -> Integration:
    with session_scope(app.state.session_factory) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        session.expunge(row)
        return row


def _secrets(app: FastAPI, integration_id: str) -> dict[str, str]:
    return service.read_secrets(_row(app, integration_id), settings=app.state.settings)


@pytest.mark.usefixtures("registered")
class TestInstances:
    def test_crud_with_write_only_secrets(
        self, client: TestClient, app: FastAPI, admin: dict[str, str]
    ) -> None:
        created = _create(client, admin, options={"folder": "ops"}, secrets={"token": PLANTED})
        assert created["secret_fields"] == ["token"] and created["health"] == "unknown"
        assert "secrets" not in created and PLANTED not in json.dumps(created)
        path = f"{API}/{created['id']}"
        assert client.get(path, headers=admin).json()["secret_fields"] == ["token"]
        assert [i["name"] for i in client.get(API, headers=admin, params={"kind": "jenkins"}).json()] == [
            "jenkins-prod"
        ]
        kept = client.patch(path, json={"base_url": "https://ci2.example.com"}, headers=admin)
        assert kept.status_code == 200 and kept.json()["base_url"] == "https://ci2.example.com"
        assert _secrets(app, created["id"]) == {"token": PLANTED}
        replaced = client.patch(path, json={"secrets": {"token": REPLACED}}, headers=admin)
        assert replaced.status_code == 200 and _secrets(app, created["id"]) == {"token": REPLACED}
        cleared = client.patch(path, json={"secrets": {"token": None}}, headers=admin)
        assert cleared.json()["secret_fields"] == [] and _row(app, created["id"]).secrets is None
        assert client.delete(path, headers=admin).status_code == 204
        assert client.get(path, headers=admin).status_code == 404

    def test_secrets_are_encrypted_and_bound_to_their_row(
        self, client: TestClient, app: FastAPI, admin: dict[str, str]
    ) -> None:
        created = _create(client, admin, secrets={"token": PLANTED})
        stored = _row(app, created["id"]).secrets
        assert stored is not None and stored.startswith("v1:") and PLANTED not in stored

    def test_refusals(self, client: TestClient, admin: dict[str, str]) -> None:
        _create(client, admin)
        duplicate = client.post(API, json={"kind": "nexus", "name": "jenkins-prod", "base_url": "https://n.example.com"},
                                headers=admin)  # fmt: skip
        assert duplicate.status_code == 409
        for body in (
            {"base_url": "https://user:pw@ci.example.com"},
            {"base_url": "ftp://ci.example.com"},
            {"options": {"api_token": "x"}},
            {"secrets": {"password": "x"}},  # Jenkins' adapter takes ``token`` only
            {"domain_id": "00000000-0000-4000-8000-000000000000"},
            {"options": {"timeout_seconds": -1}},  # the adapter's config model refuses it
            {"options": {"colour": "blue"}},
            {"kind": "bamboo"},
        ):
            payload = {"kind": "jenkins", "name": "other", "base_url": "https://ci.example.com"} | body
            response = client.post(API, json=payload, headers=admin)
            assert response.status_code == 422, (body, response.text)

    def test_one_default_per_kind_and_scope(
        self, client: TestClient, admin: dict[str, str], make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        domain = make_domain("KB")
        first = _create(client, admin, name="j1", is_default=True)
        second = _create(client, admin, name="j2", is_default=True)
        scoped = _create(client, admin, name="j3", domain_id=domain, is_default=True)
        nexus = _create(client, admin, kind="nexus", name="n1", is_default=True)
        defaults = {i["name"] for i in client.get(API, headers=admin).json() if i["is_default"]}
        assert defaults == {"j2", "j3", "n1"}
        assert first["id"] != second["id"] and nexus["is_default"]
        with session_scope(app.state.session_factory) as session:
            kind = IntegrationKind.jenkins
            assert service.default_for(session, kind=kind, domain_id=domain).id == scoped["id"]  # type: ignore[union-attr]
            assert service.default_for(session, kind=kind, domain_id=None).id == second["id"]  # type: ignore[union-attr]
            assert service.default_for(session, kind=IntegrationKind.argocd) is None
        moved = client.patch(f"{API}/{scoped['id']}", json={"domain_id": None}, headers=admin).json()
        assert moved["domain_id"] is None and moved["is_default"]
        assert client.get(f"{API}/{second['id']}", headers=admin).json()["is_default"] is False

    def test_the_adapter_config_model_names_the_refused_field(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        created = _create(client, admin)
        response = client.patch(
            f"{API}/{created['id']}", json={"options": {"timeout_seconds": 0}}, headers=admin
        )
        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "options", "timeout_seconds"]]
        assert client.get(f"{API}/{created['id']}", headers=admin).json()["options"] == {}

    def test_kinds_say_which_have_an_adapter(self, client: TestClient, admin: dict[str, str]) -> None:
        kinds = {k["kind"]: k for k in client.get(f"{API}/kinds", headers=admin).json()}
        assert set(kinds) == {k.value for k in IntegrationKind}
        assert kinds["jenkins"]["has_adapter"] is True and kinds["jenkins"]["secret_fields"] == ["token"]
        assert set(kinds["jenkins"]["config_schema"]["properties"]) >= {"folder", "timeout_seconds", "token"}
        assert kinds["github"]["has_adapter"] is False

    def test_non_admins_are_refused(self, client: TestClient, make_user: MakeUser) -> None:
        for role in ("operations", "executive", "viewer"):
            headers = login(client, make_user(roles=(role,)))
            assert client.get(API, headers=headers).status_code == 403
            assert client.post(API, json={}, headers=headers).status_code == 403


@pytest.mark.usefixtures("registered")
class TestConnection:
    def test_a_working_instance_reports_every_check_and_its_version(
        self, client: TestClient, app: FastAPI, admin: dict[str, str], status_server: str
    ) -> None:
        created = _create(client, admin, base_url=status_server, secrets={"token": GOOD_TOKEN})
        report = client.post(f"{API}/{created['id']}/test", headers=admin).json()
        assert report == {
            "ok": True, "version": "9.1.0",
            "checks": [{"name": "reachable", "ok": True, "detail": ""},
                       {"name": "authentication", "ok": True, "detail": ""}],
        }  # fmt: skip
        row = _row(app, created["id"])
        assert row.health == "ok" and row.last_error == "" and row.last_checked_at is not None

    def test_an_unreachable_instance_fails_with_a_reason_naming_it(
        self, client: TestClient, app: FastAPI, admin: dict[str, str]
    ) -> None:
        created = _create(client, admin, base_url=f"http://{LOOPBACK}:{free_port()}")
        response = client.post(f"{API}/{created['id']}/test", headers=admin)
        assert response.status_code == 200
        assert response.json()["ok"] is False
        assert response.json()["checks"] == [
            {"name": "connection", "ok": False, "detail": "jenkins-prod: cannot connect (ConnectError)"}
        ]
        assert _row(app, created["id"]).health == "failing"

    def test_a_crashing_adapter_is_a_failed_check_not_a_500(
        self, client: TestClient, app: FastAPI, admin: dict[str, str], caplog: pytest.LogCaptureFixture
    ) -> None:
        created = _create(client, admin, kind="argocd", name="argo", secrets={"token": PLANTED})
        response = client.post(f"{API}/{created['id']}/test", headers=admin)
        assert response.status_code == 200
        assert response.json()["checks"] == [
            {"name": "connection", "ok": False, "detail": "argo: unexpected failure (RuntimeError)"}
        ]
        assert PLANTED not in caplog.text and "argo" in caplog.text

    def test_a_kind_without_an_adapter_answers_501(self, client: TestClient, admin: dict[str, str]) -> None:
        created = _create(client, admin, kind="github", name="gh")
        response = client.post(f"{API}/{created['id']}/test", headers=admin)
        assert response.status_code == 501
        assert response.json()["detail"] == "no adapter for kind github yet"

    def test_undecryptable_secrets_are_a_failed_check(
        self, client: TestClient, app: FastAPI, admin: dict[str, str]
    ) -> None:
        created = _create(client, admin, secrets={"token": PLANTED})
        with session_scope(app.state.session_factory) as session:
            row = session.get(Integration, created["id"])
            assert row is not None
            row.secrets = row.secrets[:-6] + "AAAAAA"  # type: ignore[index]
        report = client.post(f"{API}/{created['id']}/test", headers=admin).json()
        assert report["ok"] is False and report["checks"][0]["name"] == "secrets"
        assert "rotate-key" in report["checks"][0]["detail"]

    def test_the_health_job_records_status_per_instance(
        self, client: TestClient, app: FastAPI, admin: dict[str, str], status_server: str
    ) -> None:
        good = _create(client, admin, name="good", base_url=status_server, secrets={"token": GOOD_TOKEN})
        bad = _create(client, admin, name="bad", base_url=status_server, secrets={"token": "wrong-token"})
        skipped = _create(client, admin, kind="github", name="gh")
        from timbel.integrations.jobs import check_health  # declares the job only when this test runs

        ctx = JobContext(app.state.settings, app.state.session_factory, "job-1", lambda *a, **k: "")
        assert check_health(ctx) == {"checked": 2, "skipped": 1, "ok": 1, "failing": 1}
        assert _row(app, good["id"]).health == "ok"
        failing = _row(app, bad["id"])
        assert failing.health == "failing" and failing.last_error == "authentication: token *** refused"
        assert _row(app, skipped["id"]).health == "unknown"
        assert check_health(ctx, integration_id=good["id"])["checked"] == 1


@pytest.mark.usefixtures("registered")
def test_a_planted_secret_never_leaves_the_server(
    client: TestClient,
    app: FastAPI,
    admin: dict[str, str],
    status_server: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        response: httpx.Response = client.request(method, path, headers=admin, **kwargs)
        seen.append(response.text)
        return response

    created = call("POST", API, json={"kind": "jenkins", "name": "j", "base_url": status_server,
                                      "secrets": {"token": PLANTED}}).json()  # fmt: skip
    path = f"{API}/{created['id']}"
    call("GET", API)
    call("GET", path)
    call("PATCH", path, json={"options": {"folder": "x"}})
    call("POST", f"{path}/test")  # the server refuses the token; the adapter echoes it
    call("PATCH", path, json={"secrets": {"token": PLANTED, "password": PLANTED}})  # refused field
    call("PATCH", path, json={"secrets": {"Bad Name": PLANTED}})
    call("PATCH", path, json={"options": {"password": PLANTED}})
    call(
        "POST",
        API,
        json={"kind": "jenkins", "name": "j", "base_url": status_server, "secrets": {"token": PLANTED}},
    )
    call("POST", API, json={"kind": "jenkins", "name": "k", "base_url": f"https://{PLANTED}@ci.example.com"})
    leaky = call("POST", API, json={"kind": "nexus", "name": "n", "base_url": status_server,
                                    "secrets": {"password": PLANTED}}).json()  # fmt: skip
    call("POST", f"{API}/{leaky['id']}/test")
    call("DELETE", path)
    bad_option = {"timeout_seconds": PLANTED}  # the config model refuses it
    refused = call("POST", API, json={"kind": "jenkins", "name": "t", "base_url": status_server,
                                      "options": bad_option, "secrets": {"token": PLANTED}})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == [
        "body",
        "options",
        "timeout_seconds",
    ]
    assert len(seen) == 14 and all(PLANTED not in text for text in seen)
    assert "***" in seen[4] and "***" in seen[11]
    with session_scope(app.state.session_factory) as session:
        entries = list(session.scalars(select(AuditEntry)))
        assert len(entries) >= 5
        for entry in entries:
            assert PLANTED not in f"{entry.summary} {json.dumps(entry.changes)}"
        for row in session.scalars(select(Integration)):
            assert PLANTED not in f"{row.secrets} {row.last_error} {row.options}"
    assert PLANTED not in caplog.text


def test_a_missing_secret_is_named_under_secrets(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        API, json={"kind": "github", "name": "gh", "base_url": "https://api.github.com"}, headers=admin
    )
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "secrets", "token"]]
