"""Releases: image references, creation (unique version, values + hash, digests from a real registry),
the API with domain scoping, and releases cut from succeeded pipeline runs."""

# ruff: noqa: F811  (fixtures imported from _rel_support are parameters here)

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from tests.deployments._rel_support import admin_headers, registry, registry_instance  # noqa: F401
from tests.integrations.registry.images import push_image
from tests.servers.docker_registry import DockerRegistryServer
from timbel.audit.models import AuditEntry
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.errors import Conflict, ValidationFailed
from timbel.deployments import releases
from timbel.deployments.models import Release
from timbel.deployments.releases import ImageRef, parse_image
from timbel.gitops.models import DeliveryDraft
from timbel.pipelines.run_models import Pipeline, PipelineRun, RunArtifact

DIGEST = "sha256:" + "ab" * 32


def test_image_references_parse_strictly() -> None:
    assert parse_image("registry.local/team/shop-api:1.2") == ImageRef(
        "shop-api", "registry.local/team/shop-api", "1.2"
    )
    assert parse_image(f"shop/web@{DIGEST}") == ImageRef("web", "shop/web", "", DIGEST)
    assert parse_image(f"127.0.0.1:5000/shop/api:abc@{DIGEST}") == ImageRef(
        "api", "127.0.0.1:5000/shop/api", "abc", DIGEST
    )
    assert parse_image("worker=localhost/x:1").service == "worker"
    for bad, why in [
        ("shop/api", "needs a tag or a digest"),
        ("shop/api@sha256:1234", "64 lower-case hex"),
        ("Shop/API:1", "not a valid repository"),
        ("shop/api:bad tag", "not an image reference"),
        ("shop/api:-x", "not a valid tag"),
        ("Bad_Name=shop/api:1", "not a valid service name"),
    ]:
        with pytest.raises(ValidationFailed, match=why):
            parse_image(bad)


def _system(app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]) -> str:
    return make_system(make_domain("acme"), "shop")


def test_create_release_sorts_images_hashes_values_and_refuses_duplicates(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _system(app, make_domain, make_system)
    settings = app.state.settings
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        row = releases.create_release(
            session,
            settings=settings,
            system=system,
            version="1.0.0",
            source_commit="A" * 40,
            images=[parse_image("reg.local/shop-web:1"), parse_image(f"reg.local/shop-api:1@{DIGEST}")],
            actor_id=None,
            actor="tester",
            notes="첫 릴리스",
        )
        assert [i["service"] for i in row.images] == ["shop-api", "shop-web"]
        assert row.source_commit == "a" * 40 and row.notes == "첫 릴리스" and row.chart_version == ""
        assert row.values["services"]["shop-api"]["image"] == {
            "repository": "reg.local/shop-api",
            "tag": "1",
            "digest": DIGEST,
        }
        canonical = json.dumps(row.values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row.values_hash == hashlib.sha256(canonical.encode()).hexdigest()
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "release.create"))
        assert audit is not None and audit.target_id == row.id and audit.actor_name == "tester"
        with pytest.raises(Conflict):
            releases.create_release(
                session,
                settings=settings,
                system=system,
                version="1.0.0",
                source_commit="b" * 40,
                images=[parse_image("x.io/a:1")],
                actor_id=None,
                actor="t",
            )
        for version, commit, images, field in [
            ("bad version!", "a" * 40, [parse_image("x.io/a:1")], "version"),
            ("2", "xyz", [parse_image("x.io/a:1")], "source commit"),
            ("2", "a" * 40, [], "at least one image"),
            ("2", "a" * 40, [parse_image("x.io/a:1"), parse_image("y.io/a:2")], "only once"),
        ]:
            with pytest.raises(ValidationFailed, match=field):
                releases.create_release(
                    session,
                    settings=settings,
                    system=system,
                    version=version,
                    source_commit=commit,
                    images=images,
                    actor_id=None,
                    actor="t",
                )


def test_digests_come_from_the_registry_and_failures_are_noted_not_invented(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    registry: DockerRegistryServer,
) -> None:
    system_id = _system(app, make_domain, make_system)
    host = registry.url.removeprefix("http://")
    pushed = push_image(registry.url, "shop/api", "1.4")
    admin = admin_headers(client, make_user)
    registry_instance(client, admin, registry.url)
    body = {
        "version": "1.4",
        "source_commit": "c" * 40,
        "notes": "by hand",
        "images": [f"{host}/shop/api:1.4", f"{host}/shop/web:9.9", "other.io/shop/db:1"],
    }
    created = client.post(f"/api/v1/systems/{system_id}/releases", json=body, headers=admin)
    assert created.status_code == 201, created.text
    images = {i["service"]: i for i in created.json()["images"]}
    assert images["api"]["digest"] == pushed
    assert images["web"]["digest"] is None and images["db"]["digest"] is None
    notes = created.json()["notes"]
    assert notes.startswith("by hand") and "web: digest not resolved, tag 9.9 is not in the registry" in notes
    assert "db: digest not resolved (other.io is not the registry" in notes
    assert client.get(created.headers["Location"], headers=admin).json()["version"] == "1.4"
    registry.stop()  # unreachable: kept without digest, and said so
    second = client.post(
        f"/api/v1/systems/{system_id}/releases",
        json=body | {"version": "1.5", "images": [f"{host}/shop/api:1.4"]},
        headers=admin,
    )
    assert second.status_code == 201, second.text
    assert second.json()["images"][0]["digest"] is None
    assert "api: digest not resolved, the registry did not answer" in second.json()["notes"]


def test_release_api_permissions_domain_scope_and_errors(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    acme, other = make_domain("acme"), make_domain("beta")
    shop, hidden = make_system(acme, "shop"), make_system(other, "hidden")
    operator = make_user(roles=("operations",), domain_ids=(acme,))
    ops = login(client, operator)
    viewer = login(client, make_user(roles=("viewer",), domain_ids=(acme,)))
    body = {"version": "1", "source_commit": "d" * 40, "images": ["reg.local/shop/api:1"]}
    assert client.post(f"/api/v1/systems/{shop}/releases", json=body, headers=viewer).status_code == 403
    assert client.post(f"/api/v1/systems/{hidden}/releases", json=body, headers=ops).status_code == 404
    created = client.post(f"/api/v1/systems/{shop}/releases", json=body, headers=ops)
    assert created.status_code == 201
    assert client.post(f"/api/v1/systems/{shop}/releases", json=body, headers=ops).status_code == 409
    bad = client.post(f"/api/v1/systems/{shop}/releases", json=body | {"images": ["nope"]}, headers=ops)
    assert bad.status_code == 422 and "needs a tag or a digest" in bad.text
    listed = client.get(f"/api/v1/systems/{shop}/releases", headers=viewer).json()
    assert listed["total"] == 1 and listed["items"][0]["created_by"] == operator.username
    other_ops = login(client, make_user(roles=("operations",), domain_ids=(other,)))
    assert client.get(f"/api/v1/releases/{created.json()['id']}", headers=other_ops).status_code == 404
    assert client.get(f"/api/v1/releases/{created.json()['id']}", headers=viewer).status_code == 200


def _run(app: FastAPI, system_id: str, *, number: int = 7, state: str = "succeeded") -> str:
    with session_scope(app.state.session_factory) as session:
        pipeline = session.scalar(select(Pipeline).where(Pipeline.system_id == system_id))
        if pipeline is None:
            pipeline = Pipeline(system_id=system_id, engine="local", stages=[])
            session.add(pipeline)
            session.flush()
        run = PipelineRun(
            pipeline_id=pipeline.id,
            system_id=system_id,
            number=number,
            trigger="push",
            ref="main",
            engine="local",
            state=state,
            commit_after="e" * 40,
            actor="kim",
        )
        session.add(run)
        session.flush()
        return run.id


def test_release_from_run_uses_image_artifacts_and_is_idempotent(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _system(app, make_domain, make_system)
    settings, factory = app.state.settings, app.state.session_factory
    run_id = _run(app, system_id)
    with session_scope(factory) as session:
        session.add(
            RunArtifact(
                run_id=run_id,
                kind="image",
                data={"reference": "reg.local/t/shop-api:" + "e" * 40, "digest": DIGEST},
            )
        )
    first = releases.release_from_run_safely(factory, settings=settings, run_id=run_id)
    assert first is not None
    assert releases.release_from_run_safely(factory, settings=settings, run_id=run_id) == first
    with session_scope(factory) as session:
        row = session.get(Release, first)
        assert row is not None and row.pipeline_run_id == run_id and row.source_commit == "e" * 40
        assert row.version.endswith("-7") and row.images[0]["digest"] == DIGEST
        assert row.created_by == "pipeline run #7"
    failed = _run(app, system_id, number=8, state="failed")
    assert releases.release_from_run_safely(factory, settings=settings, run_id=failed) is None


def test_release_from_run_falls_back_to_the_delivery_plan_and_never_raises(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _system(app, make_domain, make_system)
    settings, factory = app.state.settings, app.state.session_factory
    no_plan = _run(app, system_id, number=1)
    assert (
        releases.release_from_run_safely(factory, settings=settings, run_id=no_plan) is None
    )  # logged, skipped
    plan = {
        "domain": "acme",
        "system": "shop",
        "registry": "reg.local/team",
        "services": [
            {"name": "web", "stack": "node", "port": 3000},
            {"name": "api", "stack": "go", "port": 8080},
        ],
    }
    with session_scope(factory) as session:
        session.add(DeliveryDraft(system_id=system_id, plan=plan))
    run_id = _run(app, system_id, number=2)
    with session_scope(factory) as session:
        taken = releases.version_for_run(session, run=session.get(PipelineRun, run_id))
        session.add(Release(system_id=system_id, version=taken, source_commit="f" * 40))
    release_id = releases.release_from_run_safely(factory, settings=settings, run_id=run_id)
    with session_scope(factory) as session:
        row = session.get(Release, release_id)
        assert row is not None and row.version == "run-2"
        assert row.images == [
            {"service": "api", "repository": "reg.local/team/shop-api", "tag": "e" * 40, "digest": None},
            {"service": "web", "repository": "reg.local/team/shop-web", "tag": "e" * 40, "digest": None},
        ]


def test_the_release_job_runs_through_the_job_runtime(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    system_id = _system(app, make_domain, make_system)
    run_id = _run(app, system_id, number=3)
    with session_scope(app.state.session_factory) as session:
        session.add(RunArtifact(run_id=run_id, kind="image", data={"reference": f"reg.local/t/api@{DIGEST}"}))
    jobs = app.state.jobs
    jobs.enqueue(releases.RELEASE_JOB, run_id=run_id)  # settings: jobs run inline in tests
    with session_scope(app.state.session_factory) as session:
        row = session.scalar(select(Release).where(Release.pipeline_run_id == run_id))
        assert row is not None and row.images[0]["digest"] == DIGEST and row.images[0]["tag"] == ""


def test_chart_version_comes_from_the_gitops_chart(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> None:
    from timbel.gitops import commit_files, push
    from timbel.gitops import service as gitops_service
    from timbel.gitops.commits import CommitMessage

    system_id = _system(app, make_domain, make_system)
    settings = app.state.settings
    with session_scope(app.state.session_factory) as session:
        repo = gitops_service.open_row(
            gitops_service.default_repository(session, settings=settings), settings=settings
        )
        chart = "apiVersion: v2\nname: shop\nversion: 0.3.1\n"
        message = CommitMessage(
            what="Add shop chart", who="test", why="chart version", operation_id="op-chart"
        )
        commit_files(repo, files={"acme/shop/chart/Chart.yaml": chart}, message=message)
        push(repo)
        system = session.get(System, system_id)
        assert system is not None
        row = releases.create_release(
            session,
            settings=settings,
            system=system,
            version="1",
            source_commit="a" * 40,
            images=[parse_image("reg.local/shop-api:1")],
            actor_id=None,
            actor="t",
        )
        assert row.chart_version == "0.3.1"
