"""Catalog API: code components (코드 컴포넌트)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
