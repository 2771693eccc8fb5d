"""Issue 7's "done when", in headless Chromium with a real job consumer: a ``git push`` to the loopback git
server, delivered as a signed GitHub webhook to the running Timbel, starts exactly one run on the local
runner; an operator opens it from the pipeline list and follows its live log to 성공 while the tests run."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select

from tests.conftest import MakeUser, empty_all_tables
from tests.fakes.github import signed_delivery
from tests.pipelines.test_push_e2e import _payload, _push_a_commit, git_server  # noqa: F401  (fixture)
from tests.pipelines.test_triggers_support import HOOK_SECRET
from tests.servers.git_http import GitHttpServer
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page
from timbel.app import create_app
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.settings import AnalysisSettings, JobSettings, Settings
from timbel.integrations import service as integrations_service
from timbel.integrations.base import IntegrationKind
from timbel.integrations.schemas import IntegrationCreate
from timbel.pipelines import pipeline_service
from timbel.pipelines.run_models import PipelineRun
from timbel.pipelines.template_seeds import ensure_seeds

pytestmark = pytest.mark.browser
PASSWORD = "Cedar-Lantern-4417"
CTX = AuditContext(actor_name="test")
STAGES = [
    {"name": "checkout", "kind": "checkout"},
    # The tests' output first, a pause the browser can watch through, then the end of the stage.
    {"name": "unit-tests", "kind": "test", "command": "python3 run_tests.py\nsleep 3\necho 검증 단계 끝"},
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback git allow-listed by the admin; jobs through a real queue consumed in the app's process."""
    return settings.model_copy(
        update={
            "analysis": AnalysisSettings(allowed_hosts=("127.0.0.0/8",)),
            "jobs": JobSettings(immediate=False, embedded_consumer=True, workers=1),
        }
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app with its in-process job consumer (started by the live server's lifespan)."""
    application = create_app(settings, run_jobs=True)
    try:
        yield application
    finally:
        empty_all_tables(application.state.engine)
        application.state.engine.dispose()


def _run_count(app: FastAPI) -> int:
    with session_scope(app.state.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(PipelineRun)) or 0)


def test_a_push_starts_one_run_whose_live_log_ends_green(
    browser: Browser,
    live_server: LiveServer,
    app: FastAPI,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    git_server: GitHttpServer,  # noqa: F811
    tmp_path: Path,
    artifacts: Path,
) -> None:
    base = live_server.url
    domain_id = make_domain("acme")
    system_id = make_system(
        domain_id, "shop", name="쇼핑몰", repo_url=git_server.url_for("shop"), default_branch="main"
    )
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
        integrations_service.create(
            session, settings=app.state.settings, ctx=CTX,
            data=IntegrationCreate(
                kind=IntegrationKind.github, name="ghe", base_url="https://ghe.example.com/api/v3",
                secrets={"token": "ghp-browser-token", "webhook_secret": HOOK_SECRET},
            ),
        )  # fmt: skip
        system = session.get(System, system_id)
        assert system is not None
        pipeline = pipeline_service.create_for_system(
            session, system=system, ctx=CTX, template_key="python-fastapi", engine="local"
        )
        pipeline_service.update(session, pipeline=pipeline, data={"stages": STAGES}, ctx=CTX)
    make_user("ops.kim", roles=("operations",), password=PASSWORD, domain_ids=(domain_id,))

    before, after = _push_a_commit(git_server, tmp_path / "work")
    payload = _payload(git_server, ref="refs/heads/main", before=before, after=after)
    body, headers = signed_delivery(payload, secret=HOOK_SECRET, delivery_id=str(uuid.uuid4()))
    answer = httpx.post(f"{base}/hooks/github", content=body, headers=headers, timeout=10)
    assert answer.status_code == 202, answer.text
    assert httpx.post(f"{base}/hooks/github", content=body, headers=headers, timeout=10).json()["duplicate"]

    page = new_page(browser)
    try:
        sign_in(page, base, "ops.kim", PASSWORD)
        page.goto(f"{base}/pipelines")
        expect(page.locator("#pipeline-shop .last-run")).to_contain_text("#1", timeout=20_000)
        page.click("#pipeline-shop .last-run a")
        expect(page).to_have_url(re.compile(re.escape(base) + r"/pipelines/runs/[0-9a-f-]{36}$"))
        log = page.locator("#run-log")
        expect(log).to_contain_text("Ran 3 tests", timeout=30_000)
        expect(page.locator("#run-state")).to_have_text("실행 중")  # still sleeping: the log is live
        page.screenshot(path=str(artifacts / "pipeline-push-live.png"), full_page=True)
        expect(page.locator("#run-state")).to_have_text("성공", timeout=30_000)
        expect(log).to_contain_text("검증 단계 끝")
        expect(page.locator("#run-trigger")).to_have_text("푸시")
        expect(page.locator("#run-commit")).to_have_text(after[:12])
        page.screenshot(path=str(artifacts / "pipeline-push-done.png"), full_page=True)
    finally:
        page.context.close()
    assert _run_count(app) == 1  # the redelivery started nothing
