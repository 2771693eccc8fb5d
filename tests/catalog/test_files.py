"""Uploads: sniffing from magic bytes, file-name cleaning, size limit (413) and type allowlist (415)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.catalog.test_documents_api import PDF, make_project
from tests.conftest import MakeUser, login
from timbel.catalog import files
from timbel.catalog.models import FileBlob, StoredFile
from timbel.core.db import session_scope
from timbel.core.errors import PayloadTooLarge
from timbel.core.settings import CatalogSettings, Settings

LIMIT = 2048


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


class TestSniffing:
    @pytest.mark.parametrize(
        ("data", "filename", "expected"),
        [
            (PDF, "x.bin", "application/pdf"),
            (b"\x89PNG\r\n\x1a\n\x00\x00", "x.pdf", "image/png"),
            (b"\xff\xd8\xff\xe0\x00\x10JFIF", "x", "image/jpeg"),
            (b"GIF89a\x01\x00", "x", "image/gif"),
            (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "x", "image/webp"),
            (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "x.txt", "image/svg+xml"),
            (b"<?xml version='1.0'?><!-- c --><svg></svg>", "x", "image/svg+xml"),
            (b'<!DOCTYPE svg [ <!ENTITY a "b"> ]>\n<SVG width="1"/>', "x", "image/svg+xml"),
            (b"<!---->" * 2000 + b"x", "many-comments.txt", "text/plain"),  # linear, no regex backtracking
            (_zip("[Content_Types].xml", "word/document.xml"), "x.zip", files.OOXML["word/document.xml"]),
            (_zip("[Content_Types].xml", "xl/workbook.xml"), "x", files.OOXML["xl/workbook.xml"]),
            (_zip("[Content_Types].xml", "ppt/presentation.xml"), "x", files.OOXML["ppt/presentation.xml"]),
            (_zip("readme.txt"), "x.docx", "application/zip"),
            (files.OLE_MAGIC + b"\x00" * 100 + b"HWP Document File", "x.hwp", "application/x-hwp"),
            (files.OLE_MAGIC + b"\x00" * 100, "x.hwp", "application/x-ole-storage"),
            ("# 제목\n본문".encode(), "notes.md", "text/markdown"),
            ("이름,나이\n홍길동,30\n".encode(), "people.csv", "text/csv"),
            ("MZ세대 분석 보고서".encode(), "x.txt", "text/plain"),
            (b"\x7fELF\x02\x01\x01\x00", "report.pdf", "application/x-executable"),
            (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "x.pdf", "application/x-msdownload"),
            (b"\xb0\xa1\xb0\xa2 euc-kr", "x.txt", "application/octet-stream"),
        ],
    )
    def test_type_comes_from_the_bytes(self, data: bytes, filename: str, expected: str) -> None:
        assert files.sniff(data, filename=filename) == expected

    def test_declared_type_only_refines_text(self) -> None:
        assert files.sniff(b"a,b\n1,2\n", filename="data", declared="text/csv") == "text/csv"
        assert files.sniff(b"\x7fELF\x02", filename="x.pdf", declared="application/pdf") != "application/pdf"


class TestNamesAndHeaders:
    @pytest.mark.parametrize(
        ("raw", "clean"),
        [
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\kim\\보고서.pdf", "보고서.pdf"),
            ('a"b<c>\x00d.txt', "a_b_c__d.txt"),
            ("...", "file"),
            (None, "file"),
        ],
    )
    def test_file_names_are_cleaned(self, raw: str | None, clean: str) -> None:
        assert files.clean_filename(raw) == clean

    def test_long_names_keep_their_extension(self) -> None:
        cleaned = files.clean_filename("가" * 300 + ".pdf")
        assert len(cleaned) == 200 and cleaned.endswith(".pdf")

    def test_content_disposition_has_ascii_fallback_and_rfc5987_name(self) -> None:
        value = files.content_disposition('요구사양서 "최종".pdf')
        assert value.startswith('attachment; filename="')
        fallback = value.split('filename="')[1].split('"')[0]
        assert fallback.isascii() and fallback.endswith(".pdf")
        assert "filename*=UTF-8''%EC%9A%94" in value

    def test_reading_stops_at_the_limit(self) -> None:
        assert files.read_limited(io.BytesIO(b"x" * 100), limit=100) == b"x" * 100
        with pytest.raises(PayloadTooLarge):
            files.read_limited(io.BytesIO(b"x" * 101), limit=100)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings with a small upload limit."""
    return settings.model_copy(update={"catalog": CatalogSettings(max_upload_bytes=LIMIT)})


class TestUploadLimits:
    def test_oversized_and_disallowed_uploads_store_nothing(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str], app: FastAPI
    ) -> None:
        domain_id = make_domain("kb-bank")
        project_id = make_project(app, domain_id)
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        form = {"title": "VoC", "kind": "voc", "project_id": project_id}

        def send(data: bytes, name: str = "voc.pdf") -> int:
            response = client.post(
                "/api/v1/documents/upload",
                data=form,
                files={"file": (name, data, "application/pdf")},
                headers=headers,
            )
            return response.status_code

        assert send(PDF + b"%" * (LIMIT - len(PDF))) == 201  # exactly at the limit
        assert send(PDF + b"%" * (LIMIT + 1 - len(PDF))) == 413
        assert send(b"\x7fELF\x02\x01\x01" + b"\x00" * 100) == 415
        assert send(b"<html><script>alert(1)</script></html>", "page.html") == 201  # plain text, harmless
        with session_scope(app.state.session_factory) as session:
            types = sorted(session.scalars(select(StoredFile.content_type)))
            assert types == ["application/pdf", "text/plain"]
            assert session.scalar(select(func.count()).select_from(FileBlob)) == 2
        design = client.post(
            "/api/v1/design-assets/upload",
            data={"title": "큰 시안", "project_id": project_id},
            files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * LIMIT, "image/png")},
            headers=headers,
        )
        assert design.status_code == 413
        assert design.json()["errors"][0]["type"] == "file.too_large"
