"""Catalog API: Backstage catalog-info.yaml import and export."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
