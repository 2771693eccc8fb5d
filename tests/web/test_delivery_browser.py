"""The deploy wizard's steps 2–4 in headless Chromium, with a real job consumer: a new operations user takes
an analysed, registered fixture system through configure → review → commit, sees the commit, and finds it
in the system's GitOps history (the embedded GitOps repository under the test's data dir)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.conftest import MakeUser, empty_all_tables
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page
from timbel.app import create_app
from timbel.core.settings import JobSettings, Settings
from timbel.gitops import service as gitops_service
from timbel.gitops.models import DeliveryDraft
from timbel.scaffold.plan import DeliveryPlan, GeneratedFile
from timbel.scaffold.validate import validate_gitops_files

pytestmark = pytest.mark.browser
PASSWORD = "Copper-Lantern-4821"
ADMIN_PASSWORD = "Granite-Harbor-7315"
SECRET = "browser-planted-secret-55d1"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Jobs through a real queue, consumed in-process (started by the live server's lifespan)."""
    return settings.model_copy(
        update={"jobs": JobSettings(immediate=False, embedded_consumer=True, workers=1)}
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app with its in-process job consumer."""
    application = create_app(settings, run_jobs=True)
    try:
        yield application
    finally:
        empty_all_tables(application.state.engine)
        application.state.engine.dispose()


def analysed_system(base: str, admin: str, domain_id: str, repo: Path) -> str:
    """An administrator analyses a server path through the API, waits for the consumer, registers it."""
    with httpx.Client(base_url=base, timeout=30) as api:
        token = api.post("/api/v1/auth/login", json={"username": admin, "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        started = api.post("/api/v1/analyses", json={"path": str(repo)}, headers=headers)
        assert started.status_code in (201, 202), started.text
        analysis_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while (state := api.get(f"/api/v1/analyses/{analysis_id}", headers=headers).json()["state"]) not in (
            "succeeded",
            "failed",
        ):
            assert time.monotonic() < deadline, "the analysis did not finish"
            time.sleep(0.2)
        assert state == "succeeded"
        registered = api.post(
            f"/api/v1/analyses/{analysis_id}/register",
            json={"domain_id": domain_id, "slug": "shop", "name": "쇼핑몰"},
            headers=headers,
        )
        assert registered.status_code == 200, registered.text
        return str(registered.json()["system_id"])


def test_new_user_configures_reviews_and_commits_a_delivery(
    browser: Browser,
    live_server: LiveServer,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    tmp_path: Path,
    artifacts: Path,
    app: FastAPI,
) -> None:
    base = live_server.url
    domain_id = make_domain("shop-mall")
    make_user("admin.lee", roles=("admin",), password=ADMIN_PASSWORD)
    system_id = analysed_system(base, "admin.lee", domain_id, build_fastapi_repo(tmp_path / "shop"))
    make_user("ops.choi", roles=("operations",), password=PASSWORD, domain_ids=(domain_id,))

    page = new_page(browser)
    page.set_default_timeout(30_000)
    sign_in(page, base, "ops.choi", PASSWORD)
    page.goto(f"{base}/deploy/systems/{system_id}/configure")
    expect(page.locator("#service-shop-api")).to_be_visible()
    expect(page.locator("#s0\\.port")).to_have_value("8000")
    page.fill("#s0\\.prod\\.replicas", "3")
    page.check("#s0\\.prod\\.autoscaling")
    page.fill("#s0\\.prod\\.ingress_host", "shop.example.com")
    page.fill("#s0\\.env_vars", "LOG_LEVEL=info")
    page.fill("#s0\\.secret_vars", f"DB_PASSWORD={SECRET}")
    page.fill("#s0\\.port", "99999")
    page.click("#save-plan")
    expect(page.locator("#s0\\.port")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#s0\\.prod\\.ingress_host")).to_have_value("shop.example.com")  # typed input kept
    assert SECRET not in page.content()
    page.screenshot(path=str(artifacts / "delivery-configure-invalid.png"), full_page=True)
    page.fill("#s0\\.port", "8000")
    page.fill("#s0\\.secret_vars", f"DB_PASSWORD={SECRET}")
    page.click("#save-plan")

    expect(page.locator("#flash")).to_be_visible()
    expect(page.locator("#gitops-files")).to_contain_text("shop-mall/shop/envs/prod/values.yaml")
    prod_values = page.locator(".generated-file[data-path='shop-mall/shop/envs/prod/values.yaml']")
    expect(prod_values.locator(".file-status")).to_have_text("새 파일")
    expect(prod_values).to_contain_text("shop.example.com")
    expect(page.locator("#commit")).to_be_enabled()
    expect(prod_values.locator("code.hljs .hljs-attr").first).to_be_visible()  # YAML keys coloured
    expect(page.locator("#app-files code.language-groovy .hljs-keyword").first).to_be_attached()
    assert SECRET not in page.content()
    page.screenshot(path=str(artifacts / "delivery-review.png"))

    page.fill("#why", "첫 배포 구성")
    page.click("#commit")
    expect(page.locator("#operation")).to_have_attribute("data-state", "succeeded")
    sha = page.locator(".commit-sha").first.get_attribute("title")
    assert sha and len(sha) == 40
    expect(page.locator("#operation-commits")).to_contain_text("shop-mall/shop/chart/Chart.yaml")
    page.screenshot(path=str(artifacts / "delivery-commit.png"), full_page=True)

    page.click("#open-history")
    commit = page.locator(f".history-commit[data-sha='{sha}']")
    expect(commit).to_contain_text("Timbel 작업")
    expect(commit).to_contain_text("ops.choi")
    commit.click()
    expect(page.locator("#commit-diff")).to_contain_text("+++ b/shop-mall/shop/envs/prod/values.yaml")
    expect(page.locator("#commit-diff .diff-add").first).to_be_visible()
    assert SECRET not in page.content()
    page.screenshot(path=str(artifacts / "delivery-history.png"))

    bare = gitops_service.embedded_path(app.state.settings)
    assert bare.is_relative_to(app.state.settings.data_dir.resolve())

    # What the user finds in the GitOps repository: the layout, and charts that render for every environment.
    checkout = tmp_path / "gitops-checkout"
    subprocess.run(["git", "clone", "-q", str(bare), str(checkout)], check=True, capture_output=True)
    found = {
        p.relative_to(checkout).as_posix(): p.read_text(encoding="utf-8")
        for p in checkout.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(checkout).parts
    }
    assert {"README.md", "argocd/projects/shop-mall.yaml", "shop-mall/shop/argocd/prod.yaml"} <= set(found)
    with app.state.session_factory() as session:
        draft = session.scalars(select(DeliveryDraft)).one()
        plan = DeliveryPlan.model_validate(draft.plan)
    files = [
        GeneratedFile(path=path, content=text, target="gitops", kind="chart")
        for path, text in found.items()
        if path != "README.md"
    ]
    assert validate_gitops_files(files, plan=plan) == []
