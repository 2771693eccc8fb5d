"""Design assets (디자인 자산): links and uploads with tags, safe downloads, versions, usage and scoping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.catalog.test_documents_api import make_project
from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope

API = "/api/v1/design-assets"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(2)</script></svg>"
)


def upload(
    client: TestClient,
    headers: dict[str, str],
    *,
    data: bytes = PNG,
    filename: str = "로고.png",
    **fields: Any,
) -> Any:
    form = {"title": "브랜드 로고", "kind": "icon", **fields}
    return client.post(
        f"{API}/upload", data=form, files={"file": (filename, data, "image/png")}, headers=headers
    )


class TestDesignAssets:
    def test_links_tags_updates_versions_and_audit(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
        app: FastAPI,
    ) -> None:
        domain_id = make_domain("kb-bank")
        system_id = make_system(domain_id, "kb-pay")
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        body = {
            "system_id": system_id,
            "title": "결제 화면 시안",
            "kind": "figma-link",
            "url": "https://www.figma.com/file/abc",
            "tags": ["결제", " mobile ", "결제", ""],
        }
        created = client.post(API, json=body, headers=headers)
        assert created.status_code == 201, created.text
        asset = created.json()
        assert (asset["tags"], asset["file"], asset["version"]) == (["결제", "mobile"], None, 1)
        for bad in (
            {"url": "javascript:alert(1)"},
            {"url": "ftp://example.com/x"},
            {"url": ""},
            {"tags": ['a"b']},
            {"kind": "poster"},
        ):
            response = client.post(API, json={**body, **bad}, headers=headers)
            assert response.status_code == 422, bad
        url = f"{API}/{asset['id']}"
        changed = client.patch(url, json={"tags": ["결제", "web"], "description": "v2 시안"}, headers=headers)
        assert (changed.json()["version"], changed.json()["tags"]) == (2, ["결제", "web"])
        assert client.patch(url, json={"url": ""}, headers=headers).status_code == 422  # would have nothing
        diff = client.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=headers).json()
        assert {c["field"] for c in diff["changes"]} == {"tags", "description"}
        assert client.delete(url, headers=headers).status_code == 204
        with session_scope(app.state.session_factory) as session:
            actions = set(
                session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("design_asset.%")))
            )
        assert actions == {"design_asset.create", "design_asset.update", "design_asset.delete"}

    def test_upload_download_and_svg_never_inline(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        domain_id = make_domain("kb-bank")
        project_id = make_project(app, domain_id)
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        png = upload(client, headers, project_id=project_id, tags="로고, brand")
        assert png.status_code == 201, png.text
        assert png.json()["file"]["content_type"] == "image/png"
        assert png.json()["tags"] == ["로고", "brand"]
        svg = upload(client, headers, project_id=project_id, data=SVG, filename="icon.svg", title="아이콘")
        assert svg.status_code == 201 and svg.json()["file"]["content_type"] == "image/svg+xml"
        download = client.get(f"{API}/{svg.json()['id']}/file", headers=headers)
        assert download.content == SVG
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in download.headers["content-security-policy"]
        replaced = client.put(
            f"{API}/{png.json()['id']}/file",
            files={"file": ("logo2.png", PNG + b"v2", "image/png")},
            headers=headers,
        )
        assert replaced.json()["version"] == 2
        assert client.get(f"{API}/{png.json()['id']}/versions/1", headers=headers).json()["snapshot"]["file"]
        exe = upload(
            client, headers, project_id=project_id, data=b"MZ\x90\x00\x03\x00\x00\x00", filename="a.png"
        )
        assert exe.status_code == 415

    def test_tag_filter_sorting_scoping_and_popular(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        kb_project, samsung_project = make_project(app, kb), make_project(app, samsung, "스마트 팩토리")
        admin = login(client, make_user(roles=("admin",)))
        link = {"kind": "mockup", "url": "https://example.com/m"}
        for title, project, tags in (
            ("메인 시안", kb_project, ["결제", "main"]),
            ("결제 아이콘", kb_project, ["결제수단"]),
            ("설비 대시보드", samsung_project, ["결제"]),
        ):
            response = client.post(
                API, json={**link, "title": title, "project_id": project, "tags": tags}, headers=admin
            )
            assert response.status_code == 201
        titles = lambda r: [a["title"] for a in r.json()["items"]]  # noqa: E731
        tagged = client.get(API, params={"tag": "결제", "sort": "title"}, headers=admin)
        assert titles(tagged) == ["메인 시안", "설비 대시보드"]  # an exact tag, not a prefix
        assert titles(client.get(API, params={"tag": "결제수단"}, headers=admin)) == ["결제 아이콘"]
        assert titles(
            client.get(API, params={"sort": "-title", "project_id": kb_project}, headers=admin)
        ) == [
            "메인 시안",
            "결제 아이콘",
        ]
        viewer = login(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        assert titles(client.get(API, params={"tag": "결제"}, headers=viewer)) == ["메인 시안"]
        hidden = client.get(API, params={"q": "설비"}, headers=admin).json()["items"][0]["id"]
        client.get(f"{API}/{hidden}", headers=admin)
        assert client.get(f"{API}/{hidden}", headers=viewer).status_code == 404
        assert (
            client.get(f"{API}/{hidden}/diff", params={"from": 1, "to": 1}, headers=viewer).status_code == 404
        )
        shown = client.get(API, params={"q": "메인"}, headers=viewer).json()["items"][0]["id"]
        client.get(f"{API}/{shown}", headers=viewer)
        popular = client.get("/api/v1/catalog/popular", headers=viewer).json()
        assert [(p["kind"], p["title"]) for p in popular] == [("design_asset", "메인 시안")]
