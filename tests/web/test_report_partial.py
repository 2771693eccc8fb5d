"""The analysis report partial shows what a user needs, in Korean and English, with report text escaped."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.analysis._analyze_fixture import FILES, build_fastapi_repo
from timbel.analysis import report_labels
from timbel.analysis.analyzer import analyze_path
from timbel.analysis.readiness import WEIGHTS
from timbel.analysis.schema import SourceInfo
from timbel.web import i18n
from timbel.web.templating import environment

TEMPLATE = "analysis/_report.html"
SECTIONS = (
    "report-summary", "report-services", "report-readiness", "report-languages", "report-git",
    "report-knowledge", "report-delivery", "report-problems",
)  # fmt: skip
# An unpinned base image fails one readiness check; everything else in the fixture passes.
UNPINNED = FILES["Dockerfile"].replace("FROM python:3.11-slim", "FROM python")
SCRIPT_TITLE = "<script>alert(1)</script> Guide"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = build_fastapi_repo(
        tmp_path_factory.mktemp("report") / "shop",
        extra={"Dockerfile": UNPINNED, "docs/guide.md": f"# {SCRIPT_TITLE}\n\nHow to use the shop.\n"},
    )
    analysed = analyze_path(root, source=SourceInfo(path=str(root)))
    return analysed.model_dump(mode="json", by_alias=True)


def render(report: dict[str, Any], locale: str) -> str:
    i18n.load_catalogs(("ko", "en"))
    with i18n.use_locale(locale):
        return environment.get_template(TEMPLATE).render(report=report, labels=report_labels)


def section(html: str, section_id: str) -> str:
    """The HTML from a section's opening tag to the next report section (or the end)."""
    start = html.index(f'id="{section_id}"')
    following = [html.find(f'id="{other}"', start + 1) for other in SECTIONS if other != section_id]
    following = [at for at in following if at > start]
    return html[start : min(following, default=len(html))]


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_korean_report_shows_service_port_evidence_and_fix_hint(report: dict[str, Any]) -> None:
    html = render(report, "ko")

    summary = section(html, "report-summary")
    commit = report["source"]["commit"]
    assert f'title="{commit}"' in summary and commit[:12] in text(summary)
    assert "준비도" in text(summary) and 'id="report-score"' in summary

    services = section(html, "report-services")
    row = text(services)
    assert "shop-api" in row and "API 서버" in row
    port_cell = text(services[services.index('class="service-port">') + 21 :].split("</td>")[0])
    assert port_cell.startswith("8000 근거")
    assert "Dockerfile:7 — Dockerfile EXPOSE 8000" in port_cell
    assert "<code>uvicorn app.main:app --host 0.0.0.0 --port 8000</code>" in services
    assert "/health" in row and 'title="pyproject.toml:5 — dependency psycopg"' in services

    readiness = section(html, "report-readiness")
    failed = readiness[readiness.index('data-check="dockerfile_pinned_base"') :]
    failed = failed[: failed.index("readiness-check", 1)]
    assert 'data-ok="false"' in failed
    assert "기본 이미지" in text(failed)  # the translated title
    korean_hint = "latest나 태그 없는 이미지 대신 python:3.11-slim 같은 고정 태그나 다이제스트를 사용하세요."
    assert f"해결 방법 {korean_hint}" in text(failed)
    assert 'data-check="readme" data-ok="true"' in readiness
    assert "check-hint" not in readiness[readiness.index('data-check="readme"') :].split("readiness-check")[0]

    knowledge = section(html, "report-knowledge")
    assert "Shop API" in text(knowledge) and "README.md" in knowledge
    assert "재사용 점수" in knowledge

    assert "Python" in text(section(html, "report-languages"))
    assert "deploy/k8s/deployment.yaml" in section(html, "report-delivery")
    assert 'id="git-contributors">1<' in section(html, "report-git")
    assert 'id="report-problems"' not in html


def test_report_text_is_escaped(report: dict[str, Any]) -> None:
    titles = [d["title"] for d in report["knowledge"]["documents"]]
    assert SCRIPT_TITLE in titles
    html = render(report, "ko")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Guide" in section(html, "report-knowledge")


def test_unknown_check_falls_back_to_the_report_hint(report: dict[str, Any]) -> None:
    changed = {**report, "readiness": {**report["readiness"]}}
    changed["readiness"]["checks"] = [
        *report["readiness"]["checks"],
        {"id": "sbom", "ok": False, "weight": 0, "detail": "No SBOM.", "hint": "Publish an <SBOM>."},
    ]
    changed["problems"] = [{"file": "package.json", "message": "Expecting value: line 1 column 1"}]
    html = render(changed, "ko")
    unknown = section(html, "report-readiness").split('data-check="sbom"')[1]
    assert "Publish an &lt;SBOM&gt;." in unknown
    assert "package.json" in section(html, "report-problems")


def test_english_report(report: dict[str, Any]) -> None:
    html = render(report, "en")
    assert "Deployment readiness" in text(section(html, "report-summary"))
    assert "API server" in text(section(html, "report-services"))
    readiness = text(section(html, "report-readiness"))
    assert "Base images have fixed tags" in readiness
    assert report_labels.CHECKS["dockerfile_pinned_base"][1] in readiness
    assert "Reuse score" in text(section(html, "report-knowledge"))


def test_empty_services_and_long_lists(report: dict[str, Any]) -> None:
    document = report["knowledge"]["documents"][0]
    changed = {**report, "services": [], "knowledge": {**report["knowledge"], "documents": [document] * 53}}
    html = render(changed, "en")
    assert 'id="no-services"' in section(html, "report-services")
    documents = section(html, "report-knowledge").split('id="knowledge-documents"')[1]
    documents = documents.split('id="knowledge-design-assets"')[0]
    assert documents.count('class="document-row"') == 50
    assert "and 3 more" in text(documents)


def test_labels_cover_every_check() -> None:
    assert set(report_labels.CHECKS) == set(WEIGHTS)
