"""Catalog pages: documents (문서) and design assets (디자인 자산)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["web"], include_in_schema=False)
