"""Catalog API: Backstage catalog-info.yaml import and export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import interop_export, interop_service
from timbel.catalog.interop_schemas import ImportResult
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
YAML_TYPES = ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml")
EXPORT_HEADERS = {"Content-Disposition": 'attachment; filename="catalog-info.yaml"'}


def too_large(limit: int) -> PayloadTooLarge:
    """Return the error for a catalog file over the upload limit."""
    return PayloadTooLarge(f"The catalog file is larger than {limit} bytes.")


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """Read an uploaded file, refusing it once it passes ``limit`` bytes."""
    if upload.size is not None and upload.size > limit:
        raise too_large(limit)
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data


async def catalog_file(request: Request) -> bytes:
    """Read the catalog file from a YAML body or a multipart ``file`` field, within the upload limit."""
    limit: int = request.app.state.settings.catalog.max_upload_bytes
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "Send the catalog file in the multipart field 'file'.",
                errors=[{"loc": ["body", "file"], "type": "missing", "msg": "no file"}],
            )
        return await read_upload(upload, limit)
    if content_type not in YAML_TYPES:
        raise UnsupportedMediaType("Send the catalog as application/yaml, text/yaml or a multipart 'file'.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)


@router.post("/import")
def import_catalog(
    principal: Writer, session: SessionDep, audit: AuditDep, data: Annotated[bytes, Depends(catalog_file)]
) -> ImportResult:
    """Import a Backstage catalog-info.yaml (multi-document); all or nothing, upserting by name."""
    return interop_service.import_catalog(session, principal=principal, data=data, ctx=audit)


@router.get("/export", response_class=Response, responses={200: {"content": {"application/yaml": {}}}})
def export_catalog(
    principal: Reader,
    session: SessionDep,
    domain: Annotated[str | None, Query(max_length=64, description="Domain id or code.")] = None,
) -> Response:
    """Export the visible catalog, or one domain, as a multi-document catalog-info.yaml."""
    text = interop_export.export_catalog(session, principal=principal, domain=domain)
    return Response(text, media_type="application/yaml; charset=utf-8", headers=EXPORT_HEADERS)
