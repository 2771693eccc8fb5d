"""The issue's "done when", in headless Chromium (Korean): an administrator adds a Jenkins, a registry, an
Argo CD, a GitHub, a cluster, a Prometheus and a Slack channel through the generated forms, tests each
connection and sees 연결 성공 — against the real registry and Prometheus, the fakes of Jenkins, Argo CD,
GitHub and Slack, and kmock for Kubernetes, all on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from apprise.plugins.slack import NotifySlack
from playwright.sync_api import Browser, Page, expect

from tests.conftest import MakeUser
from tests.fakes.argocd import FakeArgoCD
from tests.fakes.github import FakeGitHub, github_app
from tests.fakes.jenkins import JenkinsState
from tests.fakes.jenkins import create_app as jenkins_app
from tests.fakes.server import serve
from tests.fakes.slack import slack_app
from tests.servers.docker_registry import start_docker_registry
from tests.servers.kube import start_kube_emulator
from tests.servers.prometheus import start_prometheus
from tests.web.conftest import LiveServer
from tests.web.test_browser import sign_in
from tests.web.test_catalog_browser import new_page

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "Granite-Harbor-7315"
ARGO_TOKEN = "argo-account-token-browser-3c1d"
GITHUB_TOKEN = "ghp_browser-token-8e2a"
KUBE_TOKEN = "kube-browser-token-51f0"
SLACK_SECRET = "XbrowserSlackSecret41"


@dataclass(frozen=True)
class Systems:
    """Base URLs of everything the admin connects to, and the Jenkins credentials."""

    jenkins: str
    jenkins_user: str
    jenkins_token: str
    registry: str
    argocd: str
    github: str
    kube: str
    prometheus: str
    slack: str


@pytest.fixture
def systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Systems]:
    """Start every real server and fake on loopback; Slack's fixed address points at the Slack fake."""
    with ExitStack() as stack:
        jenkins_state = JenkinsState()
        jenkins = stack.enter_context(serve(jenkins_app(jenkins_state)))
        argocd = stack.enter_context(serve(FakeArgoCD(users={}, tokens={ARGO_TOKEN: "timbel-bot"}).asgi()))
        github_state = FakeGitHub(token=GITHUB_TOKEN)
        github = stack.enter_context(serve(github_app(github_state)))
        github_state.base_url = github.base_url
        slack = stack.enter_context(serve(slack_app()))
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{slack.base_url}/services")
        registry = start_docker_registry(tmp_path / "registry")
        stack.callback(registry.stop)
        prometheus = start_prometheus(tmp_path / "prometheus")
        stack.callback(prometheus.stop)
        kube = start_kube_emulator()
        stack.callback(kube.stop)
        yield Systems(
            jenkins=jenkins.base_url, jenkins_user=jenkins_state.username,
            jenkins_token=jenkins_state.api_token,
            registry=registry.url, argocd=argocd.base_url, github=github.base_url, kube=kube.url,
            prometheus=prometheus.url, slack=slack.base_url,
        )  # fmt: skip


def add_and_test(page: Page, base: str, *, kind: str, name: str, url: str, fields: dict[str, str]) -> None:
    """Add one instance through the generated form, test its connection and expect 연결 성공."""
    page.goto(f"{base}/admin/integrations")
    page.select_option("#kind", kind)
    page.click("#add-integration-button")
    expect(page.locator("h1.page-title")).to_have_text("연동 추가")
    page.fill("#name", name)
    page.fill("#base_url", url)
    for selector, value in fields.items():
        page.fill(selector, value)
    page.click("#save-integration")
    expect(page.locator("#flash")).to_have_text("연동을 추가했습니다.")
    page.click("#integration-health button:has-text('연결 테스트')")
    expect(page.locator("h1.page-title")).to_have_text(f"연결 테스트: {name}")
    expect(page.locator("#report-overall")).to_have_text("연결 성공")
    expect(page.locator("#report-checks .check-failed")).to_have_count(0)


def test_admin_connects_every_kind_of_system(
    browser: Browser, live_server: LiveServer, make_user: MakeUser, systems: Systems, artifacts: Path
) -> None:
    base = live_server.url
    make_user("admin.park", roles=("admin",), password=ADMIN_PASSWORD)
    page = new_page(browser)
    sign_in(page, base, "admin.park", ADMIN_PASSWORD)
    slack_url = f"slack://T0TIMBEL1/B0TIMBEL2/{SLACK_SECRET}"
    instances = [
        ("jenkins", "jenkins-main", systems.jenkins,
         {"#opt-username": systems.jenkins_user, "#secret-api_token": systems.jenkins_token}),
        ("registry", "harbor", systems.registry, {}),
        ("argocd", "argocd-main", systems.argocd, {"#secret-token": ARGO_TOKEN}),
        ("github", "github-company", systems.github, {"#secret-token": GITHUB_TOKEN}),
        ("kubernetes", "cluster-dev", systems.kube, {"#secret-token": KUBE_TOKEN}),
        ("prometheus", "prometheus-main", systems.prometheus, {}),
        ("notify", "slack-ops", "https://hooks.slack.com", {"#secret-url": slack_url}),
    ]  # fmt: skip
    for kind, name, url, fields in instances:
        add_and_test(page, base, kind=kind, name=name, url=url, fields=fields)

    page.goto(f"{base}/admin/integrations")
    for _, name, _, _ in instances:
        expect(page.locator(f"#integration-{name}")).to_contain_text("정상")
    page.screenshot(path=str(artifacts / "integrations-every-kind.png"), full_page=True)
    content = page.content()
    for secret in (systems.jenkins_token, ARGO_TOKEN, GITHUB_TOKEN, KUBE_TOKEN, SLACK_SECRET):
        assert secret not in content
