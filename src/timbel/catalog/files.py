"""Catalog uploads: bounded reading, content sniffing, deduplicated storage and safe download responses.

A client's declared content type and file name are only hints: the stored type comes from the
bytes themselves, and only types in ``catalog.upload_types`` are kept. Downloads are always
attachments with ``nosniff`` and a sandboxing CSP, so an uploaded SVG or HTML-looking text can
never run in Timbel's origin. See docs/decisions/0008-catalog-files-in-database.md.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from timbel.catalog.asset_schemas import FileRead
from timbel.catalog.models import FileBlob, StoredFile
from timbel.core.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from timbel.core.settings import CatalogSettings

CHUNK_BYTES = 64 * 1024
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
OOXML = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}


def read_limited(stream: BinaryIO, *, limit: int) -> bytes:
    """Read a stream in chunks, refusing it (413) as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"The file is larger than the limit of {limit} bytes.",
                errors=[{"loc": ["body", "file"], "type": "file.too_large", "msg": f"at most {limit} bytes"}],
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _is_utf8_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _zip_type(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "application/octet-stream"
    for entry, content_type in OOXML.items():
        if entry in names and "[Content_Types].xml" in names:
            return content_type
    return "application/zip"


def _is_svg(head: bytes) -> bool:
    """Tell whether text opens with an ``<svg`` element after any XML prolog (a linear scan, no regex)."""
    text = head.lstrip()
    for _ in range(64):
        lower = text[:9].lower()
        if lower.startswith(b"<?xml"):
            end, skip = text.find(b"?>"), 2
        elif lower.startswith(b"<!--"):
            end, skip = text.find(b"-->", 4), 3
        elif lower.startswith(b"<!doctype"):
            bracket, close = text.find(b"["), text.find(b">")
            end, skip = (text.find(b"]>"), 2) if -1 < bracket < close else (close, 1)
        else:
            break
        if end < 0:
            return False
        text = text[end + skip :].lstrip()
    return text[:4].lower() == b"<svg" and text[4:5] in (b" ", b"\t", b"\r", b"\n", b">", b"/")


def _text_type(filename: str, declared: str | None) -> str:
    lower = filename.lower()
    hint = (declared or "").split(";")[0].strip().lower()
    if lower.endswith((".md", ".markdown")) or hint == "text/markdown":
        return "text/markdown"
    if lower.endswith(".csv") or hint == "text/csv":
        return "text/csv"
    return "text/plain"


def sniff(data: bytes, *, filename: str = "", declared: str | None = None) -> str:
    """Name the content type the bytes really have; name and declared type only refine plain text."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(data)
    if data.startswith(OLE_MAGIC):
        # HWP 5 is an OLE compound file whose FileHeader stream starts with this signature.
        return "application/x-hwp" if b"HWP Document File" in data else "application/x-ole-storage"
    if data.startswith(b"\x7fELF"):
        return "application/x-executable"
    text = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if text and _is_utf8_text(text):
        if _is_svg(text[:8192]):
            return "image/svg+xml"
        return _text_type(filename, declared)
    if data.startswith(b"MZ"):
        return "application/x-msdownload"
    return "application/octet-stream"


def clean_filename(name: str | None) -> str:
    """Keep only the last path part of a client's file name, without control or reserved characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = UNSAFE_NAME_CHARS.sub("_", base).strip(" .")
    if not base:
        return "file"
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 16 else base[:200]
    return base


def store(
    session: Session,
    *,
    data: bytes,
    filename: str | None,
    declared_type: str | None,
    settings: CatalogSettings,
    created_by: str | None,
) -> StoredFile:
    """Check and keep an upload's bytes (once per checksum) and return its metadata row."""
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"The file is larger than the limit of {settings.max_upload_bytes} bytes.",
            errors=[{"loc": ["body", "file"], "type": "file.too_large", "msg": "too large"}],
        )
    if not data:
        raise ValidationFailed(
            "The file is empty.", errors=[{"loc": ["body", "file"], "type": "file.empty", "msg": "empty"}]
        )
    name = clean_filename(filename)
    content_type = sniff(data, filename=name, declared=declared_type)
    if content_type not in settings.upload_types:
        raise UnsupportedMediaType(
            f"Files of type {content_type} are not accepted.",
            errors=[{"loc": ["body", "file"], "type": "file.type_not_allowed", "msg": content_type}],
        )
    digest = hashlib.sha256(data).hexdigest()
    if session.scalar(select(FileBlob.sha256).where(FileBlob.sha256 == digest)) is None:
        try:
            with session.begin_nested():
                session.add(FileBlob(sha256=digest, data=data))
        except IntegrityError:
            pass  # another request stored the same bytes first
    stored = StoredFile(
        sha256=digest, size=len(data), content_type=content_type, filename=name, created_by=created_by
    )
    session.add(stored)
    session.flush()
    return stored


def receive(
    session: Session,
    *,
    stream: BinaryIO,
    filename: str | None,
    declared_type: str | None,
    settings: CatalogSettings,
    created_by: str | None,
) -> StoredFile:
    """Read an uploaded stream within the limit and store it."""
    data = read_limited(stream, limit=settings.max_upload_bytes)
    return store(
        session,
        data=data,
        filename=filename,
        declared_type=declared_type,
        settings=settings,
        created_by=created_by,
    )


def load(session: Session, *, file_id: str | None) -> tuple[StoredFile, bytes]:
    """Return a stored file's metadata and bytes, or raise NotFound."""
    stored = session.get(StoredFile, file_id) if file_id else None
    data = session.scalar(select(FileBlob.data).where(FileBlob.sha256 == stored.sha256)) if stored else None
    if stored is None or data is None:
        raise NotFound("This asset has no file.")
    return stored, data


def read(stored: StoredFile) -> FileRead:
    """Build the API view of a stored file."""
    return FileRead(
        id=stored.id,
        filename=stored.filename,
        size=stored.size,
        content_type=stored.content_type,
        sha256=stored.sha256,
        created_at=stored.created_at,
    )


def read_many(session: Session, *, file_ids: Iterable[str | None]) -> dict[str, FileRead]:
    """Return the API views of some files by id, in one query."""
    wanted = {i for i in file_ids if i}
    if not wanted:
        return {}
    return {f.id: read(f) for f in session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted)))}


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """Build a Content-Disposition value with an ASCII fallback and the RFC 5987 UTF-8 name."""
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%' else "_" for ch in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_response(stored: StoredFile, data: bytes) -> Response:
    """Answer a file as an attachment that browsers neither sniff nor run."""
    media_type = stored.content_type
    if media_type.startswith("text/") or media_type == "image/svg+xml":
        media_type += "; charset=utf-8"
    headers = {
        **DOWNLOAD_HEADERS,
        "Content-Disposition": content_disposition(stored.filename),
        "ETag": f'"{stored.sha256}"',
    }
    return Response(content=data, media_type=media_type, headers=headers)
