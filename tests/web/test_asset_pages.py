"""Pages of components, documents and design assets: lists, forms with errors, markdown preview, uploads
(also through the project documents panel), downloads, version diffs, usage counts and domain scoping."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from tests.catalog.test_documents_api import PDF, make_project
from tests.conftest import MakeUser
from tests.web.conftest import LiveServer, page_token, post_form, sign_in
from timbel.core.settings import CatalogSettings, Settings

LIMIT = 4096
BROWSER_PASSWORD = "Copper-Harbor-7731"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings with a small upload limit."""
    return settings.model_copy(update={"catalog": CatalogSettings(max_upload_bytes=LIMIT)})


def upload_form(
    client: TestClient, path: str, data: dict[str, str], file: tuple[str, bytes, str], *, token_from: str
) -> object:
    """Submit a multipart page form with its CSRF token as the ``csrf_token`` field."""
    token = page_token(client, token_from)
    return client.post(path, data={**data, "csrf_token": token}, files={"file": file}, follow_redirects=False)


class TestComponentPages:
    def test_create_with_errors_edit_diff_reuse_and_scoping(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb = make_domain("kb-bank")
        system_id = make_system(kb, "kb-pay", name="KB 결제")
        sign_in(client, make_user(roles=("operations",), domain_ids=(kb,)))
        new = "/catalog/components/new"
        assert "시스템을 선택하세요" in client.get(new).text
        form = {"system_id": system_id, "name": "결제 위젯", "kind": "ui", "language": "TypeScript"}
        bad_sha = post_form(client, new, {**form, "commit_sha": "xyz"}, token_from=new)
        assert bad_sha.status_code == 422 and "16진수 7~64자를 입력하세요" in bad_sha.text
        created = post_form(client, new, {**form, "description": "첫 줄\n둘째 줄"}, token_from=new)
        assert created.status_code == 303
        url = created.headers["location"]
        detail = client.get(url).text
        assert "컴포넌트를 등록했습니다" in detail and "KB 결제" in detail
        duplicate = post_form(client, new, form, token_from=new)
        assert "이 시스템에 같은 이름의 컴포넌트가 이미 있습니다" in duplicate.text
        edited = post_form(
            client, url + "/edit", {**form, "description": "첫 줄\n바뀐 줄"}, token_from=url + "/edit"
        )
        assert edited.status_code == 303
        diff = client.get(url, params={"from": 1, "to": 2}).text
        assert 'class="d-block diff-removed bg-red-lt">-둘째 줄' in diff
        assert 'class="d-block diff-added bg-green-lt">+바뀐 줄' in diff
        reused = post_form(client, url + "/reuse", {}, token_from=url)
        assert reused.status_code == 303
        page = client.get(url).text
        assert "이 컴포넌트의 재사용을 기록했습니다" in page
        assert '<div class="h1 m-0" id="usage-reuses">1</div>' in page
        listing = client.get("/catalog/components", params={"system_id": system_id, "kind": "ui"}).text
        assert "결제 위젯" in listing and "컴포넌트 1개" in listing
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(make_domain("samsung"),)))
        assert "표시할 컴포넌트가 없습니다" in client.get("/catalog/components").text
        assert client.get(url).status_code == 404


class TestDocumentPages:
    def test_markdown_document_with_preview_and_sanitized_view(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        kb = make_domain("kb-bank")
        project_id = make_project(app, kb)
        sign_in(client, make_user(roles=("operations",), domain_ids=(kb,)))
        new = "/catalog/documents/new"
        text = "# 회의록\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\n- 이체 한도"
        token = page_token(client, new)
        preview = client.post(
            "/catalog/documents/preview",
            data={"content": text},
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        assert preview.status_code == 200
        assert "<h1>회의록</h1>" in preview.text and "<li>이체 한도</li>" in preview.text
        assert "<script" not in preview.text and "onerror" not in preview.text
        no_owner = post_form(
            client, new, {"title": "회의록", "kind": "technical", "content": text}, token_from=new
        )
        assert no_owner.status_code == 422 and "시스템이나 프로젝트 중 하나만 선택하세요" in no_owner.text
        created = post_form(
            client,
            new,
            {"owner": f"project:{project_id}", "title": "회의록", "kind": "technical", "content": text},
            token_from=new,
        )
        assert created.status_code == 303
        page = client.get(created.headers["location"]).text
        assert "<h1>회의록</h1>" in page and "alert(1)" not in page and "onerror" not in page
        assert '<div class="h1 m-0" id="usage-views">1</div>' in page
        listing = client.get("/catalog/documents", params={"project_id": project_id}).text
        assert "회의록" in listing and "마크다운" in listing

    def test_file_document_form_upload_download_and_type_errors(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        kb = make_domain("kb-bank")
        project_id = make_project(app, kb)
        sign_in(client, make_user(roles=("operations",), domain_ids=(kb,)))
        new = "/catalog/documents/new"
        fields = {
            "owner": f"project:{project_id}",
            "title": "사양서",
            "kind": "requirement",
            "status": "draft",
        }
        elf = upload_form(
            client,
            new,
            fields,
            ("사양서.pdf", b"\x7fELF\x02" + b"\x00" * 20, "application/pdf"),
            token_from=new,
        )
        assert elf.status_code == 415  # type: ignore[attr-defined]
        assert "허용되지 않는 파일 형식입니다" in elf.text  # type: ignore[attr-defined]
        created = upload_form(client, new, fields, ("사양서.pdf", PDF, "application/pdf"), token_from=new)
        assert created.status_code == 303  # type: ignore[attr-defined]
        url = created.headers["location"]  # type: ignore[attr-defined]
        page = client.get(url).text
        assert "사양서.pdf" in page and f'href="{url}/download"' in page
        download = client.get(url + "/download")
        assert download.content == PDF and download.headers["content-disposition"].startswith("attachment;")
        assert '<div class="h1 m-0" id="usage-downloads">1</div>' in client.get(url).text


class TestProjectDocumentsPanel:
    def test_upload_through_the_panel_and_errors_in_korean(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        kb = make_domain("kb-bank")
        project_id = make_project(app, kb)
        sign_in(client, make_user(roles=("admin",)))
        project_page = f"/catalog/projects/{project_id}"
        panel = f"{project_page}/documents-panel"
        assert "아직 문서가 없습니다" in client.get(panel).text
        upload = f"{project_page}/documents"
        done = upload_form(
            client,
            upload,
            {"kind": "voc", "title": ""},
            ("VoC 1월.pdf", PDF, "application/pdf"),
            token_from=panel,
        )
        assert done.status_code == 303 and done.headers["location"] == project_page  # type: ignore[attr-defined]
        assert "문서를 올렸습니다" in client.get(project_page).text
        fragment = client.get(panel).text
        assert "VoC 1월" in fragment and "/download" in fragment and "VoC" in fragment
        too_big = upload_form(
            client,
            upload,
            {"kind": "requirement", "title": "큰 파일"},
            ("big.pdf", PDF + b"%" * LIMIT, "application/pdf"),
            token_from=panel,
        )
        assert too_big.status_code == 413  # type: ignore[attr-defined]
        assert "파일이 업로드 한도(4.0 KB)보다 큽니다" in too_big.text  # type: ignore[attr-defined]
        exe = upload_form(
            client,
            upload,
            {"kind": "design", "title": "설계"},
            ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 40, "application/pdf"),
            token_from=panel,
        )
        assert exe.status_code == 415  # type: ignore[attr-defined]
        assert "허용되지 않는 파일 형식입니다" in exe.text  # type: ignore[attr-defined]
        assert client.get(panel).text.count("project-document-download") == 1  # nothing else was stored
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        fragment = client.get(panel).text
        assert "VoC 1월" in fragment and "project-document-upload" not in fragment
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(make_domain("samsung"),)))
        assert client.get(panel).status_code == 404


class TestDesignAssetPages:
    def test_raster_preview_svg_download_only_and_tag_list(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        kb = make_domain("kb-bank")
        project_id = make_project(app, kb)
        sign_in(client, make_user(roles=("operations",), domain_ids=(kb,)))
        new = "/catalog/design-assets/new"
        owner = f"project:{project_id}"
        nothing = post_form(
            client, new, {"owner": owner, "title": "빈 자산", "kind": "image"}, token_from=new
        )
        assert nothing.status_code == 422 and "파일을 올리거나 링크를 입력하세요" in nothing.text
        bad_link = post_form(
            client,
            new,
            {"owner": owner, "title": "x", "kind": "figma-link", "url": "javascript:alert(1)"},
            token_from=new,
        )
        assert "http:// 또는 https://로 시작하는 주소를 입력하세요" in bad_link.text
        png = upload_form(
            client,
            new,
            {"owner": owner, "title": "로고", "kind": "icon", "tags": "브랜드, logo"},
            ("logo.png", PNG, "image/png"),
            token_from=new,
        )
        assert png.status_code == 303  # type: ignore[attr-defined]
        png_url = png.headers["location"]  # type: ignore[attr-defined]
        page = client.get(png_url).text
        assert f'<img src="{png_url}/download?preview=true"' in page
        preview = client.get(f"{png_url}/download", params={"preview": "true"})
        assert preview.content == PNG and preview.headers["x-content-type-options"] == "nosniff"
        svg = upload_form(
            client,
            new,
            {"owner": owner, "title": "심볼 벡터", "kind": "icon"},
            ("icon.svg", SVG, "image/svg+xml"),
            token_from=new,
        )
        svg_url = svg.headers["location"]  # type: ignore[attr-defined]
        svg_page = client.get(svg_url).text
        assert 'id="design-asset-preview"' not in svg_page and f"{svg_url}/download?preview" not in svg_page
        assert "icon.svg" in svg_page
        download = client.get(f"{svg_url}/download")
        assert download.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in download.headers["content-security-policy"]
        assert (
            '<div class="h1 m-0" id="usage-downloads">0</div>' in client.get(png_url).text
        )  # preview ≠ download
        tagged = client.get("/catalog/design-assets", params={"tag": "브랜드"}).text
        assert "로고" in tagged and "심볼 벡터" not in tagged


@pytest.mark.browser
class TestInTheBrowser:
    def test_preview_panel_upload_and_diff(
        self,
        browser: Browser,
        live_server: LiveServer,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        app: FastAPI,
        artifacts: Path,
        tmp_path: Path,
    ) -> None:
        base = live_server.url
        project_id = make_project(app, make_domain("kb-bank"))
        make_user("asset.admin", roles=("admin",), password=BROWSER_PASSWORD)
        page = browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 900}).new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{base}/login")
        page.fill("#username", "asset.admin")
        page.fill("#password", BROWSER_PASSWORD)
        page.click("button[type=submit]")
        # The project page loads the documents panel; a VoC file goes up through it.
        page.goto(f"{base}/catalog/projects/{project_id}")
        expect(page.locator("#project-documents-panel")).to_contain_text("아직 문서가 없습니다")
        voc = tmp_path / "VoC 1월.pdf"
        voc.write_bytes(PDF)
        page.set_input_files("#project-document-file", str(voc))
        page.click("#upload-project-document")
        expect(page.locator("#project-document-list")).to_contain_text("VoC 1월")
        page.screenshot(path=str(artifacts / "assets-01-project-documents.png"), full_page=True)
        # A markdown document: the preview shows sanitized HTML before saving.
        page.goto(f"{base}/catalog/documents/new?project_id={project_id}")
        page.fill("#title", "회의록")
        page.fill(
            "#content", "# 주간 회의\n\n<img src=x onerror=\"document.title='pwned'\">\n\n- 이체 한도 변경"
        )
        page.click("#preview-button")
        expect(page.locator("#markdown-preview h1")).to_have_text("주간 회의")
        assert "onerror" not in page.inner_html("#markdown-preview")
        page.screenshot(path=str(artifacts / "assets-02-document-preview.png"), full_page=True)
        page.click("#save-document")
        expect(page.locator("#document-content li")).to_have_text("이체 한도 변경")
        assert page.title() != "pwned"
        page.click("#edit-document")
        page.fill("#content", "# 주간 회의\n\n- 이체 한도 변경 확정")
        page.click("#save-document")
        page.select_option("#diff-from", "1")
        page.select_option("#diff-to", "2")
        page.click("#show-diff")
        expect(page.locator("#version-diff .diff-added")).to_contain_text("+- 이체 한도 변경 확정")
        page.screenshot(path=str(artifacts / "assets-03-document-diff.png"), full_page=True)
