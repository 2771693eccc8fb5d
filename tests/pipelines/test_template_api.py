"""Pipeline template API: a permission matrix (everyone with pipelines:read reads, only administrators
create and change), versions, validation and conflicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope
from timbel.pipelines.template_seeds import SEEDS

API = "/api/v1/pipeline-templates"
Headers = Callable[..., dict[str, str]]
NEW = {
    "key": "python-litestar",
    "name": "Python Litestar",
    "stack": "python",
    "framework": "Litestar",
    "stages": [
        {
            "name": "test",
            "image": "python:3.12.8-slim",
            "commands": ["pip install -r requirements.txt", "pytest"],
        }
    ],
}


def template_id(client: TestClient, headers: dict[str, str], key: str) -> str:
    items = client.get(API, headers=headers, params={"per_page": 200}).json()["items"]
    return str(next(t["id"] for t in items if t["key"] == key))


class TestPermissionMatrix:
    @pytest.mark.parametrize("role", ["admin", "operations", "executive", "viewer"])
    def test_every_role_reads(
        self, client: TestClient, auth_headers: Headers, seeded: Callable[[], Any], role: str
    ) -> None:
        seeded()
        headers = auth_headers(role)
        listing = client.get(API, headers=headers, params={"per_page": 200})
        assert listing.status_code == 200
        body = listing.json()
        assert body["total"] == len(SEEDS) and [t["key"] for t in body["items"]] == sorted(
            s["key"] for s in SEEDS
        )
        one = client.get(f"{API}/{body['items'][0]['id']}", headers=headers)
        assert one.status_code == 200 and one.json()["usage_count"] == 0
        assert client.get(f"{API}/{body['items'][0]['id']}/versions", headers=headers).status_code == 200

    @pytest.mark.parametrize("role", ["operations", "executive", "viewer"])
    def test_only_admins_change(
        self, client: TestClient, auth_headers: Headers, seeded: Callable[[], Any], role: str
    ) -> None:
        seeded()
        headers = auth_headers(role)
        assert client.post(API, json=NEW, headers=headers).status_code == 403
        target = template_id(client, headers, "go-gin")
        assert client.patch(f"{API}/{target}", json={"name": "Go"}, headers=headers).status_code == 403
        assert client.get(f"{API}/{target}", headers=headers).json()["name"] == "Go Gin"

    def test_anonymous_gets_401(self, client: TestClient) -> None:
        assert client.get(API).status_code == 401
        assert client.post(API, json=NEW).status_code == 401


class TestAdminEdits:
    def test_create_update_versions_and_audit(
        self, client: TestClient, auth_headers: Headers, app: FastAPI
    ) -> None:
        headers = auth_headers("admin")
        created = client.post(API, json=NEW, headers=headers)
        assert created.status_code == 201, created.text
        body = created.json()
        assert (body["version"], body["usage_count"], body["is_seed"]) == (1, 0, False)
        assert body["stages"][0] == {**NEW["stages"][0], "image": "python:3.12.8-slim"}  # type: ignore[index]
        url = f"{API}/{body['id']}"
        stages = [{"name": "test", "image": "python:3.13.1-slim", "commands": ["pytest -q"]}]
        changed = client.patch(url, json={"stages": stages, "description": "Litestar apps"}, headers=headers)
        assert changed.status_code == 200 and changed.json()["version"] == 2
        unchanged = client.patch(url, json={"description": "Litestar apps"}, headers=headers)
        assert unchanged.json()["version"] == 2
        versions = client.get(f"{url}/versions", headers=headers).json()
        assert [v["version"] for v in versions] == [2, 1]
        assert versions[0]["snapshot"]["stages"] == stages and versions[1]["snapshot"]["description"] == ""
        assert versions[0]["author_id"] == body["updated_by"] and versions[0]["author_id"] is not None
        with session_scope(app.state.session_factory) as session:
            actions = session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_id == body["id"])
            ).all()
            assert sorted(actions) == ["pipeline_template.create", "pipeline_template.update"]

    def test_validation_and_conflicts(self, client: TestClient, auth_headers: Headers) -> None:
        headers = auth_headers("admin")
        assert client.post(API, json=NEW, headers=headers).status_code == 201
        duplicate = client.post(API, json=NEW, headers=headers)
        assert duplicate.status_code == 409
        assert duplicate.json()["errors"][0]["type"] == "pipeline_template.key_taken"
        for bad in (
            {**NEW, "key": "Not A Key"},
            {**NEW, "key": "other", "stack": "cobol"},
            {**NEW, "key": "other", "stages": [{"name": "t", "image": "x:1", "commands": []}]},
            {**NEW, "key": "other", "stages": [{"name": "t", "image": "x:1", "commands": ["a\nb"]}]},
            {**NEW, "key": "other", "stages": [{"name": "t", "image": "x'1", "commands": ["a"]}]},
        ):
            assert client.post(API, json=bad, headers=headers).status_code == 422, bad
        leaky = {
            **NEW,
            "key": "other",
            "stages": [{"name": "t", "image": "x:1", "commands": ["export TOKEN=abc123def"]}],
        }
        refused = client.post(API, json=leaky, headers=headers)
        assert (
            refused.status_code == 422 and refused.json()["errors"][0]["type"] == "pipeline_template.secret"
        )
        assert client.get(f"{API}/00000000-0000-4000-8000-000000000000", headers=headers).status_code == 404

    def test_filter_by_stack(
        self, client: TestClient, auth_headers: Headers, seeded: Callable[[], Any]
    ) -> None:
        seeded()
        items = client.get(API, headers=auth_headers("viewer"), params={"stack": "python"}).json()["items"]
        assert [t["key"] for t in items] == ["python-django", "python-fastapi", "python-flask"]
