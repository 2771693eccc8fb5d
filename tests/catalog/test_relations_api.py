"""Relations between systems and components, the relations graph, and similar-system references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.catalog.models import Component, Project, System
from timbel.core.db import session_scope

API = "/api/v1/relations"


def _component(app: FastAPI, system_id: str, name: str, kind: str = "library") -> str:
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        component = Component(domain_id=system.domain_id, system_id=system_id, name=name, kind=kind)
        session.add(component)
        session.flush()
        return component.id


def _project(app: FastAPI, domain_id: str, name: str) -> str:
    with session_scope(app.state.session_factory) as session:
        project = Project(domain_id=domain_id, name=name)
        session.add(project)
        session.flush()
        return project.id


def _sys(system_id: str) -> dict[str, str]:
    return {"type": "system", "id": system_id}


def _comp(component_id: str) -> dict[str, str]:
    return {"type": "component", "id": component_id}


def _relate(
    client: TestClient, headers: dict[str, str], kind: str, source: Any, target: Any, **extra: Any
) -> Any:
    return client.post(API, json={"kind": kind, "source": source, "target": target, **extra}, headers=headers)


def _actions(app: FastAPI, prefix: str) -> set[str]:
    with session_scope(app.state.session_factory) as session:
        return set(session.scalars(select(AuditEntry.action).where(AuditEntry.action.like(prefix + "%"))))


class TestRelationRules:
    def test_create_list_update_delete(
        self,
        client: TestClient,
        app: FastAPI,
        auth_headers: Callable[..., dict[str, str]],
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        headers = auth_headers("admin")
        domain_id = make_domain("kb-bank")
        banking, callbot = make_system(domain_id, "banking"), make_system(domain_id, "callbot")
        api = _component(app, banking, "account-api", kind="api")
        widget = _component(app, callbot, "chat-widget", kind="ui")

        depends = _relate(client, headers, "depends_on", _sys(callbot), _sys(banking), note="계좌 조회")
        assert depends.status_code == 201, depends.text
        body = depends.json()
        assert (body["source"]["name"], body["target"]["name"], body["domain_id"]) == (
            "callbot",
            "banking",
            domain_id,
        )
        assert _relate(client, headers, "provides_api", _sys(banking), _comp(api)).status_code == 201
        consumes = _relate(client, headers, "consumes_api", _comp(widget), _comp(api)).json()
        assert consumes["source"] == {
            "type": "component",
            "id": widget,
            "name": "chat-widget",
            "kind": "ui",
            "system_id": callbot,
        }

        def problem(response: Any) -> tuple[int, str]:
            return response.status_code, response.json()["errors"][0]["type"]

        duplicate = _relate(client, headers, "depends_on", _sys(callbot), _sys(banking))
        assert problem(duplicate) == (409, "relation.exists")
        assert problem(_relate(client, headers, "similar_to", _sys(banking), _sys(banking))) == (
            422,
            "relation.self",
        )
        not_api = _relate(client, headers, "consumes_api", _sys(callbot), _comp(widget))
        assert problem(not_api) == (422, "relation.target_not_api")
        system_target = _relate(client, headers, "provides_api", _sys(callbot), _sys(banking))
        assert problem(system_target) == (422, "relation.target_not_api")
        assert problem(_relate(client, headers, "depends_on", _sys(callbot), _sys("ghost"))) == (
            404,
            "relation.end_not_found",
        )
        assert _relate(client, headers, "owns", _sys(callbot), _sys(banking)).status_code == 422

        def kinds(**params: Any) -> list[str]:
            return sorted(r["kind"] for r in client.get(API, params=params, headers=headers).json()["items"])

        assert kinds() == ["consumes_api", "depends_on", "provides_api"]
        assert kinds(system_id=banking) == ["depends_on", "provides_api"]  # either end
        assert kinds(component_id=api) == ["consumes_api", "provides_api"]
        assert kinds(kind="depends_on", system_id=callbot) == ["depends_on"]
        page = client.get(API, params={"per_page": 2, "page": 2}, headers=headers).json()
        assert (page["total"], len(page["items"])) == (3, 1)

        url = f"{API}/{body['id']}"
        assert client.patch(url, json={"note": "잔액 조회"}, headers=headers).json()["note"] == "잔액 조회"
        assert client.get(url, headers=headers).json()["note"] == "잔액 조회"
        assert client.delete(url, headers=headers).status_code == 204
        assert client.get(url, headers=headers).status_code == 404
        assert _actions(app, "relation.") == {"relation.create", "relation.update", "relation.delete"}


class TestCrossDomainVisibility:
    def test_a_relation_needs_both_ends_visible(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
        app: FastAPI,
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        banking, factory = make_system(kb, "banking"), make_system(samsung, "factory")
        secret_api = _component(app, factory, "mes-api", kind="api")
        admin = login(client, make_user(roles=("admin",)))
        relation = _relate(client, admin, "depends_on", _sys(banking), _sys(factory)).json()
        _relate(client, admin, "consumes_api", _sys(banking), _comp(secret_api))

        viewer = login(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        assert client.get(f"/api/v1/systems/{banking}", headers=viewer).status_code == 200
        assert client.get(API, headers=viewer).json()["total"] == 0
        assert client.get(API, params={"system_id": banking}, headers=viewer).json()["items"] == []
        assert client.get(f"{API}/{relation['id']}", headers=viewer).status_code == 404
        graph = client.get(f"/api/v1/systems/{banking}/graph", params={"depth": 2}, headers=viewer).json()
        assert graph == {
            "nodes": [{"id": banking, "type": "system", "name": "banking", "kind": None}],
            "edges": [],
        }

        ops = login(client, make_user(roles=("operations",), domain_ids=(kb,)))
        assert _relate(client, ops, "similar_to", _sys(banking), _sys(factory)).status_code == 404
        assert client.delete(f"{API}/{relation['id']}", headers=ops).status_code == 404

        both = login(client, make_user(roles=("viewer",), domain_ids=(kb, samsung)))
        assert client.get(API, headers=both).json()["total"] == 2
        names = {
            n["name"] for n in client.get(f"/api/v1/systems/{banking}/graph", headers=both).json()["nodes"]
        }
        assert names == {"banking", "factory", "mes-api"}


class TestGraph:
    def test_components_and_hops(
        self,
        client: TestClient,
        app: FastAPI,
        auth_headers: Callable[..., dict[str, str]],
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        headers = auth_headers("admin")
        domain_id = make_domain("kb-bank")
        a, b, c = (make_system(domain_id, slug) for slug in ("alpha", "bravo", "charlie"))
        api = _component(app, a, "alpha-api", kind="api")
        _relate(client, headers, "consumes_api", _sys(b), _comp(api))
        _relate(client, headers, "depends_on", _sys(b), _sys(c))
        _relate(client, headers, "part_of", _comp(api), _sys(a))  # same as the implicit membership edge

        one = client.get(f"/api/v1/systems/{a}/graph", headers=headers).json()
        assert {(n["name"], n["type"], n["kind"]) for n in one["nodes"]} == {
            ("alpha", "system", None),
            ("alpha-api", "component", "api"),
            ("bravo", "system", None),
        }
        assert sorted((e["source"], e["target"], e["kind"]) for e in one["edges"]) == sorted(
            [(api, a, "part_of"), (b, api, "consumes_api")]
        )
        two = client.get(f"/api/v1/systems/{a}/graph", params={"depth": 2}, headers=headers).json()
        assert {n["name"] for n in two["nodes"]} == {"alpha", "alpha-api", "bravo", "charlie"}
        assert (b, c, "depends_on") in {(e["source"], e["target"], e["kind"]) for e in two["edges"]}
        assert (
            client.get(f"/api/v1/systems/{a}/graph", params={"depth": 3}, headers=headers).status_code == 422
        )


class TestSimilarSystems:
    def test_references_are_scoped_and_audited(
        self,
        client: TestClient,
        app: FastAPI,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        project = _project(app, kb, "차세대 콜센터")
        callbot, factory = make_system(kb, "callbot"), make_system(samsung, "factory")
        admin = login(client, make_user(roles=("admin",)))
        base = f"/api/v1/projects/{project}/similar-systems"
        first = client.post(base, json={"system_id": callbot, "note": "상담 시나리오 재사용"}, headers=admin)
        assert first.status_code == 201, first.text
        assert first.json()["system"]["slug"] == "callbot"
        assert first.json()["system"]["domain"]["code"] == "kb-bank"
        client.post(base, json={"system_id": factory}, headers=admin)
        duplicate = client.post(base, json={"system_id": callbot}, headers=admin)
        assert (duplicate.status_code, duplicate.json()["errors"][0]["type"]) == (
            409,
            "similar_system.exists",
        )
        assert client.post(base, json={"system_id": "ghost"}, headers=admin).status_code == 404
        ref_url = f"{base}/{first.json()['id']}"
        assert client.patch(ref_url, json={"note": "IVR 흐름"}, headers=admin).json()["note"] == "IVR 흐름"
        assert [r["system"]["slug"] for r in client.get(base, headers=admin).json()] == ["callbot", "factory"]

        # A member of kb-bank sees the project but not the reference to samsung's system.
        ops = login(client, make_user(roles=("operations",), domain_ids=(kb,)))
        assert [r["system"]["slug"] for r in client.get(base, headers=ops).json()] == ["callbot"]
        hidden = client.get(base, headers=admin).json()[1]["id"]
        assert client.delete(f"{base}/{hidden}", headers=ops).status_code == 404
        assert client.post(base, json={"system_id": factory}, headers=ops).status_code == 404
        outsider = login(client, make_user(roles=("viewer",), domain_ids=(samsung,)))
        assert client.get(base, headers=outsider).status_code == 404

        assert client.delete(ref_url, headers=ops).status_code == 204
        assert client.get(base, headers=ops).json() == []
        assert _actions(app, "similar_system.") == {
            "similar_system.create",
            "similar_system.update",
            "similar_system.delete",
        }
