"""The minimal GitLab adapter against the fake GitLab on loopback: exact calls, version, bad token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.gitlab import VERSION, gitlab_app
from tests.fakes.server import RunningFake, header, serve
from timbel.integrations.base import IntegrationKind
from timbel.integrations.gitlab.adapter import GitLabAdapter, from_instance
from timbel.integrations.gitlab.config import GitLabConfig
from timbel.integrations.registry_of_adapters import InstanceConfig, secret_fields_of

TOKEN = "glpat-fake-token"


@pytest.fixture
def fake() -> Iterator[RunningFake]:
    with serve(gitlab_app(token=TOKEN)) as running:
        yield running


def test_connection_checks_the_version_with_the_token(fake: RunningFake) -> None:
    adapter = from_instance(
        InstanceConfig(
            id="i1",
            kind=IntegrationKind.gitlab,
            name="corp-gitlab",
            base_url=fake.base_url + "/api/v4/",
            secrets={"token": TOKEN, "webhook_token": "w"},
        )
    )

    report = adapter.test_connection()

    assert report.ok, report
    assert report.version == VERSION
    assert fake.recorder.calls() == ["GET /api/v4/version"]
    assert header(fake.recorder.requests[0], "PRIVATE-TOKEN") == TOKEN


def test_a_refused_token_is_an_authentication_failure(fake: RunningFake) -> None:
    adapter = GitLabAdapter(GitLabConfig(name="corp-gitlab", base_url=fake.base_url, token="wrong"))

    report = adapter.test_connection()

    assert not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == ["authentication"]
    assert "corp-gitlab" in failed[0].detail and "wrong" not in failed[0].detail


def test_an_unreachable_gitlab_is_reported() -> None:
    from tests.servers import free_port

    adapter = GitLabAdapter(
        GitLabConfig(name="gone", base_url=f"http://127.0.0.1:{free_port()}", token="t", timeout_seconds=2),
        sleep=lambda _s: None,
    )

    report = adapter.test_connection()

    assert [(c.name, c.ok) for c in report.checks] == [("reachable", False)]


def test_the_config_declares_its_secrets() -> None:
    assert secret_fields_of(GitLabConfig) == {"token", "webhook_token"}
    assert all(f.description for f in GitLabConfig.model_fields.values())
