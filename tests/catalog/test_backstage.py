"""Backstage catalog-info.yaml import: parsing, all-or-nothing validation, upserts, owners, scoping."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.catalog import backstage
from timbel.catalog.models import AssetVersion, Component, Domain, Relation, System, SystemOwner
from timbel.core.db import session_scope

YAML = {"Content-Type": "application/yaml"}
CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: kb-bank
  title: 국민은행
  description: 금융 영업처
  annotations:
    timbel.io/industry: 금융
    timbel.io/priority: high
spec:
  owner: user:kim
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: kb-banking
  title: 인터넷뱅킹
  description: 개인 고객 인터넷뱅킹
  annotations:
    backstage.io/source-location: url:https://git.example.com/kb/banking/tree/develop/
  tags: [java, spring, monitoring]
  links:
    - url: https://banking.example.com
      title: 운영 사이트
spec:
  owner: group:banking-team
  domain: kb-bank
  lifecycle: production
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: transfer-web
  annotations:
    timbel.io/language: TypeScript
    timbel.io/reuse-score: "72.5"
spec:
  type: website
  lifecycle: production
  owner: group:banking-team
  system: kb-banking
  consumesApis: [transfer-api]
  dependsOn: [resource:kb-banking-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: transfer-api
spec:
  type: openapi
  lifecycle: production
  owner: group:banking-team
  system: kb-banking
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: transfer-service
spec:
  type: service
  lifecycle: production
  owner: group:banking-team
  system: kb-banking
  providesApis: [transfer-api]
  subcomponentOf: transfer-web
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: kb-banking-db
  title: PostgreSQL
spec:
  type: database
  owner: group:banking-team
  system: kb-banking
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: banking-team
spec:
  type: team
  children: []
  members: [lee, ghost]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: kim
spec:
  profile:
    email: kim@example.com
  memberOf: [banking-team]
"""


def _import(client: TestClient, headers: dict[str, str], text: str) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/catalog/import", content=text.encode(), headers={**headers, **YAML})
    return response.status_code, response.json()


def _counts(app: FastAPI) -> dict[str, int]:
    with session_scope(app.state.session_factory) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Domain, System, Component, Relation, AssetVersion)
        }


class TestParsing:
    def test_aliases_non_mappings_and_bad_envelopes_are_reported_per_document(self) -> None:
        assert (
            backstage.load_documents(b"a: &x [1, 2]\nb: *x\n")[1][0].reason == "YAML aliases are not accepted"
        )
        text = (
            b"- just a list\n---\nkind: System\nmetadata: {name: a}\n---\n"
            b"apiVersion: backstage.io/v1alpha1\nkind: Pipeline\nmetadata: {name: a}\n---\n"
            b"apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: 'no spaces'}\n---\n"
            b"apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {}\n"
        )
        entities, problems = backstage.read_entities(text)
        assert entities == []
        assert [(p.document, p.type) for p in problems] == [
            (1, "backstage.not_mapping"),
            (2, "backstage.missing_api_version"),
            (3, "backstage.unknown_kind"),
            (4, "backstage.bad_name"),
            (5, "backstage.missing_name"),
        ]

    def test_entity_references_follow_backstage_syntax(self) -> None:
        ref = backstage.parse_ref("Component:payments/Transfer-Web", default_kind="api")
        assert (ref.kind, ref.namespace, ref.name) == ("component", "payments", "Transfer-Web")
        assert str(backstage.parse_ref("transfer-api", default_kind="api")) == "api:transfer-api"
        for bad in ("", "pipeline:x", "a b", "component:"):
            try:
                backstage.parse_ref(bad, default_kind="component")
            except ValueError:
                continue
            raise AssertionError(f"{bad!r} was accepted")


class TestImport:
    def test_import_maps_kinds_relations_and_owners_then_reimport_changes_nothing(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        kim = make_user("kim", roles=("operations",), email="kim@example.com")
        lee = make_user("lee", roles=("viewer",))
        headers = login(client, make_user(roles=("admin",)))
        status, body = _import(client, headers, CATALOG)
        assert status == 200, body
        counts = body["counts"]
        assert counts["Domain"]["created"] == 1 and counts["System"]["created"] == 1  # type: ignore[index]
        assert counts["Component"]["created"] == 2 and counts["API"]["created"] == 1  # type: ignore[index]
        assert counts["Resource"]["created"] == 1 and counts["Relation"]["created"] == 3  # type: ignore[index]
        reasons = [w["reason"] for w in body["warnings"]]  # type: ignore[attr-defined]
        assert any("resource:kb-banking-db" in r for r in reasons)  # relations to datastores are not kept
        assert any("user:ghost" in r for r in reasons)  # no account is created for unknown owners
        with session_scope(app.state.session_factory) as session:
            domain = session.scalar(select(Domain).where(Domain.code == "kb-bank"))
            assert domain is not None
            assert (domain.name, domain.industry, domain.priority, domain.owner_id) == (
                "국민은행",
                "금융",
                "high",
                kim.id,
            )
            system = session.scalar(select(System).where(System.slug == "kb-banking"))
            assert system is not None
            assert (system.repo_url, system.default_branch, system.stage) == (
                "https://git.example.com/kb/banking",
                "develop",
                "production",
            )
            assert (system.languages, system.frameworks, system.datastores) == (
                ["Java"],
                ["Spring"],
                ["PostgreSQL"],
            )
            assert system.links == [{"title": "운영 사이트", "url": "https://banking.example.com"}]
            owners = set(
                session.scalars(select(SystemOwner.user_id).where(SystemOwner.system_id == system.id))
            )
            assert owners == {kim.id, lee.id}  # the group's members plus the user who says memberOf
            kinds = dict(session.execute(select(Component.name, Component.kind)).all())
            assert kinds == {"transfer-web": "ui", "transfer-api": "api", "transfer-service": "service"}
            web = session.scalar(select(Component).where(Component.name == "transfer-web"))
            assert web is not None and (web.language, web.reuse_score) == ("TypeScript", 72.5)
            edges = {
                (r.kind, r.source_component_id is not None, r.target_component_id is not None)
                for r in session.scalars(select(Relation))
            }
            assert edges == {
                ("consumes_api", True, True),
                ("provides_api", True, True),
                ("part_of", True, True),
            }
            assert session.scalar(select(func.count()).select_from(AssetVersion)) == 3
            audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "catalog.import"))
            assert audit is not None and audit.changes["counts"]["System"]["created"] == 1
        before = _counts(app)
        status, again = _import(client, headers, CATALOG)
        assert status == 200
        assert all(c["created"] == 0 and c["updated"] == 0 for c in again["counts"].values())  # type: ignore[attr-defined]
        assert _counts(app) == before

    def test_update_changes_only_stated_fields_and_records_a_version(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        assert _import(client, headers, CATALOG)[0] == 200
        changed = CATALOG.replace('timbel.io/reuse-score: "72.5"', 'timbel.io/reuse-score: "80"')
        status, body = _import(client, headers, changed.replace("  title: 국민은행\n", ""))
        assert status == 200
        assert body["counts"]["Component"] == {"created": 0, "updated": 1, "unchanged": 1}  # type: ignore[index]
        with session_scope(app.state.session_factory) as session:
            web = session.scalar(select(Component).where(Component.name == "transfer-web"))
            assert web is not None and (web.reuse_score, web.version) == (80.0, 2)
            assert session.scalar(select(Domain.name)) == "국민은행"  # no title in the file: the name stays

    def test_one_invalid_entity_fails_the_whole_file_with_every_reason(
        self, client: TestClient, make_user: MakeUser, app: FastAPI
    ) -> None:
        headers = login(client, make_user(roles=("admin",)))
        broken = CATALOG.replace("system: kb-banking\n  definition", "system: nowhere\n  definition")
        broken += (
            "---\napiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: lonely-db}\n"
            "spec: {type: database, owner: kim}\n---\nkind: Component\nmetadata: {name: x}\n"
        )
        status, body = _import(client, headers, broken)
        assert status == 422
        problems = {(e["document"], e["kind"], e["name"]): e["msg"] for e in body["errors"]}  # type: ignore[attr-defined]
        assert "neither in the file nor visible" in problems[(4, "API", "transfer-api")]
        assert "spec.system" in problems[(9, "Resource", "lonely-db")]
        assert problems[(10, "Component", "x")] == "apiVersion is missing"
        assert _counts(app) == {t: 0 for t in _counts(app)}

    def test_scoped_callers_cannot_reach_other_domains(
        self, client: TestClient, make_user: MakeUser, make_domain: object, app: FastAPI
    ) -> None:
        mine = make_domain("kb-bank")  # type: ignore[operator]
        make_domain("samsung")  # type: ignore[operator]
        headers = login(client, make_user(roles=("operations",), domain_ids=(mine,)))
        system = (
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: fab}\n"
            "spec: {owner: kim, domain: %s}\n"
        )
        status, body = _import(client, headers, system % "samsung")
        missing = _import(client, headers, system % "lg-chem")[1]
        assert status == 422
        assert body["errors"][0]["msg"].replace("samsung", "X") == missing["errors"][0]["msg"].replace(
            "lg-chem", "X"
        )  # type: ignore[index]
        domain = "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {name: samsung, title: 삼성}\n"
        assert _import(client, headers, domain)[0] == 422
        assert _import(client, headers, system % "kb-bank")[0] == 200
        created = "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata: {name: new-client}\n"
        assert _import(client, headers, created)[0] == 200
        assert client.get("/api/v1/catalog/export?domain=new-client", headers=headers).status_code == 200

    def test_limits_and_media_types(self, client: TestClient, make_user: MakeUser, app: FastAPI) -> None:
        headers = login(client, make_user(roles=("operations",)))
        limit = app.state.settings.catalog.max_upload_bytes
        big = client.post("/api/v1/catalog/import", content=b"#" * (limit + 1), headers={**headers, **YAML})
        assert big.status_code == 413
        assert client.post("/api/v1/catalog/import", json={}, headers=headers).status_code == 415
        bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
        status, body = _import(client, headers, bomb)
        assert status == 422 and body["errors"][0]["type"] == "backstage.yaml_alias"  # type: ignore[index]
        files = {"file": ("catalog-info.yaml", CATALOG.encode(), "application/yaml")}
        upload = client.post("/api/v1/catalog/import", files=files, headers=headers)
        assert upload.status_code == 200, upload.text
        viewer = login(client, make_user(roles=("viewer",)))
        assert (
            client.post("/api/v1/catalog/import", content=b"", headers={**viewer, **YAML}).status_code == 403
        )
