"""Release pages (list, new, detail) and the environments admin page, signed in through the login form."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser
from tests.web.conftest import post_form, sign_in
from timbel.core.db import session_scope
from timbel.deployments.models import Deployment, Environment, Release
from timbel.pipelines.run_models import Pipeline, PipelineRun

DIGEST = "sha256:" + "cd" * 32


def _arrange(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> tuple[str, str]:
    domain = make_domain("acme")
    system = make_system(domain, "shop", name="쇼핑몰")
    with session_scope(app.state.session_factory) as session:
        pipeline = Pipeline(system_id=system, engine="local", stages=[])
        session.add(pipeline)
        session.flush()
        run = PipelineRun(
            pipeline_id=pipeline.id,
            system_id=system,
            number=12,
            trigger="push",
            ref="main",
            engine="local",
            state="succeeded",
            commit_after="a" * 40,
        )
        session.add(run)
        session.flush()
        images = [{"service": "api", "repository": "reg.local/shop-api", "tag": "a" * 40, "digest": DIGEST}]
        from_run = Release(
            system_id=system,
            version="2026.11.26-12",
            source_commit="a" * 40,
            images=images,
            pipeline_run_id=run.id,
            created_by="pipeline run #12",
        )
        session.add(from_run)
        session.flush()
        session.add(
            Deployment(
                system_id=system,
                domain_id=domain,
                environment="dev",
                release_id=from_run.id,
                state="succeeded",
            )
        )
    return domain, system


def test_release_list_new_form_and_detail(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain, system = _arrange(app, make_domain, make_system)
    sign_in(client, make_user(roles=("operations",), domain_ids=(domain,)))
    page = client.get(f"/systems/{system}/releases")
    assert page.status_code == 200
    assert "2026.11.26-12" in page.text and ("Run #12" in page.text or "실행 #12" in page.text)
    assert (
        f"/systems/{system}/deploy?release=" in page.text
        and 'class="badge bg-blue-lt me-1">dev<' in page.text
    )
    form = client.get(f"/systems/{system}/releases/new")
    assert form.status_code == 200 and 'name="images"' in form.text
    bad = post_form(
        client,
        f"/systems/{system}/releases/new",
        {"version": "1.0", "source_commit": "b" * 40, "images": "reg.local/shop-web", "notes": ""},
        token_from=f"/systems/{system}/releases/new",
    )
    assert (
        bad.status_code == 422 and "needs a tag or a digest" in bad.text and "reg.local/shop-web" in bad.text
    )
    made = post_form(
        client,
        f"/systems/{system}/releases/new",
        {
            "version": "1.0",
            "source_commit": "b" * 40,
            "notes": "수동",
            "images": "reg.local/shop-web:1.0\nworker=reg.local/shop-worker:1.0\n",
        },
        token_from=f"/systems/{system}/releases/new",
    )
    assert made.status_code == 303, made.text
    detail = client.get(made.headers["location"])
    assert detail.status_code == 200 and "shop-worker" in detail.text and "수동" in detail.text
    assert 'action="/releases/diff"' in detail.text and "2026.11.26-12" in detail.text
    with session_scope(app.state.session_factory) as session:
        row = session.scalar(select(Release).where(Release.version == "1.0"))
        assert row is not None and [i["service"] for i in row.images] == ["shop-web", "worker"]


def test_release_pages_are_scoped_and_cutting_needs_deploy_permission(
    app: FastAPI,
    client: TestClient,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
) -> None:
    domain, system = _arrange(app, make_domain, make_system)
    other = make_domain("beta")
    sign_in(client, make_user(roles=("viewer",), domain_ids=(domain,)))
    listed = client.get(f"/systems/{system}/releases")
    assert listed.status_code == 200 and f"/systems/{system}/releases/new" not in listed.text
    assert client.get(f"/systems/{system}/releases/new").status_code == 403
    with session_scope(app.state.session_factory) as session:
        release_id = session.scalar(select(Release.id))
    assert client.get(f"/releases/{release_id}").status_code == 200
    client.cookies.clear()
    sign_in(client, make_user(roles=("operations",), domain_ids=(other,)))
    assert client.get(f"/systems/{system}/releases").status_code == 404
    assert client.get(f"/releases/{release_id}").status_code == 404


def test_environments_admin_page_saves_adds_moves_and_deletes(
    app: FastAPI, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
) -> None:
    domain = make_domain("acme")
    sign_in(client, make_user(roles=("admin",)))
    page = client.get(f"/admin/environments?domain={domain}")
    assert page.status_code == 200 and 'id="environment-prod"' in page.text
    with session_scope(app.state.session_factory) as session:
        rows = {
            e.name: e.id for e in session.scalars(select(Environment).where(Environment.domain_id == domain))
        }
    path = f"/admin/environments?domain={domain}"
    fields = {
        "name": "stg",
        "target_kind": "gitops",
        "application_pattern": "{domain}-{system}-{env}",
        "namespace_pattern": "{system}-{env}",
        "approval_ttl_hours": "24",
        "healthy_minutes": "15",
        "health_timeout_seconds": "300",
        "verify_window_seconds": "30",
        "auto_rollback": "1",
        "requires_approval": "1",
        "approver_roles": "operations",
        "freeze_windows": "2026-12-24T00:00 | 2026-12-26T00:00 | 연말 동결",
    }
    saved = post_form(client, f"/admin/environments/{rows['stg']}", fields, token_from=path)
    assert saved.status_code == 303, saved.text
    with session_scope(app.state.session_factory) as session:
        stg = session.get(Environment, rows["stg"])
        assert stg is not None and stg.healthy_minutes == 15 and stg.approver_roles == ["operations"]
        assert stg.freeze_windows[0]["reason"] == "연말 동결" and stg.namespace_pattern == "{system}-{env}"
    wrong = post_form(
        client,
        f"/admin/environments/{rows['stg']}",
        fields | {"freeze_windows": "2026-12-26T00:00 | 2026-12-24T00:00"},
        token_from=path,
    )
    assert wrong.status_code == 422 and "end after it starts" in wrong.text
    added = post_form(
        client, "/admin/environments/new", fields | {"name": "qa", "domain": domain}, token_from=path
    )
    assert added.status_code == 303, added.text
    with session_scope(app.state.session_factory) as session:
        qa = session.scalar(
            select(Environment).where(Environment.domain_id == domain, Environment.name == "qa")
        )
        assert qa is not None and qa.position == 3
        qa_id = qa.id
    assert (
        post_form(
            client, f"/admin/environments/{qa_id}/move", {"direction": "up"}, token_from=path
        ).status_code
        == 303
    )
    with session_scope(app.state.session_factory) as session:
        order = session.scalars(
            select(Environment.name).where(Environment.domain_id == domain).order_by(Environment.position)
        )
        assert list(order) == ["dev", "stg", "qa", "prod"]
    assert post_form(client, f"/admin/environments/{qa_id}/delete", {}, token_from=path).status_code == 303
    assert 'id="environment-qa"' not in client.get(path).text


def test_environments_page_is_read_only_without_admin_settings(
    app: FastAPI, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
) -> None:
    domain, other = make_domain("acme"), make_domain("beta")
    sign_in(client, make_user(roles=("operations",), domain_ids=(domain,)))
    page = client.get("/admin/environments")
    assert page.status_code == 200 and 'id="environment-dev"' in page.text
    assert 'id="environment-new"' not in page.text and "/delete" not in page.text
    assert client.get(f"/admin/environments?domain={other}").status_code == 404
    with session_scope(app.state.session_factory) as session:
        dev = session.scalar(
            select(Environment.id).where(Environment.domain_id == domain, Environment.name == "dev")
        )
    refused = post_form(client, f"/admin/environments/{dev}/delete", {}, token_from="/admin/environments")
    assert refused.status_code == 403
