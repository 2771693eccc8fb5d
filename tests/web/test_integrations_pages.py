"""Integration admin pages: forms generated from each adapter's config schema, write-only secrets
(keep, replace, clear), validation errors next to their fields, "test connection" against a real
Prometheus (and a closed port), the list's health, delete, and administrators only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.servers import free_port
from tests.servers.prometheus import PrometheusServer, start_prometheus
from tests.web.conftest import post_form, sign_in
from timbel.integrations import forms, service
from timbel.integrations import registry_of_adapters as adapters
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind
from timbel.integrations.models import Integration

PAGE = "/admin/integrations"
SECRET = "planted-pages-token-9b2e"
OTHER = "replacement-pages-token-31af"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus on loopback (no scrape jobs needed for a connection test)."""
    server = start_prometheus(tmp_path_factory.mktemp("prometheus-pages"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def spare_kind(app: FastAPI) -> Iterator[IntegrationKind]:
    """A kind with no adapter during the test (one is unregistered meanwhile if every kind has one)."""
    registered = adapters.registered_kinds()
    kind = next((k for k in IntegrationKind if k not in registered), IntegrationKind.notify)
    saved = adapters._ADAPTERS.pop(kind, None)
    try:
        yield kind
    finally:
        adapters._ADAPTERS.pop(kind, None)
        if saved is not None:
            adapters._ADAPTERS[kind] = saved


def _row(app: FastAPI, name: str) -> tuple[Integration, dict[str, str]]:
    """The stored instance and its decrypted secrets."""
    with app.state.session_factory() as session:
        row = session.scalar(select(Integration).where(Integration.name == name))
        assert row is not None, name
        secrets = service.read_secrets(row, settings=app.state.settings)
        session.expunge(row)
        return row, secrets


def _prometheus_form(url: str, **fields: str) -> dict[str, object]:
    base = {
        "kind": "prometheus",
        "name": "prom-main",
        "base_url": url,
        "opt.retries": "0",
        "opt.verify_tls": "on",
        "secret.bearer_token": SECRET,
    }
    return {**base, **fields}


def _add(client: TestClient, form: dict[str, object]) -> str:
    response = post_form(client, f"{PAGE}/new", form, token_from=f"{PAGE}/new?kind={form['kind']}")
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


class TestSchemaForms:
    def test_add_form_is_generated_from_the_config_schema(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        listing = client.get(PAGE)
        assert listing.status_code == 200 and "외부 연동" in listing.text and "연동 추가" in listing.text
        kinds = re.findall(r'<option value="([a-z]+)">', listing.text)
        assert set(kinds) == {k.value for k in adapters.registered_kinds()}
        page = client.get(f"{PAGE}/new?kind=prometheus")
        assert page.status_code == 200
        html = page.text
        assert 'name="opt.retries"' in html and 'type="number"' in html and 'min="0"' in html
        assert 'max="10"' in html and 'step="1"' in html
        assert re.search(r'type="checkbox" id="opt-verify_tls" name="opt.verify_tls" checked', html)
        assert re.search(r'type="password" id="secret-bearer_token" name="secret.bearer_token"', html)
        assert 'name="opt.username"' in html and "제한 시간(초)" in html
        assert "설정됨 (변경하려면 입력)" not in html
        for kind, spec in adapters.registered_kinds().items():  # every shipped adapter's schema renders
            generated = client.get(f"{PAGE}/new?kind={kind.value}")
            assert generated.status_code == 200, kind
            for name in spec.secret_fields or ():
                assert f'name="secret.{name}"' in generated.text, (kind, name)

    def test_labels_and_help_texts_follow_the_language_as_plain_text(
        self, client: TestClient, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        korean = client.get(f"{PAGE}/new?kind=jenkins").text
        assert "위 사용자의 API 토큰 (Basic 인증, CSRF crumb 불필요)" in korean
        assert "TLS 인증서 검증" in korean and "API token of that user" not in korean
        severity = client.get(f"{PAGE}/new?kind=notify").text  # a description with "<" stays text
        assert "(info &lt; warning &lt; failure)" in severity and "최소 심각도" in severity
        assert post_form(client, "/locale", {"locale": "en", "next": PAGE}).status_code == 303
        english = client.get(f"{PAGE}/new?kind=jenkins").text
        assert "API token of that user (Basic auth; no CSRF crumb needed)" in english
        assert "Verify TLS certificates" in english and "위 사용자의 API 토큰" not in english

    def test_widgets_for_enums_lists_long_text_and_secrets(self) -> None:
        class Sample(BaseModel):
            model_config = ConfigDict(extra="forbid")

            name: str = Field(description="n")
            base_url: str = Field(description="u")
            mode: Literal["pull", "push"] = Field(default="pull", description="m")
            namespaces: list[str] = Field(default_factory=list, description="ns")
            values_yaml: str | None = Field(
                default=None, description="y", json_schema_extra={"format": "textarea"}
            )
            ca_cert: str | None = Field(default=None, description="pem")
            kubeconfig: SecretStr | None = Field(default=None, description="k")
            ratio: float = Field(default=0.5, gt=0, le=1, description="r")
            level: Literal[1, 2] = Field(default=1, description="l")

        fields = {f.name: f for f in forms.fields_of(Sample, secret_fields=adapters.secret_fields_of(Sample))}
        assert [f.name for f in forms.fields_of(Sample)][:2] == ["name", "base_url"]
        assert fields["mode"].widget == "select" and fields["mode"].choices == ("pull", "push")
        assert fields["namespaces"].widget == "lines"
        assert fields["values_yaml"].widget == "textarea" and fields["ca_cert"].widget == "textarea"
        assert (
            fields["kubeconfig"].widget == "secret_textarea"
            and fields["kubeconfig"].input == "secret.kubeconfig"
        )
        assert fields["ratio"].exclusive_minimum and fields["ratio"].maximum == 1
        options, errors = forms.options_from(
            {"opt.mode": "push", "opt.namespaces": "a\n\n b \n", "opt.ratio": "0.25", "opt.level": "2"},
            fields.values(),
        )
        assert not errors and options == {"mode": "push", "namespaces": ["a", "b"], "ratio": 0.25, "level": 2}
        assert Sample.model_validate({"name": "n", "base_url": "u", **options}).level == 2
        _, bad = forms.options_from({"opt.mode": "other", "opt.ratio": "x"}, fields.values())
        assert bad.get("opt.mode") and bad.get("opt.ratio")


class TestCreateEditTest:
    def test_create_edit_clear_secret_and_test_connection(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, prometheus: PrometheusServer
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        location = _add(client, _prometheus_form(prometheus.url, is_default="on"))
        row, secrets = _row(app, "prom-main")
        assert location == f"{PAGE}/{row.id}"
        assert secrets == {"bearer_token": SECRET} and row.options == {"retries": 0} and row.is_default
        edit = client.get(location)
        assert "연동을 추가했습니다." in edit.text and "설정됨 (변경하려면 입력)" in edit.text
        assert 'name="clear.bearer_token"' in edit.text and SECRET not in edit.text
        assert 'name="secret.password"' in edit.text and 'name="clear.password"' not in edit.text

        kept = post_form(
            client,
            location,
            _prometheus_form(
                prometheus.url, **{"secret.bearer_token": "", "opt.timeout_seconds": "3", "is_default": "on"}
            ),
            token_from=location,
        )
        assert kept.status_code == 303
        row, secrets = _row(app, "prom-main")
        assert secrets == {"bearer_token": SECRET} and row.options == {"retries": 0, "timeout_seconds": 3.0}
        replaced = post_form(
            client,
            location,
            _prometheus_form(prometheus.url, **{"secret.bearer_token": OTHER, "is_default": "on"}),
            token_from=location,
        )
        assert replaced.status_code == 303 and _row(app, "prom-main")[1] == {"bearer_token": OTHER}
        cleared = post_form(
            client,
            location,
            _prometheus_form(
                prometheus.url, **{"secret.bearer_token": "", "clear.bearer_token": "on", "is_default": "on"}
            ),
            token_from=location,
        )
        assert cleared.status_code == 303
        row, secrets = _row(app, "prom-main")
        assert secrets == {} and row.secret_fields == [] and row.options == {"retries": 0}
        assert "설정됨 (변경하려면 입력)" not in client.get(location).text

        tested = post_form(client, f"{PAGE}/{row.id}/test", {}, token_from=location)
        assert tested.status_code == 200, tested.text
        assert "연결 성공" in tested.text and "✓" in tested.text and "✗" not in tested.text
        assert "접속 가능" in tested.text and "쿼리" in tested.text
        version = _row(app, "prom-main")[0]
        assert version.health == "ok" and version.last_checked_at is not None
        listing = client.get(PAGE)
        block = listing.text.split('id="integration-prom-main"', 1)[1].split("</tr>", 1)[0]
        assert "정상" in block and "마지막 확인" in block and "기본" in block and "전역" in block
        assert "연결 테스트" in block

    def test_failed_connection_shows_the_precise_reason_and_failing_health(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        closed = f"http://127.0.0.1:{free_port()}"
        location = _add(client, _prometheus_form(closed, name="prom-down", **{"opt.timeout_seconds": "2"}))
        row, _ = _row(app, "prom-down")
        tested = post_form(client, f"{PAGE}/{row.id}/test", {}, token_from=location)
        assert tested.status_code == 200
        assert "연결 실패" in tested.text and "✗" in tested.text and "prom-down" in tested.text
        failed = re.findall(r'check-failed">.*?check-detail">([^<]+)<', tested.text, re.S)
        assert failed and all(detail.strip() for detail in failed)
        row, _ = _row(app, "prom-down")
        assert row.health == "failing" and row.last_error
        block = client.get(PAGE).text.split('id="integration-prom-down"', 1)[1].split("</tr>", 1)[0]
        assert "실패" in block and "last-error" in block and SECRET not in block

    def test_validation_errors_sit_next_to_fields_and_keep_the_form(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        domain_id = make_domain("shop")
        bad = post_form(
            client,
            f"{PAGE}/new",
            _prometheus_form(
                "ftp://nowhere", name="Bad Name", domain_id=domain_id, **{"opt.username": "kim"}
            ),
            token_from=f"{PAGE}/new?kind=prometheus",
        )
        assert bad.status_code == 422
        assert "영문 소문자, 숫자" in bad.text and 'value="Bad Name"' in bad.text
        assert 'value="kim"' in bad.text and f'value="{domain_id}" selected' in bad.text
        assert SECRET not in bad.text
        ranged = post_form(
            client,
            f"{PAGE}/new",
            _prometheus_form("http://127.0.0.1:9", **{"opt.retries": "11"}),
            token_from=f"{PAGE}/new?kind=prometheus",
        )
        assert ranged.status_code == 422 and "0부터 10 사이의 숫자를 입력하세요." in ranged.text
        assert re.search(r'is-invalid" type="number" id="opt-retries"', ranged.text)
        assert SECRET not in ranged.text
        typed = post_form(
            client,
            f"{PAGE}/new",
            _prometheus_form("http://127.0.0.1:9", **{"opt.retries": "two"}),
            token_from=f"{PAGE}/new?kind=prometheus",
        )
        assert typed.status_code == 422 and "정수를 입력하세요." in typed.text and 'value="two"' in typed.text
        _add(client, _prometheus_form("http://127.0.0.1:9", domain_id=domain_id))
        taken = post_form(
            client,
            f"{PAGE}/new",
            _prometheus_form("http://127.0.0.1:9"),
            token_from=f"{PAGE}/new?kind=prometheus",
        )
        assert taken.status_code == 422 and "같은 이름의 연동이 이미 있습니다." in taken.text
        row, _ = _row(app, "prom-main")
        assert row.domain_id == domain_id
        edit = f"{PAGE}/{row.id}"
        wrong = post_form(
            client,
            edit,
            _prometheus_form(
                "http://127.0.0.1:9", **{"secret.bearer_token": OTHER, "opt.backoff_seconds": "99"}
            ),
            token_from=edit,
        )
        assert wrong.status_code == 422 and "0부터 30 사이의 숫자를 입력하세요." in wrong.text
        assert OTHER not in wrong.text and _row(app, "prom-main")[1] == {"bearer_token": SECRET}

    def test_delete_and_admins_only(self, client: TestClient, app: FastAPI, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("admin",)))
        location = _add(client, _prometheus_form("http://127.0.0.1:9"))
        page = client.get(location)
        assert 'id="delete-integration"' in page.text and "confirm(" in page.text
        client.cookies.clear()
        sign_in(client, make_user(roles=("operations",)))
        assert client.get(PAGE).status_code == 403 and client.get(location).status_code == 403
        assert "외부 연동" not in client.get("/").text
        client.cookies.clear()
        sign_in(client, make_user(roles=("admin",)))
        assert 'href="/admin/integrations"' in client.get("/").text
        gone = post_form(client, f"{location}/delete", {}, token_from=location)
        assert gone.status_code == 303 and gone.headers["location"] == PAGE
        assert "연동을 삭제했습니다." in client.get(PAGE).text
        assert client.get(location).status_code == 404


class TestOtherKinds:
    def test_kind_without_adapter_is_not_offered_and_cannot_be_tested(
        self, client: TestClient, make_user: MakeUser, spare_kind: IntegrationKind
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        assert f'<option value="{spare_kind.value}">' not in client.get(PAGE).text
        assert client.get(f"{PAGE}/new?kind={spare_kind.value}").status_code == 501
        assert client.get(f"{PAGE}/new?kind=nonsense").status_code == 404

    def test_report_of_a_registered_fake_kind_lists_each_check(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, spare_kind: IntegrationKind
    ) -> None:

        class Config(BaseModel):
            model_config = ConfigDict(extra="forbid")

            name: str
            base_url: str
            token: SecretStr | None = None

        class Adapter:
            def __init__(self, config: adapters.InstanceConfig) -> None:
                self.config = config

            def test_connection(self) -> ConnectionReport:
                return ConnectionReport(
                    checks=[Check("reachable", True, "up"), Check("authentication", False, "401 from /api")],
                    version="2.3.4",
                )

        adapters.register_adapter(spare_kind, Adapter, config=Config)  # the fixture unregisters it
        sign_in(client, make_user(roles=("admin",)))
        form: dict[str, object] = {
            "kind": spare_kind.value,
            "name": "fake-one",
            "base_url": "http://127.0.0.1:9",
        }
        location = _add(client, form)
        row, _ = _row(app, "fake-one")
        tested = post_form(client, f"{PAGE}/{row.id}/test", {}, token_from=location)
        assert "연결 실패" in tested.text and "2.3.4" in tested.text
        assert "✓" in tested.text and "✗" in tested.text and "401 from /api" in tested.text

    def test_instance_of_a_kind_without_adapter_keeps_its_options_and_secrets(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, spare_kind: IntegrationKind
    ) -> None:
        admin = make_user(roles=("admin",))
        headers = login(client, admin)
        created = client.post(
            "/api/v1/integrations",
            headers=headers,
            json={
                "kind": spare_kind.value,
                "name": "later",
                "base_url": "http://127.0.0.1:9",
                "options": {"folder": "ci"},
                "secrets": {"token": SECRET},
            },
        )
        assert created.status_code == 201, created.text
        sign_in(client, admin)
        location = f"{PAGE}/{created.json()['id']}"
        page = client.get(location)
        assert page.status_code == 200 and 'id="no-schema"' in page.text and SECRET not in page.text
        saved = post_form(
            client, location, {"name": "later-renamed", "base_url": "http://127.0.0.1:9"}, token_from=location
        )
        assert saved.status_code == 303
        row, secrets = _row(app, "later-renamed")
        assert row.options == {"folder": "ci"} and secrets == {"token": SECRET}
        tested = post_form(client, f"{location}/test", {}, token_from=location)
        assert tested.status_code == 501 and "어댑터가 아직 없어 테스트할 수 없습니다" in tested.text
