"""test_connection: reachable, version from X-Jenkins, who we are, read/create permission in the folder."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tests.fakes.jenkins import VERSION, JenkinsState
from tests.fakes.server import RunningFake
from tests.servers import free_port
from timbel.integrations import registry_of_adapters
from timbel.integrations.base import Check, IntegrationKind
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsConfig, from_instance
from timbel.integrations.registry_of_adapters import (
    InstanceConfig,
    build_adapter,
    register_adapter,
    spec_for,
)

from .conftest import MakeAdapter, calls

PROBES = [
    "GET /api/json?tree=useCrumbs%2CuseSecurity",
    "GET /whoAmI/api/json",
]


def test_everything_ok_in_an_existing_folder(
    make_adapter: MakeAdapter, fake: RunningFake, state: JenkinsState
) -> None:
    state.add_folder("timbel")
    state.add_folder("timbel/builds")
    state.add_job("timbel/builds/shop")
    report = make_adapter(folder="timbel/builds").test_connection()
    assert report.ok and report.version == VERSION
    assert list(report.checks) == [
        Check("reachable", True, f"{fake.base_url} answered HTTP 200"),
        Check("version", True, f"Jenkins {VERSION}"),
        Check("authentication", True, "authenticated as timbel"),
        Check("read jobs", True, "1 items in folder 'timbel/builds'"),
        Check("create items", True, "may create items in folder 'timbel/builds'"),
    ]
    assert calls(fake.recorder) == [
        *PROBES,
        "GET /job/timbel/job/builds/api/json?tree=jobs%5Bname%5D",
        "POST /job/timbel/job/builds/createItem",
    ]
    assert fake.recorder.requests[-1].body == b""
    assert set(state.items) == {"timbel", "timbel/builds", "timbel/builds/shop"}  # the probe created nothing


def test_missing_folder_is_checked_at_its_deepest_existing_ancestor(
    make_adapter: MakeAdapter, fake: RunningFake, state: JenkinsState
) -> None:
    state.add_folder("timbel")
    report = make_adapter(folder="timbel/builds/v2").test_connection()
    assert report.ok
    assert report.checks[3] == Check(
        "read jobs", True, "0 items in folder 'timbel'; folder 'timbel/builds/v2' does not exist yet "
        "(created on first job)",
    )  # fmt: skip
    assert calls(fake.recorder)[2:] == [
        "GET /job/timbel/job/builds/job/v2/api/json?tree=jobs%5Bname%5D",
        "GET /job/timbel/job/builds/api/json?tree=jobs%5Bname%5D",
        "GET /job/timbel/api/json?tree=jobs%5Bname%5D",
        "POST /job/timbel/createItem",
    ]


def test_bad_token_still_reports_the_version(
    make_adapter: MakeAdapter, fake: RunningFake, state: JenkinsState
) -> None:
    report = make_adapter(api_token="not-the-token").test_connection()
    assert not report.ok and report.version == VERSION
    assert report.checks[-1] == Check(
        "authentication", False, "Jenkins 'ci-test': credentials refused for GET /api/json (HTTP 401)"
    )
    assert calls(fake.recorder) == PROBES[:1]
    assert "not-the-token" not in repr(report)


def test_create_permission_missing(adapter: JenkinsAdapter, state: JenkinsState) -> None:
    state.can_create = False
    report = adapter.test_connection()
    assert not report.ok
    assert [c.name for c in report.checks if not c.ok] == ["create items"]
    assert report.checks[-1].detail == (
        "Jenkins 'ci-test': missing the Job/Create permission for POST /createItem (HTTP 403)"
    )


def test_read_permission_missing(make_adapter: MakeAdapter, state: JenkinsState) -> None:
    state.add_folder("secret")
    state.read_denied.add("secret")
    report = make_adapter(folder="secret").test_connection()
    assert report.checks[-1] == Check(
        "read jobs",
        False,
        "Jenkins 'ci-test': missing the Job/Read permission for GET /job/secret/api/json (HTTP 403)",
    )


def test_crumb_demanding_server_passes_with_a_crumb(
    adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
) -> None:
    state.crumb_mode = "always"
    assert adapter.test_connection().ok
    assert calls(fake.recorder)[-3:] == ["POST /createItem", "GET /crumbIssuer/api/json", "POST /createItem"]


def test_server_error_on_whoami(adapter: JenkinsAdapter, state: JenkinsState) -> None:
    state.fail(500, prefix="/whoAmI")
    report = adapter.test_connection()
    assert report.checks[-1] == Check(
        "authentication", False, "Jenkins 'ci-test': unexpected answer (HTTP 500) for GET /whoAmI/api/json"
    )


def test_not_a_jenkins(adapter: JenkinsAdapter, state: JenkinsState) -> None:
    state.version = ""
    report = adapter.test_connection()
    assert report.checks[1] == Check("version", False, "no X-Jenkins header: is this URL a Jenkins?")
    assert report.version is None and not report.ok


def test_unreachable() -> None:
    port = free_port()
    config = JenkinsConfig(name="gone", base_url=f"http://127.0.0.1:{port}", username="u",
                           api_token=SecretStr("t"), retries=0)  # fmt: skip
    report = JenkinsAdapter(config).test_connection()
    assert list(report.checks) == [Check("reachable", False, "Jenkins 'gone': cannot connect (ConnectError)")]


def test_registered_factory_builds_a_working_adapter(
    fake: RunningFake, state: JenkinsState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_of_adapters, "_ADAPTERS", dict(registry_of_adapters.registered_kinds()))
    register_adapter(IntegrationKind.jenkins, from_instance, config=JenkinsConfig)
    assert spec_for(IntegrationKind.jenkins).secret_fields == frozenset({"api_token"})
    instance = InstanceConfig(
        id="inst-1", kind=IntegrationKind.jenkins, name="사내 Jenkins", base_url=fake.base_url,
        options={"username": state.username, "folder": "timbel"}, secrets={"api_token": state.api_token},
    )  # fmt: skip
    adapter = build_adapter(instance)
    assert isinstance(adapter, JenkinsAdapter)
    assert adapter.config.folder == "timbel" and adapter.test_connection().ok
    adapter.close()
