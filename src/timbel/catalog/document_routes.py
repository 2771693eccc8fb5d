"""Catalog API: documents (문서) and design assets (디자인 자산), with file upload and download."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
