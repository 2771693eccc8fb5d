"""``test_connection`` against the fake Argo CD: each check, and a precise reason when one fails."""

from __future__ import annotations

from tests.fakes.argocd import FakeArgoCD
from tests.fakes.server import RunningFake, header
from tests.integrations.argocd.conftest import PASSWORD, READONLY_TOKEN, TOKEN, AdapterFactory
from tests.servers import free_port
from timbel.integrations.argocd.adapter import ArgoCDAdapter
from timbel.integrations.argocd.config import ArgoCDConfig


def _config(**settings: object) -> ArgoCDConfig:
    return ArgoCDConfig.model_validate({"name": "argo-test", **settings})


def _names(report: object) -> list[tuple[str, bool]]:
    return [(check.name, check.ok) for check in report.checks]  # type: ignore[attr-defined]


class TestConnection:
    def test_token_passes_every_check(self, adapter: ArgoCDAdapter, server: RunningFake) -> None:
        report = adapter.test_connection()
        assert report.ok and report.version == "v2.11.3+3f344d5"
        assert _names(report) == [
            ("reachable", True), ("version", True), ("authentication", True),
            ("applications", True), ("projects", True),
        ]  # fmt: skip
        assert report.checks[2].detail == "logged in as timbel-bot"
        assert report.checks[4].detail == "1 projects visible"
        assert server.recorder.calls() == [
            "GET /api/version", "GET /api/v1/session/userinfo",
            "GET /api/v1/applications", "GET /api/v1/projects",
        ]  # fmt: skip
        version, *rest = server.recorder.requests
        assert header(version, "authorization") is None  # the version probe is anonymous
        assert all(header(r, "authorization") == f"Bearer {TOKEN}" for r in rest)

    def test_session_logs_in_once(self, make_adapter: AdapterFactory, server: RunningFake) -> None:
        report = make_adapter(session=True).test_connection()
        assert report.ok and report.checks[2].detail == "logged in as timbel"
        assert server.recorder.calls()[:3] == [
            "GET /api/version",
            "POST /api/v1/session",
            "GET /api/v1/session/userinfo",
        ]
        assert server.recorder.calls().count("POST /api/v1/session") == 1

    def test_wrong_password_fails_authentication(self, fake: FakeArgoCD, server: RunningFake) -> None:
        config = _config(base_url=server.base_url, username="timbel", password="nope")
        report = ArgoCDAdapter(config).test_connection()
        assert not report.ok
        assert _names(report) == [("reachable", True), ("version", True), ("authentication", False)]
        assert report.checks[2].detail == "Argo CD 'argo-test' refused the login of user 'timbel' (HTTP 401)"

    def test_invalid_token_is_not_logged_in(self, server: RunningFake) -> None:
        config = _config(base_url=server.base_url, token="forged")
        report = ArgoCDAdapter(config).test_connection()
        assert _names(report)[-1] == ("authentication", False)
        assert "did not accept the credentials" in report.checks[-1].detail

    def test_read_only_account_can_still_list(self, server: RunningFake) -> None:
        config = _config(base_url=server.base_url, token=READONLY_TOKEN)
        assert ArgoCDAdapter(config).test_connection().ok

    def test_unavailable_server_reports_reachability(
        self, fake: FakeArgoCD, make_adapter: AdapterFactory
    ) -> None:
        fake.fail(503)
        report = make_adapter().test_connection()
        assert _names(report) == [("reachable", False)]
        assert report.checks[0].detail == "Argo CD 'argo-test' is unavailable (HTTP 503 on GET /api/version)"

    def test_nothing_listening(self) -> None:
        config = _config(base_url=f"http://127.0.0.1:{free_port()}", token=TOKEN)
        report = ArgoCDAdapter(config, sleep=lambda _: None).test_connection()
        assert _names(report) == [("reachable", False)]
        assert report.checks[0].detail == "Argo CD 'argo-test': cannot connect (ConnectError)"

    def test_no_secret_in_any_detail(self, fake: FakeArgoCD, make_adapter: AdapterFactory) -> None:
        adapter = make_adapter(session=True)
        fake.fail(400, message=f"bad request from password {PASSWORD}", times=1)  # a server echoing a secret
        report = adapter.test_connection()
        assert report.checks[0].detail == (
            "Argo CD 'argo-test' answered HTTP 400 on GET /api/version: bad request from password ***"
        )
        assert all(PASSWORD not in check.detail for check in report.checks)
