"""Pipeline template pages: the list with usage counts, the admin edit form (YAML stages checked on the
server, nothing lost on errors), version history, and who may see what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.web.conftest import post_form, sign_in
from timbel.core.db import session_scope
from timbel.pipelines import template_service

LIST = "/admin/pipeline-templates"


def template_id(app: FastAPI, key: str) -> str:
    with session_scope(app.state.session_factory) as session:
        template = template_service.get_by_key(session, key=key)
        assert template is not None
        return template.id


class TestTemplatePages:
    def test_admin_lists_edits_and_keeps_bad_yaml(
        self, client: TestClient, make_user: MakeUser, app: FastAPI, seeded: Callable[[], Any]
    ) -> None:
        seeded()
        with session_scope(app.state.session_factory) as session:
            template_service.record_use(session, key="go-gin")
            template_service.record_use(session, key="go-gin")
        sign_in(client, make_user(roles=("admin",)))
        listing = client.get(LIST)
        assert listing.status_code == 200 and "파이프라인 템플릿" in listing.text
        go_row = listing.text.split('id="pipeline-template-go-gin"')[1].split("</tr>")[0]
        assert '<td class="usage-count">2</td>' in go_row and "기본 제공" in go_row
        edit = f"{LIST}/{template_id(app, 'go-gin')}/edit"
        form = client.get(edit).text
        assert "- name: test\n  image: golang:1.23.4-bookworm\n  commands:\n  - GOCACHE=" in form
        bad_yaml = "- name: test\n  image: golang:1.23.4\n  commands: [go test ./...\n"
        fields = {"name": "Go Gin", "stack": "go", "framework": "Gin", "description": "", "stages": bad_yaml}
        rejected = post_form(client, edit, fields, token_from=edit)
        assert rejected.status_code == 422
        assert "단계가 올바른 YAML이 아닙니다" in rejected.text
        assert "commands: [go test ./..." in rejected.text  # what was typed is still there
        shape = post_form(client, edit, {**fields, "stages": "name: test"}, token_from=edit)
        assert shape.status_code == 422 and "name, image, commands를 가진 항목의 목록" in shape.text
        empty = post_form(
            client, edit, {**fields, "stages": "- name: test\n  image: golang:1.23.4\n"}, token_from=edit
        )
        assert empty.status_code == 422 and "1번째 단계: commands 값을 확인하세요" in empty.text
        leaky = "- name: test\n  image: golang:1.23.4\n  commands:\n  - git clone https://bot:s3cr3t@git.example.com/x\n"
        refused = post_form(client, edit, {**fields, "stages": leaky}, token_from=edit)
        assert refused.status_code == 422 and "Jenkins 자격 증명을 사용하세요" in refused.text
        good = "- name: test\n  image: golang:1.23.4-bookworm\n  commands:\n  - go test ./...\n"
        saved = post_form(client, edit, {**fields, "stages": good}, token_from=edit)
        assert saved.status_code == 303 and saved.headers["location"] == edit
        page = client.get(edit).text
        assert "파이프라인 템플릿을 저장했습니다" in page and "버전 2" in page and "버전 1" in page
        assert "2회 사용" in page
        again = post_form(client, edit, {**fields, "stages": good}, token_from=edit)
        assert again.status_code == 303 and "바뀐 내용이 없습니다" in client.get(edit).text

    def test_admin_creates(self, client: TestClient, make_user: MakeUser) -> None:
        sign_in(client, make_user(roles=("admin",)))
        new = f"{LIST}/new"
        fields = {
            "key": "kotlin-ktor",
            "name": "Kotlin Ktor",
            "stack": "java-gradle",
            "framework": "Ktor",
            "description": "",
            "stages": "- name: test\n  image: gradle:8.11.1-jdk21\n  commands:\n  - gradle test\n",
        }
        bad_key = post_form(client, new, {**fields, "key": "Kotlin Ktor"}, token_from=new)
        assert bad_key.status_code == 422 and 'value="Kotlin Ktor"' in bad_key.text
        created = post_form(client, new, fields, token_from=new)
        assert created.status_code == 303
        assert "파이프라인 템플릿을 만들었습니다" in client.get(created.headers["location"]).text
        duplicate = post_form(client, new, fields, token_from=new)
        assert (
            duplicate.status_code == 422 and "같은 키의 파이프라인 템플릿이 이미 있습니다" in duplicate.text
        )

    def test_others_read_the_list_but_cannot_edit(
        self, client: TestClient, make_user: MakeUser, app: FastAPI, seeded: Callable[[], Any]
    ) -> None:
        seeded()
        edit = f"{LIST}/{template_id(app, 'nestjs')}/edit"
        for role in ("operations", "viewer"):
            client.cookies.clear()
            sign_in(client, make_user(roles=(role,)))
            listing = client.get(LIST)
            assert listing.status_code == 200 and "nestjs" in listing.text
            assert edit not in listing.text and "new-pipeline-template" not in listing.text
            assert client.get(edit).status_code == 403
            assert client.get(f"{LIST}/new").status_code == 403
            posted = post_form(client, edit, {"name": "x", "stack": "node", "stages": ""}, token_from=LIST)
            assert posted.status_code == 403
        client.cookies.clear()
        assert client.get(LIST, follow_redirects=False).status_code in (302, 303)
