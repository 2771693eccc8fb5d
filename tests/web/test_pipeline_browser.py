"""A pipeline run in headless Chromium with a real job consumer: an operations user starts a run from the
pipeline list and follows its log live; the log grows while the page stays (Server-Sent Events through the
HTMX extension), ANSI colours show, and the state badge turns 성공 when the engine finishes.

The engine is a stub registered for the test that stops in the middle of its test stage until the test opens
a gate, so "the log appears progressively" is observed, not assumed."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from tests.conftest import MakeUser, empty_all_tables
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page
from timbel.app import create_app
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.settings import JobSettings, Settings
from timbel.pipelines import pipeline_service
from timbel.pipelines.engine_base import RunEvents, RunOutcome, RunSpec, RunState, StageState
from timbel.pipelines.engines import EngineContext, register_engine, unregister_engine
from timbel.pipelines.template_seeds import ensure_seeds

pytestmark = pytest.mark.browser
PASSWORD = "Amber-Kettle-5830"
ENGINE = "gated"


@dataclass
class GatedEngine:
    """Runs every stage at once, except that the second stage waits for ``gate`` after its first line."""

    name: str = ENGINE
    gate: threading.Event = field(default_factory=threading.Event)
    waiting: threading.Event = field(default_factory=threading.Event)

    def execute(self, spec: RunSpec, events: RunEvents, *, workspace_root: Path) -> RunOutcome:
        for stage in spec.stages:
            events.stage_started(stage.index)
            events.log(f"\x1b[32m▶ {stage.name}\x1b[0m 단계 시작\n", stage_index=stage.index)
            if stage.index == 1:
                events.log("테스트 실행 중…\n", stage_index=stage.index)
                self.waiting.set()
                if not self.gate.wait(30):
                    events.stage_finished(stage.index, state=StageState.failed, reason="gate closed")
                    return RunOutcome(RunState.failed, "the test never opened the gate")
                events.log("테스트 12개 통과\n", stage_index=stage.index)
            events.stage_finished(stage.index, state=StageState.succeeded, exit_code=0)
        events.artifact("junit", {"tests": 12, "failures": 0, "errors": 0, "skipped": 0, "cases": []})
        events.log("\x1b[1m모든 단계 완료\x1b[0m\n")
        return RunOutcome(RunState.succeeded, "", commit="1234abcd" * 5)

    def resume(self, spec: RunSpec, events: RunEvents, *, engine_ref: Mapping[str, Any]) -> RunOutcome | None:
        return None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Jobs through a real queue, consumed in the app's process while the browser watches."""
    return settings.model_copy(
        update={"jobs": JobSettings(immediate=False, embedded_consumer=True, workers=1)}
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    """The app with its in-process job consumer running (started by the live server's lifespan)."""
    application = create_app(settings, run_jobs=True)
    try:
        yield application
    finally:
        empty_all_tables(application.state.engine)
        application.state.engine.dispose()


@pytest.fixture
def engine() -> Iterator[GatedEngine]:
    gated = GatedEngine()

    def factory(ctx: EngineContext) -> GatedEngine:
        return gated

    register_engine(ENGINE, factory)
    try:
        yield gated
    finally:
        gated.gate.set()  # never leave the worker waiting
        unregister_engine(ENGINE)


def test_an_operator_starts_a_run_and_follows_its_log_to_success(
    browser: Browser,
    live_server: LiveServer,
    app: FastAPI,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    engine: GatedEngine,
    artifacts: Path,
) -> None:
    base = live_server.url
    domain_id = make_domain("shop-mall")
    system_id = make_system(domain_id, "shop-api", name="쇼핑몰 API", repo_url="https://git.test/shop.git")
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
        system = session.get(System, system_id)
        assert system is not None
        pipeline_service.create_for_system(
            session,
            system=system,
            ctx=AuditContext(actor_name="test"),
            template_key="python-fastapi",
            engine=ENGINE,
        )
    make_user("ops.lee", roles=("operations",), password=PASSWORD, domain_ids=(domain_id,))

    page = new_page(browser)
    try:
        sign_in(page, base, "ops.lee", PASSWORD)
        page.click("a.nav-link:has-text('파이프라인')")
        expect(page).to_have_url(f"{base}/pipelines")
        expect(page.locator("#pipeline-shop-api")).to_contain_text("실행 기록 없음")
        page.click("#run-shop-api")

        expect(page).to_have_url(re.compile(re.escape(base) + r"/pipelines/runs/[0-9a-f-]{36}$"))
        log = page.locator("#run-log")
        expect(log).to_contain_text("테스트 실행 중…", timeout=20_000)
        assert engine.waiting.is_set()
        expect(page.locator("#run-state")).to_have_attribute("data-state", "running")
        expect(page.locator("#run-state")).to_have_text("실행 중")
        expect(log).not_to_contain_text("테스트 12개 통과")
        expect(log.locator(".ansi-green").first).to_be_visible()
        expect(page.locator("#stage-1")).to_have_attribute("data-state", "running", timeout=10_000)
        page.evaluate("window.__samePage = true")  # a reload would lose this
        page.click("#log-follow")
        expect(page.locator("#log-follow")).to_have_text("따라가기")
        page.click("#log-follow")
        expect(page.locator("#log-follow")).to_have_text("일시정지")
        page.screenshot(path=str(artifacts / "pipeline-run-live.png"), full_page=True)

        engine.gate.set()
        expect(log).to_contain_text("테스트 12개 통과", timeout=20_000)
        expect(log).to_contain_text("모든 단계 완료")
        expect(page.locator("#run-state")).to_have_text("성공", timeout=20_000)
        expect(page.locator("#run-state")).to_have_attribute("data-state", "succeeded")
        assert page.evaluate("window.__samePage") is True
        expect(page.locator("#run-test-totals")).to_contain_text("12")
        expect(page.locator("#run-commit")).to_have_text("1234abcd1234")
        assert log.inner_text().count("테스트 실행 중…") == 1  # nothing appended twice
        page.screenshot(path=str(artifacts / "pipeline-run-done.png"), full_page=True)

        page.goto(f"{base}/pipelines")
        expect(page.locator("#pipeline-shop-api .last-run")).to_contain_text("성공")
        page.screenshot(path=str(artifacts / "pipeline-list.png"), full_page=True)
        page.goto(f"{base}/catalog/systems/{system_id}")
        expect(page.locator("#system-recent-runs")).to_contain_text("#1")
    finally:
        page.context.close()
