"""Helpers for the search tests: catalog objects straight through the ORM, and a search API caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from timbel.catalog.models import Component, Domain, System
from timbel.core.db import session_scope

BANKING = "차세대 인터넷뱅킹 거래 처리 시스템"
Search = Callable[..., dict[str, Any]]


def add(app: FastAPI, *objects: Any) -> list[str]:
    """Insert catalog objects through the ORM (so the session events index them); return their ids."""
    with session_scope(app.state.session_factory) as session:
        session.add_all(objects)
        session.flush()
        return [obj.id for obj in objects]


def new_domain(app: FastAPI, code: str, **fields: Any) -> str:
    return add(app, Domain(code=code, name=fields.pop("name", f"Domain {code}"), **fields))[0]


def new_system(app: FastAPI, domain_id: str, slug: str, **fields: Any) -> str:
    return add(app, System(domain_id=domain_id, slug=slug, name=fields.pop("name", slug), **fields))[0]


def new_component(app: FastAPI, system_id: str, domain_id: str, name: str, **fields: Any) -> str:
    return add(app, Component(system_id=system_id, domain_id=domain_id, name=name, **fields))[0]


def searcher(client: TestClient, default_headers: dict[str, str]) -> Search:
    """Call the search API (with the default headers unless others are given) and return the JSON body."""

    def run(
        q: str, headers: dict[str, str] | None = None, status: int = 200, **params: Any
    ) -> dict[str, Any]:
        response = client.get("/api/v1/search", params={"q": q, **params}, headers=headers or default_headers)
        assert response.status_code == status, response.text
        return dict(response.json())

    return run


def titles(body: dict[str, Any]) -> list[str]:
    return [item["title"] for item in body["items"]]
