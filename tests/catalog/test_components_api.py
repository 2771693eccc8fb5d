"""Code components (코드 컴포넌트): CRUD, names unique per system, scoping, versions, reuse and popularity."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.core.db import session_scope

API = "/api/v1/components"


def _component(client: TestClient, headers: dict[str, str], system_id: str, **fields: Any) -> dict[str, Any]:
    body = {"system_id": system_id, "name": "결제 위젯", "kind": "ui", "language": "TypeScript", **fields}
    response = client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(app.state.engine, "before_cursor_execute", before)


class TestComponents:
    def test_create_read_update_delete_and_audit(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
        app: FastAPI,
    ) -> None:
        domain_id = make_domain("kb-bank")
        system_id = make_system(domain_id, "kb-pay", name="KB 결제")
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        created = _component(
            client, headers, system_id, path="src/widgets/pay", reuse_score=72.5, commit_sha="ABCDEF1234"
        )
        assert created["system"] == {"id": system_id, "slug": "kb-pay", "name": "KB 결제"}
        assert created["domain"]["code"] == "kb-bank"
        assert (created["version"], created["commit_sha"], created["source"]) == (1, "abcdef1234", "manual")
        assert created["usage"] == {"views": 0, "downloads": 0, "reuses": 0}
        url = f"{API}/{created['id']}"
        changed = client.patch(url, json={"description": "카드 결제 UI", "reuse_score": 80}, headers=headers)
        assert changed.status_code == 200
        assert (changed.json()["version"], changed.json()["reuse_score"]) == (2, 80)
        same = client.patch(url, json={"description": "카드 결제 UI"}, headers=headers)
        assert same.json()["version"] == 2  # nothing changed, no new version
        assert client.delete(url, headers=headers).status_code == 204
        assert client.get(url, headers=headers).status_code == 404
        with session_scope(app.state.session_factory) as session:
            actions = set(
                session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("component.%")))
            )
        assert actions == {"component.create", "component.update", "component.delete"}

    def test_validation_duplicates_and_missing_references(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        domain_id = make_domain("kb-bank")
        system_id = make_system(domain_id, "kb-pay")
        other_system = make_system(make_domain("samsung"), "samsung-mes")
        headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
        first = _component(client, headers, system_id)
        duplicate = client.post(API, json={"system_id": system_id, "name": "결제 위젯"}, headers=headers)
        assert duplicate.status_code == 409
        assert duplicate.json()["errors"][0]["type"] == "component.name_taken"
        second = _component(client, headers, system_id, name="환율 API", kind="api")
        renamed = client.patch(f"{API}/{second['id']}", json={"name": first["name"]}, headers=headers)
        assert renamed.status_code == 409
        for bad in ({"kind": "gadget"}, {"reuse_score": 101}, {"commit_sha": "not-hex!"}, {"name": ""}):
            response = client.post(API, json={"system_id": system_id, "name": "x", **bad}, headers=headers)
            assert response.status_code == 422, bad
        assert client.post(API, json={"system_id": "ghost", "name": "x"}, headers=headers).status_code == 404
        # A system of another customer is answered exactly like a missing one.
        invisible = client.post(API, json={"system_id": other_system, "name": "x"}, headers=headers)
        assert invisible.status_code == 404
        assert client.get(API, params={"sort": "colour"}, headers=headers).status_code == 422

    def test_lists_filter_sort_and_stay_in_the_callers_domains(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        kb_pay, kb_loan = make_system(kb, "kb-pay"), make_system(kb, "kb-loan")
        mes = make_system(samsung, "samsung-mes")
        admin = login(client, make_user(roles=("admin",)))
        _component(client, admin, kb_pay, name="결제 위젯", reuse_score=90)
        _component(client, admin, kb_loan, name="Loan calculator", kind="library", language="Python")
        _component(client, admin, mes, name="설비 모니터", kind="service", language="Java", source="auto")
        names = lambda r: [c["name"] for c in r.json()["items"]]  # noqa: E731
        assert names(client.get(API, params={"q": "위젯"}, headers=admin)) == ["결제 위젯"]
        assert names(client.get(API, params={"language": "python"}, headers=admin)) == ["Loan calculator"]
        assert names(client.get(API, params={"source": "auto"}, headers=admin)) == ["설비 모니터"]
        assert names(client.get(API, params={"system_id": kb_loan}, headers=admin)) == ["Loan calculator"]
        by_score = client.get(API, params={"sort": "-reuse_score", "domain_id": kb}, headers=admin)
        assert names(by_score) == ["결제 위젯", "Loan calculator"]
        viewer = login(client, make_user(roles=("viewer",), domain_ids=(kb,)))
        seen = client.get(API, params={"sort": "name"}, headers=viewer).json()
        assert seen["total"] == 2 and {c["domain"]["code"] for c in seen["items"]} == {"kb-bank"}
        assert client.get(API, params={"system_id": mes}, headers=viewer).json()["total"] == 0
        hidden = client.get(API, params={"q": "설비"}, headers=admin).json()["items"][0]["id"]
        assert client.get(f"{API}/{hidden}", headers=viewer).status_code == 404
        assert client.get(f"{API}/{hidden}/versions", headers=viewer).status_code == 404
        assert client.post(f"{API}/{hidden}/reuse", headers=viewer).status_code == 404

    def test_list_uses_a_fixed_number_of_queries(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
        app: FastAPI,
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        first = make_system(make_domain("kb-bank"), "kb-pay")
        _component(client, headers, first, name="c0")
        client.get(API, headers=headers)  # warm the principal cache
        with counting_queries(app) as small:
            assert client.get(API, headers=headers).json()["total"] == 1
        for n in range(8):
            system = make_system(make_domain(f"d{n}"), f"s{n}")
            created = _component(client, headers, system, name=f"c{n + 1}")
            client.post(f"{API}/{created['id']}/reuse", headers=headers)
        with counting_queries(app) as large:
            assert client.get(API, headers=headers).json()["total"] == 9
        assert len(large) == len(small)


class TestVersionsAndUsage:
    def test_versions_diff_views_reuses_and_popular(
        self,
        client: TestClient,
        make_user: MakeUser,
        make_domain: Callable[[str], str],
        make_system: Callable[..., str],
    ) -> None:
        kb, samsung = make_domain("kb-bank"), make_domain("samsung")
        admin = login(client, make_user(roles=("admin",)))
        widget = _component(client, admin, make_system(kb, "kb-pay"), description="첫 줄\n둘째 줄")
        secret = _component(client, admin, make_system(samsung, "mes"), name="설비 모니터")
        url = f"{API}/{widget['id']}"
        client.patch(url, json={"description": "첫 줄\n바뀐 줄", "kind": "library"}, headers=admin)
        history = client.get(f"{url}/versions", headers=admin).json()
        assert [v["version"] for v in history] == [2, 1]
        assert history[0]["author"]["username"].startswith("admin")
        first = client.get(f"{url}/versions/1", headers=admin).json()
        assert first["snapshot"]["kind"] == "ui" and first["snapshot"]["description"] == "첫 줄\n둘째 줄"
        assert client.get(f"{url}/versions/9", headers=admin).status_code == 404
        diff = client.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=admin).json()
        changes = {c["field"]: c for c in diff["changes"]}
        assert set(changes) == {"description", "kind"}
        assert "-둘째 줄" in changes["description"]["lines"] and "+바뀐 줄" in changes["description"]["lines"]
        assert (changes["kind"]["old"], changes["kind"]["new"]) == ("ui", "library")
        for _ in range(3):
            client.get(url, headers=admin)
        client.get(f"{API}/{secret['id']}", headers=admin)
        viewer_account = make_user(roles=("viewer",), domain_ids=(kb,))
        viewer = login(client, viewer_account)
        counts = client.post(f"{url}/reuse", headers=viewer)
        assert counts.status_code == 200 and counts.json() == {"views": 3, "downloads": 0, "reuses": 1}
        assert client.get(url, headers=viewer).json()["usage"] == {"views": 4, "downloads": 0, "reuses": 1}
        popular = client.get("/api/v1/catalog/popular", params={"by": "view"}, headers=admin).json()
        assert [(p["title"], p["usage"]["views"]) for p in popular] == [("결제 위젯", 4), ("설비 모니터", 1)]
        # The viewer of one customer never sees another customer's popular assets.
        seen = client.get("/api/v1/catalog/popular", params={"by": "view"}, headers=viewer).json()
        assert [p["id"] for p in seen] == [widget["id"]]
        reused = client.get("/api/v1/catalog/popular", params={"by": "reuse"}, headers=viewer).json()
        assert [(p["kind"], p["usage"]["reuses"]) for p in reused] == [("component", 1)]
        assert (
            client.get("/api/v1/catalog/popular", params={"by": "likes"}, headers=viewer).status_code == 422
        )
