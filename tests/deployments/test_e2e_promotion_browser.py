"""The whole promotion in Chromium, with a real job consumer, the fake Argo CD and the real GitOps repository.

An operator cuts a release with image digests, deploys it to dev, promotes it to stg and asks for prod; an
executive approves in their own session; the matrix shows the same digests in all three environments. Then a
bad release (its image never gets healthy) deployed to stg rolls itself back, the operations mailbox gets
the notice, and every step is a readable commit in the GitOps repository.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MakeUser, empty_all_tables
from tests.deployments._exec_support import TOKEN, GitArgoCD, git
from tests.fakes.argocd import DEFAULT_NAMESPACE
from tests.fakes.server import serve
from tests.servers.smtp import SmtpSink, smtp_sink
from tests.web.conftest import LiveServer, artifacts, browser, live_server  # noqa: F401 (fixtures)
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page
from timbel.app import create_app
from timbel.audit.service import AuditContext
from timbel.core.db import session_scope
from timbel.core.settings import JobSettings, Settings
from timbel.deployments import service
from timbel.gitops import service as gitops
from timbel.integrations import service as integrations
from timbel.integrations.schemas import IntegrationCreate

pytestmark = pytest.mark.browser
PASSWORD = "Cobalt-Lantern-2291"
API_DIGEST = "sha256:" + "a1" * 32
WEB_DIGEST = "sha256:" + "b2" * 32
BROKEN_TAG = "2.0.0"  # the bad release's image: synced fine, never healthy (a crash loop)
STATE_TIMEOUT = 30_000


class CrashLoopArgoCD(GitArgoCD):
    """The fake Argo CD; an application whose synced values run the broken image stays Degraded."""

    def _finish(self, app: dict[str, Any], state: dict[str, Any]) -> None:
        super()._finish(app, state)
        if state.get("phase") != "Succeeded":
            return
        source = app["spec"]["source"]
        env = app["metadata"]["name"].rsplit("-", 1)[1]
        values = git("show", f"{state['syncResult']['revision']}:acme/shop/envs/{env}/values.yaml",
                     cwd=Path(source["repoURL"]))  # fmt: skip
        if re.search(rf"tag: ['\"]?{re.escape(BROKEN_TAG)}\b", values):
            app["status"]["health"] = {
                "status": "Degraded",
                "message": "Back-off restarting failed container",
            }


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Jobs through a real queue, consumed in the app's process while the browser watches."""
    settings = settings.model_copy(
        update={"jobs": JobSettings(immediate=False, embedded_consumer=True, workers=2)}
    )
    settings.deployments.poll_seconds = 0.05
    settings.deployments.dashboard_poll_seconds = 0.2
    return settings


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
def mailbox() -> Iterator[SmtpSink]:
    """The operations team's mailbox (a real SMTP server on loopback)."""
    with smtp_sink() as sink:
        yield sink


def _wire_targets(app: FastAPI, *, domain_id: str, argo_url: str, fake: GitArgoCD, mailbox: SmtpSink) -> str:
    """Every environment of the domain deploys through Argo CD; ops mail subscribes to deployments."""
    settings, ctx = app.state.settings, AuditContext(actor_name="test")
    with session_scope(app.state.session_factory) as session:
        argo = integrations.create(
            session, settings=settings, ctx=ctx,
            data=IntegrationCreate(kind="argocd", name="argo", base_url=argo_url,  # type: ignore[arg-type]
                                   options={"project": "default"}, secrets={"token": TOKEN}),  # type: ignore[dict-item]
        )  # fmt: skip
        mail = (
            f"mailto://{mailbox.host}:{mailbox.port}?mode=insecure&from=timbel@example.com&to=ops@example.com"
        )
        integrations.create(
            session, settings=settings, ctx=ctx,
            data=IntegrationCreate(kind="notify", name="ops-mail", base_url="https://mail.example.com",  # type: ignore[arg-type]
                                   options={"events": ["deployment"]}, secrets={"url": mail}),  # type: ignore[dict-item]
        )  # fmt: skip
        for env in service.environments_for(session, domain_id=domain_id):
            env.target_kind, env.argocd_integration_id = "argocd", argo.id
            env.health_timeout_seconds, env.verify_window_seconds = 15, 1
            repo_url = gitops.repository_for(
                session, settings=settings, domain_id=domain_id, env=env.name
            ).url
            fake.apps[(DEFAULT_NAMESPACE, f"acme-shop-{env.name}")] = {
                "metadata": {"name": f"acme-shop-{env.name}", "namespace": DEFAULT_NAMESPACE},
                "spec": {"project": "default", "source": {"repoURL": repo_url, "targetRevision": "main",
                                                          "path": "acme/shop/chart"},
                         "destination": {"server": "https://kubernetes.default.svc",
                                         "namespace": f"acme-shop-{env.name}"}},
                "status": {"sync": {"status": "OutOfSync", "revision": ""}, "health": {"status": "Missing"},
                           "history": []},
            }  # fmt: skip
        return repo_url


def _state(page: Page, state: str) -> None:
    """Wait on a deployment's page until its state badge (updated live) shows ``state``."""
    expect(page).to_have_url(re.compile(r".*/deployments/[0-9a-f-]{36}$"))
    expect(page.locator("#deployment-state")).to_have_attribute("data-state", state, timeout=STATE_TIMEOUT)


def _cut_release(page: Page, base: str, system_id: str, version: str, images: str) -> None:
    page.goto(f"{base}/systems/{system_id}/releases/new")
    page.fill("#version", version)
    page.fill("#source_commit", "9f" * 20)
    page.fill("#images", images)
    page.click("#create-release")
    expect(page).to_have_url(re.compile(r".*/releases/[0-9a-f-]{36}$"))


def _deploy(page: Page, base: str, system_id: str, env: str, version: str, reason: str) -> None:
    page.goto(f"{base}/systems/{system_id}/deploy")
    page.select_option("#env", env)
    page.select_option("#release", version)
    page.fill("#reason", reason)
    page.click("#deploy-submit")


def _digests(page: Page, env: str) -> list[str]:
    return page.locator(f'[data-cell="shop:{env}"] [title^="sha256:"]').evaluate_all(
        "els => els.map(e => e.title)"
    )


def _wait_for_mail(mailbox: SmtpSink, needle: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for mail in mailbox.messages:
            text = f"{mail.message['Subject']}\n{mail.message.get_payload(decode=False)}"
            if needle in text:
                return text
        time.sleep(0.1)
    raise AssertionError(f"no mail containing {needle!r}: {[m.message['Subject'] for m in mailbox.messages]}")


def test_operator_promotes_to_prod_with_approval_and_a_bad_release_rolls_back(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,  # noqa: F811
    app: FastAPI,
    make_user: MakeUser,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    mailbox: SmtpSink,
    artifacts: Path,  # noqa: F811
) -> None:
    base = live_server.url
    fake = CrashLoopArgoCD(tokens={TOKEN: "admin"})
    with serve(fake.asgi()) as argo:
        domain_id = make_domain("acme")
        system_id = make_system(domain_id, "shop", name="쇼핑몰")
        repo = Path(
            _wire_targets(app, domain_id=domain_id, argo_url=argo.base_url, fake=fake, mailbox=mailbox)
        )
        make_user("kim.ops", roles=("operations",), password=PASSWORD, domain_ids=(domain_id,))
        make_user("park.exec", roles=("executive",), password=PASSWORD, domain_ids=(domain_id,))

        ops = new_page(browser)
        sign_in(ops, base, "kim.ops", PASSWORD)
        images = (
            f"api=registry.example.com/acme/shop-api:1.4.0@{API_DIGEST}\n"
            f"web=registry.example.com/acme/shop-web:1.4.0@{WEB_DIGEST}"
        )
        _cut_release(ops, base, system_id, "1.4.0", images)

        _deploy(ops, base, system_id, "dev", "1.4.0", "first release of the new checkout")
        _state(ops, "succeeded")
        expect(ops.locator("#deployment-health")).to_contain_text("정상 확인됨")

        ops.goto(f"{base}/systems/{system_id}/promote?to=stg")
        expect(ops.locator('#promotion-checklist [data-key="previous_healthy"]')).to_have_attribute(
            "data-status", "pass"
        )
        expect(ops.locator('#promotion-checklist [data-key="no_freeze"]')).to_have_attribute(
            "data-status", "pass"
        )
        ops.screenshot(path=str(artifacts / "e2e-01-promote-checklist.png"), full_page=True)
        ops.fill("#reason", "QA signed off in dev")
        ops.click("#promote-submit")
        _state(ops, "succeeded")

        ops.goto(f"{base}/systems/{system_id}/promote?to=prod")
        ops.fill("#reason", "release train 48")
        ops.click("#promote-submit")
        _state(ops, "pending_approval")
        asked = ops.url.rsplit("/", 1)[1]

        # the requester cannot approve it; the executive can, in their own session
        ops.goto(f"{base}/approvals")
        expect(ops.locator(f"#approval-{asked}")).to_have_count(0)
        executive = new_page(browser)
        sign_in(executive, base, "park.exec", PASSWORD)
        executive.goto(f"{base}/approvals")
        card = executive.locator(f"#approval-{asked}")
        expect(card).to_contain_text("1.4.0")
        expect(card).to_contain_text("kim.ops")
        executive.screenshot(path=str(artifacts / "e2e-02-approval.png"), full_page=True)
        card.locator("input[name=comment]").fill("ok for the evening window")
        card.locator("button:has-text('승인')").click()
        _state(executive, "succeeded")

        ops.goto(f"{base}/deployments")
        for env in ("dev", "stg", "prod"):
            expect(ops.locator(f'[data-cell="shop:{env}"] [data-version]')).to_have_text("1.4.0")
            assert _digests(ops, env) == [API_DIGEST, WEB_DIGEST], env
        ops.screenshot(path=str(artifacts / "e2e-03-matrix-same-digest.png"), full_page=True)
        ops.goto(f"{base}/catalog/systems/{system_id}")  # the first success in prod advanced the stage
        expect(ops.locator("#system-facts dd").first).to_have_text("운영 환경")

        # a bad release in stg: synced, never healthy → rolled back to 1.4.0 by itself, ops notified
        bad = images.replace("1.4.0@", f"{BROKEN_TAG}@").replace("a1", "c3").replace("b2", "d4")
        _cut_release(ops, base, system_id, BROKEN_TAG, bad)
        _deploy(ops, base, system_id, "stg", BROKEN_TAG, "hotfix for the cart")
        _state(ops, "rolled_back")
        expect(ops.locator("#deployment-outcome")).to_contain_text("Degraded")
        ops.screenshot(path=str(artifacts / "e2e-04-rolled-back.png"), full_page=True)
        mail = _wait_for_mail(mailbox, "stg 롤백: 1.4.0")
        assert "쇼핑몰" in mail
        ops.goto(f"{base}/deployments")
        expect(ops.locator('[data-cell="shop:stg"] [data-version]')).to_have_text(
            "1.4.0", timeout=STATE_TIMEOUT
        )
        assert _digests(ops, "stg") == [API_DIGEST, WEB_DIGEST]
        assert fake.app_of("acme-shop-stg")["status"]["health"]["status"] == "Healthy"

    log = git("log", "--format=%s%n%b%x00", "main", "--", "acme/shop/envs", cwd=repo)
    messages = [m.strip() for m in log.split("\x00") if m.strip()]
    subjects = [m.splitlines()[0] for m in messages]
    assert subjects == [
        "Automatic rollback of shop stg to 1.4.0",
        f"Deploy shop {BROKEN_TAG} to stg",
        "Promote shop 1.4.0 from stg to prod",
        "Promote shop 1.4.0 from dev to stg",
        "Deploy shop 1.4.0 to dev",
    ]
    assert "park.exec" in messages[2] and "ok for the evening window" in messages[2]
    assert "Requested-by: kim.ops" in messages[2]
    assert "Requested-by: timbel" in messages[0]
