"""The pipelines and runs API: create/edit with versions, start (202 + Location), list, read, cancel, retry,
rerun; permissions by role and domain scoping."""

# ruff: noqa: F811  (fixtures imported from test_runs_support are parameters here)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.pipelines.test_runs_service import _start
from tests.pipelines.test_runs_support import (  # noqa: F401  (fixtures)
    STUB,
    PipelineFactory,
    Recorder,
    StubEngine,
    app,
    domain_of,
    make_pipeline,
    run_row,
    stub_engine,
)
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope
from timbel.pipelines.template_seeds import ensure_seeds


def _member(client: TestClient, make_user: MakeUser, role: str, *domains: str) -> dict[str, str]:
    return login(client, make_user(roles=(role,), domain_ids=domains))


def test_a_manual_run_answers_202_with_location_and_runs(
    client: TestClient,
    app: FastAPI,
    make_pipeline: PipelineFactory,
    make_user: MakeUser,
    stub_engine: StubEngine,
) -> None:
    pipeline_id = make_pipeline()
    headers = _member(client, make_user, "operations", domain_of(app, pipeline_id))
    response = client.post(
        f"/api/v1/pipelines/{pipeline_id}/runs", json={"parameters": {"LEVEL": "1"}}, headers=headers
    )
    assert response.status_code == 202, response.text
    run = response.json()
    assert response.headers["Location"] == f"/api/v1/runs/{run['id']}"
    assert run["number"] == 1 and run["ref"] == "main" and run["trigger"] == "manual"
    detail = client.get(response.headers["Location"], headers=headers).json()
    assert detail["state"] == "succeeded" and detail["actor"].startswith("operations")
    assert [s["name"] for s in detail["stages"]] == ["checkout", "test", "image", "push", "gitops-update"]
    assert [h["to_state"] for h in detail["history"]] == ["queued", "running", "succeeded"]
    assert detail["artifacts"][0]["kind"] == "junit" and detail["parameters"] == {"LEVEL": "1"}
    listed = client.get("/api/v1/pipelines", headers=headers).json()
    assert listed["total"] == 1 and listed["items"][0]["last_run_state"] == "succeeded"
    assert (
        listed["items"][0]["system_slug"] == "shop" and listed["items"][0]["last_run_duration_seconds"] >= 0
    )
    runs = client.get(
        "/api/v1/runs", params={"state": "succeeded", "trigger": "manual"}, headers=headers
    ).json()
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    assert client.get("/api/v1/runs", params={"trigger": "push"}, headers=headers).json()["total"] == 0
    with session_scope(app.state.session_factory) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "pipeline_run.start"))
        assert entry is not None and entry.target_id == run["id"]


def test_bad_refs_and_parameters_are_refused(
    client: TestClient, app: FastAPI, make_pipeline: PipelineFactory, make_user: MakeUser
) -> None:
    pipeline_id = make_pipeline()
    headers = _member(client, make_user, "operations", domain_of(app, pipeline_id))
    for body in ({"ref": "--upload-pack=x"}, {"ref": "a..b"}, {"parameters": {"BAD NAME": "x"}}):
        assert (
            client.post(f"/api/v1/pipelines/{pipeline_id}/runs", json=body, headers=headers).status_code
            == 422
        )


def test_runs_and_pipelines_of_other_domains_are_invisible(
    client: TestClient,
    app: FastAPI,
    make_pipeline: PipelineFactory,
    make_user: MakeUser,
    stub_engine: StubEngine,
) -> None:
    mine, theirs = make_pipeline("mine", domain="acme"), make_pipeline("theirs", domain="other")
    headers = _member(client, make_user, "operations", domain_of(app, mine))
    other_run = client.post(
        f"/api/v1/pipelines/{theirs}/runs", json={}, headers=login(client, make_user(roles=("admin",)))
    ).json()["id"]
    assert client.get(f"/api/v1/pipelines/{theirs}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/pipelines/{theirs}/runs", json={}, headers=headers).status_code == 404
    assert client.get(f"/api/v1/runs/{other_run}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/runs/{other_run}/retry", headers=headers).status_code == 404
    assert client.get("/api/v1/runs", headers=headers).json()["total"] == 0
    assert [p["id"] for p in client.get("/api/v1/pipelines", headers=headers).json()["items"]] == [mine]
    executive = _member(client, make_user, "executive")  # sees every domain, starts nothing
    assert client.get(f"/api/v1/runs/{other_run}", headers=executive).status_code == 200
    assert client.post(f"/api/v1/pipelines/{theirs}/runs", json={}, headers=executive).status_code == 403


def test_viewers_read_but_do_not_run_cancel_or_edit(
    client: TestClient,
    app: FastAPI,
    make_pipeline: PipelineFactory,
    make_user: MakeUser,
    stub_engine: StubEngine,
) -> None:
    pipeline_id = make_pipeline()
    domain = domain_of(app, pipeline_id)
    operator = _member(client, make_user, "operations", domain)
    run_id = client.post(f"/api/v1/pipelines/{pipeline_id}/runs", json={}, headers=operator).json()["id"]
    viewer = _member(client, make_user, "viewer", domain)
    assert client.get(f"/api/v1/runs/{run_id}", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/pipelines/{pipeline_id}", headers=viewer).status_code == 200
    assert client.post(f"/api/v1/pipelines/{pipeline_id}/runs", json={}, headers=viewer).status_code == 403
    assert client.post(f"/api/v1/runs/{run_id}/cancel", headers=viewer).status_code == 403
    assert client.post(f"/api/v1/runs/{run_id}/retry", headers=viewer).status_code == 403
    patch = client.patch(f"/api/v1/pipelines/{pipeline_id}", json={"push_enabled": False}, headers=viewer)
    assert patch.status_code == 403
    assert client.get("/api/v1/runs").status_code == 401


def test_retry_rerun_and_cancel_through_the_api(
    client: TestClient,
    app: FastAPI,
    make_pipeline: PipelineFactory,
    make_user: MakeUser,
    stub_engine: StubEngine,
) -> None:
    pipeline_id = make_pipeline()
    headers = _member(client, make_user, "operations", domain_of(app, pipeline_id))
    stub_engine.script["push"] = "fail"
    first = client.post(
        f"/api/v1/pipelines/{pipeline_id}/runs", json={"ref": "v1.2.0"}, headers=headers
    ).json()
    assert run_row(app, first["id"]).state == "failed"
    stub_engine.script.clear()
    retry = client.post(f"/api/v1/runs/{first['id']}/retry", headers=headers)
    assert retry.status_code == 202 and retry.headers["Location"] == f"/api/v1/runs/{retry.json()['id']}"
    assert retry.json()["retry_of_id"] == first["id"] and retry.json()["ref"] == "v1.2.0"
    rerun = client.post(f"/api/v1/runs/{first['id']}/rerun", json={"from_stage": 3}, headers=headers)
    assert rerun.status_code == 202 and rerun.json()["rerun_from_stage"] == 3
    assert [s.index for s in stub_engine.specs[-1].stages] == [0, 3, 4]
    bad = client.post(f"/api/v1/runs/{first['id']}/rerun", json={"from_stage": 9}, headers=headers)
    assert bad.status_code == 422
    cancel = client.post(f"/api/v1/runs/{first['id']}/cancel", headers=headers)
    assert cancel.status_code == 409  # already finished


def test_cancel_a_queued_run_through_the_api(
    client: TestClient, app: FastAPI, make_pipeline: PipelineFactory, make_user: MakeUser
) -> None:
    pipeline_id = make_pipeline()
    run_id = _start(app, pipeline_id, Recorder())  # only recorded: the run stays queued
    headers = _member(client, make_user, "operations", domain_of(app, pipeline_id))
    response = client.post(f"/api/v1/runs/{run_id}/cancel", headers=headers)
    assert response.status_code == 202 and response.json()["state"] == "cancelled"
    assert response.json()["history"][-1]["reason"] == "cancelled by user"


def test_create_edit_and_versions_of_a_pipeline(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    stub_engine: StubEngine,
) -> None:
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
    domain = make_domain("acme")
    system_id = make_system(domain, "api", languages=["Python"], frameworks=["FastAPI"])
    headers = _member(client, make_user, "operations", domain)
    created = client.post(f"/api/v1/systems/{system_id}/pipeline", json={}, headers=headers)
    assert created.status_code == 201, created.text
    pipeline = created.json()
    assert pipeline["template_key"] == "python-fastapi" and pipeline["branch_filters"] == ["main"]
    assert [s["kind"] for s in pipeline["stages"]] == ["checkout", "test", "image", "push", "gitops-update"]
    again = client.post(f"/api/v1/systems/{system_id}/pipeline", json={}, headers=headers)
    assert again.status_code == 409
    url = f"/api/v1/pipelines/{pipeline['id']}"
    stages = pipeline["stages"] + [{"name": "lint", "kind": "test", "command": "ruff check .", "retries": 2}]
    changed = client.patch(url, json={"stages": stages, "schedule": "0 3 * * 1-5"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["version"] == 2
    same = client.patch(url, json={"schedule": "0 3 * * 1-5"}, headers=headers)
    assert same.json()["version"] == 2  # no real change, no new version
    versions = client.get(f"{url}/versions", headers=headers).json()
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["snapshot"]["schedule"] == "0 3 * * 1-5"
    bad: dict[str, Any]
    for bad in (
        {"stages": [{"name": "x", "kind": "test", "timeout_seconds": 0}]},
        {"stages": [{"name": "x", "kind": "test", "retries": 6}]},
        {"stages": [{"name": "x", "kind": "test"}] * 2},
        {"stages": [{"name": f"s{i}", "kind": "test"} for i in range(31)]},
        {"stages": [{"name": "a'b", "kind": "test"}]},
        {"stages": [{"name": "x", "kind": "test", "workdir": "../up"}]},
        {"engine": "mystery"},
        {"engine": "jenkins", "jenkins_integration_id": "no-such-instance"},
        {"jenkins_integration_id": "no-such-instance"},
        {"schedule": "every day"},
        {"schedule": "99 * * * *"},
        {"stages": []},
    ):
        assert client.patch(url, json=bad, headers=headers).status_code == 422, bad
    switched = client.patch(url, json={"engine": STUB}, headers=headers)
    assert switched.status_code == 200 and switched.json()["engine"] == STUB
