"""Deploy wizard step 1 pages: start an analysis, read the result, register it, the system page card."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.conftest import MakeUser
from tests.web.conftest import post_form, sign_in
from timbel.analysis.models import Analysis
from timbel.catalog.models import Document, System
from timbel.core.db import session_scope

WIZARD = "/deploy/repository"


def _analysis_id(location: str) -> str:
    assert location.startswith(WIZARD + "/analyses/"), location
    return location.rsplit("/", 1)[-1]


def _local_analysis(app: FastAPI, path: Path, created_by: str, **fields: object) -> str:
    """Queue an analysis of a server path straight in the database and run it (jobs run inline)."""
    with session_scope(app.state.session_factory) as session:
        row = Analysis(path=str(path), created_by=created_by, **fields)
        session.add(row)
        session.flush()
        analysis_id = row.id
    app.state.jobs.enqueue("analysis.run", analysis_id=analysis_id)
    return analysis_id


def test_the_wizard_refuses_internal_addresses_in_korean(client: TestClient, make_user: MakeUser) -> None:
    sign_in(client, make_user(roles=("operations",)))
    page = client.get(WIZARD)
    assert page.status_code == 200 and "레포지토리 배포" in page.text
    refused = post_form(client, WIZARD, {"url": "http://192.168.0.10/app.git"}, token_from=WIZARD)
    assert refused.status_code == 422
    assert "이 저장소 URL은 사용할 수 없습니다" in refused.text
    assert 'value="http://192.168.0.10/app.git"' in refused.text  # nothing typed is lost


def test_viewers_do_not_get_the_wizard(client: TestClient, make_user: MakeUser) -> None:
    sign_in(client, make_user(roles=("viewer",)))
    assert client.get(WIZARD).status_code == 403
    assert "레포지토리 배포" not in client.get("/").text


def test_a_finished_analysis_shows_services_and_registers_the_system(
    client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str], tmp_path: Path
) -> None:
    domain_id = make_domain("shop")
    user = make_user(roles=("operations",), domain_ids=(domain_id,))
    sign_in(client, user)
    analysis_id = _local_analysis(app, build_fastapi_repo(tmp_path / "shop"), user.id)
    page = client.get(f"{WIZARD}/analyses/{analysis_id}")
    assert page.status_code == 200
    assert 'id="report-services"' in page.text and "8000" in page.text and "Dockerfile" in page.text
    assert 'id="register-form"' in page.text and "sse-connect" not in page.text

    bad = post_form(
        client,
        f"{WIZARD}/analyses/{analysis_id}/register",
        {"domain_id": domain_id, "name": "Shop", "slug": "-x"},
        token_from=f"{WIZARD}/analyses/{analysis_id}",
    )
    assert bad.status_code == 422 and 'value="Shop"' in bad.text

    done = post_form(
        client, f"{WIZARD}/analyses/{analysis_id}/register",
        {"domain_id": domain_id, "name": "쇼핑 API", "slug": "shop-api", "stage": "development"},
        token_from=f"{WIZARD}/analyses/{analysis_id}",
    )  # fmt: skip
    assert done.status_code == 303
    with session_scope(app.state.session_factory) as session:
        system = session.scalar(select(System).where(System.slug == "shop-api"))
        assert system is not None and system.source == "auto"
        titles = set(session.scalars(select(Document.title).where(Document.system_id == system.id)))
    assert "Shop API" in titles
    assert done.headers["location"] == f"/catalog/systems/{system.id}"
    card = client.get(f"/catalog/systems/{system.id}/analysis-card")
    assert card.status_code == 200 and 'id="rerun-analysis"' not in card.text  # a path needs an admin
    assert "FastAPI" in card.text and "8000" in card.text


def test_a_running_analysis_page_follows_progress_live(
    client: TestClient, app: FastAPI, make_user: MakeUser
) -> None:
    user = make_user(roles=("operations",))
    sign_in(client, user)
    with session_scope(app.state.session_factory) as session:
        row = Analysis(url="https://github.com/a/b.git", created_by=user.id, state="running")
        row.phase, row.progress_done, row.progress_total = "languages", 2, 7
        session.add(row)
        session.flush()
        analysis_id = row.id
    page = client.get(f"{WIZARD}/analyses/{analysis_id}")
    assert f'sse-connect="{WIZARD}/analyses/{analysis_id}/events"' in page.text
    assert "언어" in page.text and "2 / 7" in page.text
    with session_scope(app.state.session_factory) as session:
        session.execute(
            Analysis.__table__.update()
            .where(Analysis.id == analysis_id)
            .values(state="failed", error_code="clone-failed")
        )
    with client.stream("GET", f"{WIZARD}/analyses/{analysis_id}/events") as response:
        body = "".join(response.iter_text())
    assert "event: done" in body and f'hx-get="{WIZARD}/analyses/{analysis_id}/result"' in body
    result = client.get(f"{WIZARD}/analyses/{analysis_id}/result")
    assert "저장소를 복제하지 못했습니다" in result.text


def test_system_page_reruns_the_analysis(
    client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str], tmp_path: Path
) -> None:
    domain_id = make_domain("shop")
    repo = build_fastapi_repo(tmp_path / "shop")
    with session_scope(app.state.session_factory) as session:
        system = System(domain_id=domain_id, slug="shop", name="Shop", repo_url=str(repo))
        session.add(system)
        session.flush()
        system_id = system.id
    sign_in(client, make_user(roles=("admin",)))
    card = client.get(f"/catalog/systems/{system_id}/analysis-card")
    assert "아직 분석하지 않았습니다" in card.text
    started = post_form(
        client, f"/catalog/systems/{system_id}/analyze", {}, token_from=f"/catalog/systems/{system_id}"
    )
    assert started.status_code == 303
    analysis_id = _analysis_id(started.headers["location"])
    card = client.get(f"/catalog/systems/{system_id}/analysis-card")
    assert f"/deploy/repository/analyses/{analysis_id}" in card.text and "8000" in card.text
    with session_scope(app.state.session_factory) as session:
        system_row = session.get(System, system_id)
        assert system_row is not None and "Python" in system_row.languages
        assert session.scalar(select(Document.id).where(Document.system_id == system_id)) is not None
