"""Documents (문서): markdown and files of systems and projects, downloads, HTML, versions, scoping."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.catalog.models import FileBlob, Project, StoredFile
from timbel.core.db import session_scope

API = "/api/v1/documents"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def make_project(app: FastAPI, domain_id: str, name: str = "차세대 인터넷뱅킹") -> str:
    with session_scope(app.state.session_factory) as session:
        project = Project(domain_id=domain_id, name=name)
        session.add(project)
        session.flush()
        return project.id


def upload(
    client: TestClient,
    headers: dict[str, str],
    *,
    data: bytes = PDF,
    filename: str = "요구사양서 v1.pdf",
    content_type: str = "application/pdf",
    **fields: str,
) -> Any:
    form = {"title": "요구사양서", "kind": "requirement", **fields}
    return client.post(
        f"{API}/upload", data=form, files={"file": (filename, data, content_type)}, headers=headers
    )


class TestMarkdownDocuments:
    def test_crud_owner_rules_html_and_audit(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
        app: FastAPI,
    ) -> None:
        domain_id = make_domain("kb-bank")
        system_id = make_system(domain_id, "kb-pay", name="KB 결제")
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        body = {
            "system_id": system_id,
            "title": "결제 API 가이드",
            "kind": "api-guide",
            "content": "# 결제\n\n<script>alert(1)</script>\n[x](javascript:alert(1))",
        }
        created = client.post(API, json=body, headers=headers)
        assert created.status_code == 201, created.text
        doc = created.json()
        assert (doc["format"], doc["status"], doc["version"], doc["file"]) == ("markdown", "draft", 1, None)
        assert doc["system"]["slug"] == "kb-pay" and doc["project"] is None
        html = client.get(f"{API}/{doc['id']}/html", headers=headers)
        assert html.headers["content-type"].startswith("text/html")
        assert "<h1>결제</h1>" in html.text
        assert "<script" not in html.text and 'href="javascript' not in html.text
        assert client.get(f"{API}/{doc['id']}/file", headers=headers).status_code == 404
        published = client.patch(f"{API}/{doc['id']}", json={"status": "published"}, headers=headers)
        assert (published.json()["status"], published.json()["version"]) == ("published", 2)
        both = client.post(API, json={**body, "project_id": make_project(app, domain_id)}, headers=headers)
        assert both.status_code == 422 and both.json()["errors"][0]["type"] == "asset.owner"
        neither = client.post(API, json={"title": "x"}, headers=headers)
        assert neither.status_code == 422
        assert client.post(API, json={**body, "kind": "novel"}, headers=headers).status_code == 422
        assert client.post(API, json={**body, "system_id": "ghost"}, headers=headers).status_code == 404
        assert client.delete(f"{API}/{doc['id']}", headers=headers).status_code == 204
        with session_scope(app.state.session_factory) as session:
            actions = set(
                session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("document.%")))
            )
        assert actions == {"document.create", "document.update", "document.delete"}

    def test_versions_and_text_diff(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        system_id = make_system(make_domain("kb-bank"), "kb-pay")
        doc = client.post(
            API,
            json={"system_id": system_id, "title": "ADR 1", "kind": "adr", "content": "a\nb\nc"},
            headers=headers,
        ).json()
        client.patch(f"{API}/{doc['id']}", json={"content": "a\nB\nc\nd"}, headers=headers)
        client.patch(f"{API}/{doc['id']}", json={"title": "ADR 1: 결제"}, headers=headers)
        assert [v["version"] for v in client.get(f"{API}/{doc['id']}/versions", headers=headers).json()] == [
            3,
            2,
            1,
        ]
        diff = client.get(f"{API}/{doc['id']}/diff", params={"from": 1, "to": 3}, headers=headers).json()
        changes = {c["field"]: c for c in diff["changes"]}
        assert set(changes) == {"content", "title"}
        assert {"-b", "+B", "+d"} <= set(changes["content"]["lines"])
        assert (
            client.get(f"{API}/{doc['id']}/diff", params={"from": 1, "to": 7}, headers=headers).status_code
            == 404
        )


class TestFileDocuments:
    def test_upload_download_round_trip_and_new_file_version(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        app: FastAPI,
    ) -> None:
        domain_id = make_domain("kb-bank")
        project_id = make_project(app, domain_id)
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        created = upload(client, headers, project_id=project_id, content_type="application/octet-stream")
        assert created.status_code == 201, created.text
        doc = created.json()
        assert (doc["format"], doc["kind"], doc["project"]["id"]) == ("pdf", "requirement", project_id)
        assert doc["file"]["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert (doc["file"]["size"], doc["file"]["content_type"]) == (len(PDF), "application/pdf")
        assert doc["file"]["filename"] == "요구사양서 v1.pdf"
        download = client.get(f"{API}/{doc['id']}/file", headers=headers)
        assert download.status_code == 200 and download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in download.headers["content-security-policy"]
        disposition = download.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote('요구사양서 v1.pdf', safe='')}" in disposition
        assert client.get(f"{API}/{doc['id']}", headers=headers).json()["usage"]["downloads"] == 1
        # Markdown content belongs to markdown documents only.
        refused = client.patch(f"{API}/{doc['id']}", json={"content": "x"}, headers=headers)
        assert refused.status_code == 422 and refused.json()["errors"][0]["type"] == "document.not_markdown"
        text = "요구사항 1. 이체 한도\n".encode()
        replaced = client.put(
            f"{API}/{doc['id']}/file",
            files={"file": ("요구사양서 v2.txt", text, "text/plain")},
            headers=headers,
        )
        assert replaced.status_code == 200, replaced.text
        assert (replaced.json()["version"], replaced.json()["format"]) == (2, "file")
        assert replaced.json()["file"]["content_type"] == "text/plain"
        diff = client.get(f"{API}/{doc['id']}/diff", params={"from": 1, "to": 2}, headers=headers).json()
        file_change = next(c for c in diff["changes"] if c["field"] == "file")
        assert "요구사양서 v1.pdf" in file_change["old"] and "요구사양서 v2.txt" in file_change["new"]
        second = client.get(f"{API}/{doc['id']}/file", headers=headers)
        assert second.content == text and second.headers["content-type"] == "text/plain; charset=utf-8"
        # Uploading the same bytes again stores them once.
        upload(client, headers, project_id=project_id, filename="copy.pdf")
        with session_scope(app.state.session_factory) as session:
            assert session.scalar(select(func.count()).select_from(FileBlob)) == 2
            assert session.scalar(select(func.count()).select_from(StoredFile)) == 3

    def test_upload_problems(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        domain_id = make_domain("kb-bank")
        project_id = make_project(app, domain_id)
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        elf = upload(client, headers, project_id=project_id, data=b"\x7fELF\x02\x01\x01" + b"\x00" * 64)
        assert elf.status_code == 415
        assert elf.json()["errors"][0]["type"] == "file.type_not_allowed"
        assert upload(client, headers, project_id=project_id, data=b"").status_code == 422
        assert upload(client, headers, project_id=project_id, kind="poem").status_code == 422
        assert upload(client, headers).status_code == 422  # no owner
        markdown_doc = client.post(
            API, json={"project_id": project_id, "title": "회의록", "content": "x"}, headers=headers
        ).json()
        refused = client.put(
            f"{API}/{markdown_doc['id']}/file",
            files={"file": ("a.pdf", PDF, "application/pdf")},
            headers=headers,
        )
        assert refused.status_code == 422
        with session_scope(app.state.session_factory) as session:
            assert session.scalar(select(func.count()).select_from(StoredFile)) == 0


class TestScoping:
    def test_other_customers_documents_are_invisible_everywhere(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        kb_project, samsung_project = make_project(app, kb), make_project(app, samsung, "스마트 팩토리")
        admin = login(client, make_user(roles=("admin",)))
        mine = upload(client, admin, project_id=kb_project, kind="voc", title="VoC 1월").json()
        theirs = upload(client, admin, project_id=samsung_project, kind="voc", title="VoC 설비").json()
        client.get(f"{API}/{theirs['id']}/file", headers=admin)
        viewer = login(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        listing = client.get(API, params={"kind": "voc"}, headers=viewer).json()
        assert [d["title"] for d in listing["items"]] == ["VoC 1월"]
        assert client.get(API, params={"project_id": samsung_project}, headers=viewer).json()["total"] == 0
        for suffix in ("", "/file", "/html", "/versions", "/versions/1"):
            assert client.get(f"{API}/{theirs['id']}{suffix}", headers=viewer).status_code == 404, suffix
        assert client.get(f"{API}/{mine['id']}/file", headers=viewer).status_code == 200
        assert client.get(f"{API}/{mine['id']}/file", headers=viewer).content == PDF
        downloads = client.get("/api/v1/catalog/popular", params={"by": "download"}, headers=viewer).json()
        assert [(p["title"], p["usage"]["downloads"]) for p in downloads] == [("VoC 1월", 2)]
        everyone = client.get("/api/v1/catalog/popular", params={"by": "download"}, headers=admin).json()
        assert {p["title"] for p in everyone} == {"VoC 1월", "VoC 설비"}
        ops = login(client, make_user(roles=("operations",), domain_ids=(kb,)))
        assert upload(client, ops, project_id=samsung_project).status_code == 404
        assert client.patch(f"{API}/{theirs['id']}", json={"title": "x"}, headers=ops).status_code == 404
