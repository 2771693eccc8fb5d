"""Catalog API: relations between systems and components, similar-system references."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
