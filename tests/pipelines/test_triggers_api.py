"""Triggers API: turning the push trigger on registers the GitHub webhook (exact call and body), off deletes
it; without a usable instance the API explains the manual set-up (never the secret); schedules are checked."""

# ruff: noqa: F811  (fixtures imported from test_triggers_support are parameters here)

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.fakes.github import FakeGitHub
from tests.fakes.server import RunningFake
from tests.pipelines.test_runs_support import Recorder
from tests.pipelines.test_triggers_support import (  # noqa: F401  (fixtures)
    HOOK_SECRET,
    SystemPipeline,
    add_github,
    admin,
    app,
    fake_github,
    system_pipeline,
)
from tests.servers import free_port
from tests.webhooks.conftest import GITHUB_SECRET, post_github, push_payload
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.pipelines import run_triggers
from timbel.pipelines.triggers import PipelineHook

REPO_URL = "https://github.test/acme/shop.git"
HOOK_URL = "http://testserver/hooks/github"
GitHubFake = tuple[FakeGitHub, RunningFake]


def _url(pipeline_id: str) -> str:
    return f"/api/v1/pipelines/{pipeline_id}/triggers"


def _put(client: TestClient, headers: dict[str, str], pipeline_id: str, **body: object) -> dict[str, object]:
    response = client.put(_url(pipeline_id), json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _instance(client: TestClient, admin: dict[str, str], github: GitHubFake, **body: object) -> str:
    return add_github(client, admin, base_url=github[1].base_url, options={"web_host": "github.test"}, **body)


def test_enabling_push_registers_the_webhook_once_and_disabling_deletes_it(
    client: TestClient, admin: dict[str, str], fake_github: GitHubFake, system_pipeline: SystemPipeline
) -> None:
    state, running = fake_github
    integration = _instance(client, admin, fake_github)
    _, pipeline = system_pipeline("shop", REPO_URL)

    shown = _put(client, admin, pipeline, push_enabled=True, branch_filters=["main", "release/*"])

    assert running.recorder.calls() == ["GET /repos/acme/shop/hooks", "POST /repos/acme/shop/hooks"]
    posted = running.recorder.requests[1]
    assert json.loads(posted.body) == {
        "name": "web",
        "active": True,
        "events": ["push"],
        "config": {"url": HOOK_URL, "content_type": "json", "secret": HOOK_SECRET, "insecure_ssl": "0"},
    }
    assert posted.headers["authorization"].endswith("ghp_trigger-test-token-7f3a")
    webhook = shown["webhook"]
    assert isinstance(webhook, dict)
    assert (webhook["state"], webhook["hook_id"], webhook["integration_id"], webhook["url"]) == (
        "registered",
        1,
        integration,
        HOOK_URL,
    )
    assert (webhook["repository"], webhook["instructions"]) == ("acme/shop", [])
    assert shown["branch_filters"] == ["main", "release/*"]
    assert list(state.repos["acme/shop"].hooks) == [1]

    again = client.get(_url(pipeline), headers=admin).json()
    assert again["webhook"]["state"] == "registered" and HOOK_SECRET not in json.dumps(again)
    _put(client, admin, pipeline, push_enabled=True)  # already registered: GitHub is not asked again
    assert len(running.recorder.calls()) == 2

    off = _put(client, admin, pipeline, push_enabled=False)

    assert running.recorder.calls()[2:] == ["DELETE /repos/acme/shop/hooks/1"]
    assert state.repos["acme/shop"].hooks == {}
    assert off["push_enabled"] is False and off["webhook"]["state"] == "off"  # type: ignore[index]


def test_a_hook_already_pointing_at_timbel_is_adopted_not_duplicated(
    client: TestClient, admin: dict[str, str], fake_github: GitHubFake, system_pipeline: SystemPipeline
) -> None:
    state, running = fake_github
    _instance(client, admin, fake_github)
    _, pipeline = system_pipeline("shop", REPO_URL)
    state.repos["acme/shop"].hooks[41] = {
        "id": 41,
        "active": True,
        "events": ["push"],
        "config": {"url": HOOK_URL},
    }

    webhook = _put(client, admin, pipeline, push_enabled=True)["webhook"]

    assert running.recorder.calls() == ["GET /repos/acme/shop/hooks"]
    assert isinstance(webhook, dict) and (webhook["state"], webhook["hook_id"]) == ("registered", 41)


def _assert_manual(webhook: object, detail: str) -> None:
    assert isinstance(webhook, dict)
    assert webhook["state"] == "manual"
    assert detail in webhook["detail"]
    assert (webhook["url"], webhook["content_type"], webhook["events"]) == (HOOK_URL, "json", ["push"])
    text = "\n".join(webhook["instructions"])
    assert f"Payload URL: {HOOK_URL}" in text and "application/json" in text and "push" in text
    assert "webhook secret configured on the GitHub integration" in text
    assert HOOK_SECRET not in json.dumps(webhook)


def test_without_a_github_instance_for_the_host_the_api_explains_the_manual_setup(
    client: TestClient, admin: dict[str, str], fake_github: GitHubFake, system_pipeline: SystemPipeline
) -> None:
    _instance(client, admin, fake_github)  # serves github.test, not git.other.test
    _, pipeline = system_pipeline("shop", "https://git.other.test/acme/shop.git")

    _assert_manual(_put(client, admin, pipeline, push_enabled=True)["webhook"], "git.other.test")
    _assert_manual(client.get(_url(pipeline), headers=admin).json()["webhook"], "git.other.test")
    assert fake_github[1].recorder.calls() == []


def test_an_instance_without_webhook_secret_or_a_refusing_github_means_manual(
    client: TestClient, admin: dict[str, str], fake_github: GitHubFake, system_pipeline: SystemPipeline
) -> None:
    state, running = fake_github
    integration = _instance(client, admin, fake_github, secrets={"token": "ghp_trigger-test-token-7f3a"})
    _, pipeline = system_pipeline("shop", REPO_URL)
    _assert_manual(_put(client, admin, pipeline, push_enabled=True)["webhook"], "has no webhook secret")
    assert running.recorder.calls() == []

    patched = client.patch(
        f"/api/v1/integrations/{integration}",
        json={"secrets": {"webhook_secret": HOOK_SECRET}},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    state.repos["acme/shop"].hooks_forbidden = True
    _assert_manual(_put(client, admin, pipeline, push_enabled=True)["webhook"], "could not register")

    state.repos["acme/shop"].hooks_forbidden = False  # fixed on GitHub: saving again registers
    assert _put(client, admin, pipeline, push_enabled=True)["webhook"]["state"] == "registered"  # type: ignore[index]


def test_the_schedule_is_checked_and_fires_once_per_minute(
    client: TestClient, app: FastAPI, admin: dict[str, str], system_pipeline: SystemPipeline
) -> None:
    _, pipeline = system_pipeline("shop", "https://git.other.test/acme/shop.git")
    for bad in ("99 * * * *", "* * *", "every day", "0 3 * * mon"):
        response = client.put(_url(pipeline), json={"schedule": bad}, headers=admin)
        assert response.status_code == 422, (bad, response.text)
    assert _put(client, admin, pipeline, schedule=" 30  3 * * 1-5 ")["schedule"] == "30 3 * * 1-5"

    thursday = datetime(2026, 11, 26, 3, 30, 40, tzinfo=UTC)
    seen: list[str] = []
    for _ in range(2):  # two schedulers in the same minute: one run
        with session_scope(app.state.session_factory) as session:
            runs = run_triggers.scheduled_runs(session, now=thursday, enqueue=Recorder())
            assert [(r.trigger, r.ref) for r in runs] == [("schedule", "main")]
            seen.append(runs[0].id)
    assert seen[0] == seen[1]
    with session_scope(app.state.session_factory) as session:
        assert run_triggers.scheduled_runs(session, now=thursday.replace(minute=31), enqueue=Recorder()) == []

    assert _put(client, admin, pipeline, schedule=None)["schedule"] is None


def test_reading_needs_pipelines_read_changing_needs_pipelines_edit(
    client: TestClient,
    app: FastAPI,
    admin: dict[str, str],
    make_user: MakeUser,
    system_pipeline: SystemPipeline,
) -> None:
    system, pipeline = system_pipeline("shop", REPO_URL)
    with session_scope(app.state.session_factory) as session:
        domain = session.get(System, system).domain_id  # type: ignore[union-attr]
    viewer = login(client, make_user(roles=("viewer",), domain_ids=(domain,)))
    outsider = login(client, make_user(roles=("operations",), domain_ids=()))
    assert client.get(_url(pipeline), headers=viewer).status_code == 200
    assert client.put(_url(pipeline), json={"push_enabled": True}, headers=outsider).status_code == 404
    assert client.put(_url(pipeline), json={"push_enabled": False}, headers=viewer).status_code == 403
    assert client.get(_url("no-such-pipeline"), headers=admin).status_code == 404
    assert client.get(_url(pipeline)).status_code == 401


def test_the_last_delivery_time_comes_from_deliveries_naming_the_system(
    client: TestClient,
    app: FastAPI,
    admin: dict[str, str],
    fake_github: GitHubFake,
    system_pipeline: SystemPipeline,
) -> None:
    _instance(
        client,
        admin,
        fake_github,
        secrets={"token": "ghp_trigger-test-token-7f3a", "webhook_secret": GITHUB_SECRET},
    )
    _, pipeline = system_pipeline("shop", "https://github.com/acme/shop.git", push_enabled=False)
    assert client.get(_url(pipeline), headers=admin).json()["webhook"]["last_delivery_at"] is None

    assert post_github(client, push_payload(full_name="acme/other")).status_code in (200, 202)
    assert client.get(_url(pipeline), headers=admin).json()["webhook"]["last_delivery_at"] is None
    assert post_github(client, push_payload(full_name="acme/shop")).status_code in (200, 202)
    assert client.get(_url(pipeline), headers=admin).json()["webhook"]["last_delivery_at"] is not None
    with session_scope(app.state.session_factory) as session:
        assert session.scalars(select(PipelineHook)).all() == []


def test_an_unreachable_github_leaves_the_hook_failed_with_instructions(
    client: TestClient, admin: dict[str, str], system_pipeline: SystemPipeline
) -> None:
    add_github(client, admin, base_url=f"http://127.0.0.1:{free_port()}", options={"web_host": "github.test"})
    _, pipeline = system_pipeline("shop", REPO_URL)

    webhook = _put(client, admin, pipeline, push_enabled=True)["webhook"]

    assert isinstance(webhook, dict) and webhook["state"] == "failed"
    assert "could not register" in webhook["detail"] and webhook["instructions"]
    assert HOOK_SECRET not in json.dumps(webhook)
