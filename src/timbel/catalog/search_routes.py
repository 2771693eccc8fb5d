"""Catalog API: unified search across every catalog kind."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
