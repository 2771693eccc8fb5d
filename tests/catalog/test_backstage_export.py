"""Backstage export: deterministic catalog-info.yaml, round trip through an empty catalog, domain scoping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from tests.conftest import Account, MakeUser, login
from timbel.audit.service import AuditContext
from timbel.catalog import demo
from timbel.catalog.interop_service import relation_key
from timbel.catalog.models import Component, Domain, Relation, System, SystemOwner
from timbel.core.db import session_scope

YAML = {"Content-Type": "application/yaml"}


def _edge(session: Session, kind: str, source: Any, target: Any) -> None:
    ends = [(x.id, None) if isinstance(x, System) else (None, x.id) for x in (source, target)]
    session.add(
        Relation(
            domain_id=source.domain_id,
            key=relation_key(kind, ends[0], ends[1]),
            kind=kind,
            source_system_id=ends[0][0],
            source_component_id=ends[0][1],
            target_system_id=ends[1][0],
            target_component_id=ends[1][1],
        )
    )


def build_catalog(app: FastAPI, kim: Account, lee: Account) -> dict[str, str]:
    """Two domains with systems in every stage, components and APIs, datastores, owners and relations."""
    with session_scope(app.state.session_factory) as s:
        kb = Domain(code="kb-bank", name="국민은행", industry="금융", region="서울", priority="critical")
        kb.owner_id, kb.contacts = (
            kim.id,
            [{"name": "홍길동", "role": "PM", "email": "hong@kb.example", "phone": ""}],
        )
        lg = Domain(code="lg-chem", name="LG화학", industry="화학/제조", description="배터리 소재")
        s.add_all([kb, lg])
        s.flush()
        banking = System(
            domain_id=kb.id,
            slug="kb-banking",
            name="인터넷뱅킹",
            description="개인 고객 인터넷뱅킹",
            repo_url="https://git.example.com/kb/banking.git",
            default_branch="develop",
            stage="production",
            languages=["Java", "TypeScript"],
            frameworks=["Spring Boot", "React"],
            datastores=["PostgreSQL", "Redis"],
            links=[
                {"title": "운영", "url": "https://banking.example.com"},
                {"title": "위키", "url": "https://wiki.example.com"},
            ],
        )
        callbot = System(
            domain_id=kb.id, slug="kb-callbot", name="콜봇", stage="staging", repo_url="/srv/git/callbot"
        )
        mes = System(domain_id=lg.id, slug="lg-mes", name="MES", stage="development", source="auto")
        s.add_all([banking, callbot, mes])
        s.flush()
        s.add_all(
            [
                SystemOwner(system_id=banking.id, user_id=kim.id),
                SystemOwner(system_id=banking.id, user_id=lee.id),
            ]
        )
        web = Component(
            domain_id=kb.id, system_id=banking.id, name="LoginForm", kind="ui", language="TypeScript"
        )
        pay = Component(
            domain_id=kb.id, system_id=banking.id, name="결제 모듈", kind="library", reuse_score=0.5
        )
        api = Component(
            domain_id=kb.id, system_id=banking.id, name="transfer-api", kind="api", framework="FastAPI"
        )
        auth1 = Component(
            domain_id=kb.id, system_id=callbot.id, name="auth", kind="utility", commit_sha="abc1234"
        )
        auth2 = Component(domain_id=lg.id, system_id=mes.id, name="auth", kind="service", path="src/auth")
        s.add_all([web, pay, api, auth1, auth2])
        s.flush()
        _edge(s, "depends_on", callbot, banking)
        _edge(s, "consumes_api", web, api)
        _edge(s, "provides_api", pay, api)
        _edge(s, "part_of", pay, web)
        _edge(s, "part_of", auth1, callbot)
        _edge(s, "similar_to", mes, banking)
        _edge(s, "similar_to", auth2, auth1)
        return {"kb": kb.id, "lg": lg.id}


def _export(client: TestClient, headers: dict[str, str], **params: str) -> str:
    response = client.get("/api/v1/catalog/export", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/yaml")
    return response.text


def _import(client: TestClient, headers: dict[str, str], text: str) -> dict[str, Any]:
    response = client.post("/api/v1/catalog/import", content=text.encode(), headers={**headers, **YAML})
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestExport:
    def test_round_trip_through_an_empty_catalog(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        kim, lee = make_user("kim"), make_user("lee")
        build_catalog(app, kim, lee)
        headers = login(client, make_user(roles=("admin",)))
        first = _export(client, headers)
        assert first == _export(client, headers)  # deterministic
        docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(first)}
        assert sorted({kind for kind, _ in docs}) == ["API", "Component", "Domain", "Resource", "System"]
        banking = docs[("System", "kb-banking")]
        assert banking["spec"] == {
            "owner": "user:kim",
            "domain": "kb-bank",
            "lifecycle": "production",
        }
        assert banking["metadata"]["annotations"]["timbel.io/owners"] == "kim, lee"
        assert docs[("System", "kb-callbot")]["spec"]["dependsOn"] == ["system:kb-banking"]
        assert docs[("System", "kb-callbot")]["metadata"]["annotations"]["timbel.io/stage"] == "staging"
        assert docs[("API", "transfer-api")]["spec"]["system"] == "kb-banking"
        korean = docs[("Component", "kb-banking")]  # a name Backstage cannot hold becomes <system>-<name>
        assert korean["metadata"]["annotations"]["timbel.io/name"] == "결제 모듈"
        assert korean["spec"]["subcomponentOf"] == "component:LoginForm"
        assert {("Component", "kb-callbot-auth"), ("Component", "lg-mes-auth")} <= set(docs)
        assert docs[("Resource", "kb-banking-postgresql")]["spec"]["system"] == "kb-banking"
        assert "projects" not in first.lower()
        unchanged = _import(client, headers, first)["counts"]
        assert all(c["created"] == 0 and c["updated"] == 0 for c in unchanged.values()), unchanged
        with session_scope(app.state.session_factory) as session:
            session.execute(delete(Domain))  # cascades to systems, components, owners and relations
        created = _import(client, headers, first)["counts"]
        assert (created["System"]["created"], created["API"]["created"], created["Relation"]["created"]) == (
            3,
            1,
            7,
        )
        assert _export(client, headers) == first

    def test_viewers_export_only_their_domains(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        ids = build_catalog(app, make_user("kim"), make_user("lee"))
        viewer = login(client, make_user(roles=("viewer",), domain_ids=(ids["lg"],)))
        text = _export(client, viewer)
        assert "lg-mes" in text and "kb-bank" not in text and "인터넷뱅킹" not in text
        assert "similar-to" not in text  # the edge to a system in another domain stays out
        assert (
            client.get("/api/v1/catalog/export", params={"domain": ids["kb"]}, headers=viewer).status_code
            == 404
        )
        assert (
            client.get("/api/v1/catalog/export", params={"domain": "nope"}, headers=viewer).status_code == 404
        )
        admin = login(client, make_user(roles=("admin",)))
        one = _export(client, admin, domain="kb-bank")
        assert "kb-banking" in one and "lg-mes" not in one
        assert _export(client, admin, domain=ids["lg"]) == text

    def test_the_demo_catalog_round_trips(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        with session_scope(app.state.session_factory) as session:
            demo.load(session, ctx=AuditContext(actor_name="test"), repo=Path("/srv/git/timbel"))
        headers = login(client, make_user(roles=("admin",)))
        first = _export(client, headers)
        assert first.count("kind: Domain\n") == 8
        assert "backstage.io/source-location: file:/srv/git/timbel" in first
        with session_scope(app.state.session_factory) as session:
            session.execute(delete(Domain))
        counts = _import(client, headers, first)["counts"]
        assert counts["System"]["created"] == 16 and counts["Relation"]["created"] == 15
        assert _export(client, headers) == first
