"""GitOps admin pages: add and edit repositories (secrets never shown again), refused URLs, the
per-domain environment mapping that ``repository_for`` follows, and admins only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import MakeUser
from tests.web.conftest import post_form, sign_in
from timbel.gitops import service as gitops_service
from timbel.gitops.models import GitOpsRepository

SECRET = "planted-page-token-5e1a"
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nplanted-ssh-key-77c0\n-----END OPENSSH PRIVATE KEY-----\n"
PAGE = "/admin/gitops"
URL_REFUSED = "인증 정보가 들어 있지 않은 https, ssh, git URL을 입력하세요."


def _form(**fields: str) -> dict[str, object]:
    base = {"name": "prod", "url": "https://git.example.com/ops/prod.git", "branch": "main", "auth": "token"}
    return {**base, "username": "", "secret": SECRET, "ssh_key": ""} | fields


def _row(app: FastAPI, name: str) -> tuple[str, str | None]:
    """The repository's id and its decrypted secret."""
    with app.state.session_factory() as session:
        row = session.scalar(select(GitOpsRepository).where(GitOpsRepository.name == name))
        assert row is not None
        creds = gitops_service.credentials_of(row, settings=app.state.settings)
        return row.id, None if creds is None else creds.token or creds.ssh_private_key


class TestRepositories:
    def test_add_and_edit_never_show_the_secret(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        first = client.get(PAGE)
        assert first.status_code == 200 and "GitOps 레포지토리" in first.text
        assert 'id="gitops-repository-default"' in first.text and "내장" in first.text
        added = post_form(client, f"{PAGE}/repositories", _form(), token_from=PAGE)
        assert added.status_code == 303 and added.headers["location"] == PAGE
        listed = client.get(PAGE)
        assert "GitOps 레포지토리를 추가했습니다." in listed.text
        assert (
            'id="gitops-repository-prod"' in listed.text
            and "https://git.example.com/ops/prod.git" in listed.text
        )
        repo_id, stored = _row(app, "prod")
        assert stored == SECRET
        edit = f"{PAGE}/repositories/{repo_id}"
        kept = post_form(client, edit, _form(branch="release", secret=""), token_from=edit)
        assert kept.status_code == 303 and _row(app, "prod")[1] == SECRET
        keyed = post_form(
            client, edit, _form(auth="ssh", branch="release", secret="", ssh_key=SSH_KEY), token_from=edit
        )
        assert keyed.status_code == 303 and _row(app, "prod")[1] == SSH_KEY
        page = client.get(edit)
        assert "GitOps 레포지토리를 저장했습니다." in page.text and 'value="release"' in page.text
        assert "저장됨" in page.text
        cleared = post_form(client, edit, _form(auth="ssh", secret="", clear_secret="on"), token_from=edit)
        assert cleared.status_code == 303 and _row(app, "prod")[1] is None
        assert "저장되지 않음" in client.get(edit).text
        bad = post_form(client, edit, _form(url="file:///srv/x.git", secret=SECRET), token_from=edit)
        assert bad.status_code == 422 and URL_REFUSED in bad.text and _row(app, "prod")[1] is None
        pages = [listed, page, client.get(PAGE), client.get(edit), bad]
        for response in pages:
            assert SECRET not in response.text and "planted-ssh-key" not in response.text

    @pytest.mark.parametrize(
        "url", ["file:///srv/gitops.git", "https://kim:pw@git.example.com/ops.git", "ext::sh -c id"]
    )
    def test_refused_url_keeps_input_but_not_the_secret(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, url: str
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        response = post_form(client, f"{PAGE}/repositories", _form(url=url, name="staging"), token_from=PAGE)
        assert response.status_code == 422
        assert URL_REFUSED in response.text and 'value="staging"' in response.text
        assert "is-invalid" in response.text.split('id="url"')[0].rsplit("<input", 1)[1]
        assert SECRET not in response.text
        with app.state.session_factory() as session:
            assert session.scalar(select(GitOpsRepository).where(GitOpsRepository.name == "staging")) is None

    def test_default_url_is_fixed_and_names_are_unique(
        self, client: TestClient, app: FastAPI, make_user: MakeUser
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        client.get(PAGE)
        default_id, _ = _row(app, "default")
        edit = f"{PAGE}/repositories/{default_id}"
        assert "위치를 바꿀 수 없습니다" in client.get(edit).text
        moved = post_form(
            client, edit, _form(url="https://git.example.com/x.git", branch="trunk"), token_from=edit
        )
        assert moved.status_code == 303  # the URL field is ignored for the embedded repository
        with app.state.session_factory() as session:
            row = session.get(GitOpsRepository, default_id)
            assert row is not None and row.branch == "trunk" and row.url.startswith("/")
        again = post_form(client, f"{PAGE}/repositories", _form(name="default"), token_from=PAGE)
        assert again.status_code == 422 and "같은 이름의 레포지토리가 이미 있습니다." in again.text


class TestMapping:
    def test_mapping_is_saved_and_used(
        self, client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        sign_in(client, make_user(roles=("admin",)))
        acme = make_domain("acme")
        assert post_form(client, f"{PAGE}/repositories", _form(), token_from=PAGE).status_code == 303
        prod_id, _ = _row(app, "prod")
        assert 'id="gitops-mapping-acme"' in client.get(PAGE).text
        saved = post_form(
            client,
            f"{PAGE}/targets",
            {"domain_id": acme, "dev": "", "stg": "", "prod": prod_id},
            token_from=PAGE,
        )
        assert saved.status_code == 303
        page = client.get(PAGE)
        assert "환경별 레포지토리 지정을 저장했습니다." in page.text
        assert f'<option value="{prod_id}" selected>prod</option>' in page.text
        settings = app.state.settings
        with app.state.session_factory() as session:
            by_env = {
                env: gitops_service.repository_for(session, settings=settings, domain_id=acme, env=env).name
                for env in ("dev", "stg", "prod")
            }
        assert by_env == {"dev": "default", "stg": "default", "prod": "prod"}
        reset = post_form(client, f"{PAGE}/targets", {"domain_id": acme, "prod": ""}, token_from=PAGE)
        assert reset.status_code == 303
        with app.state.session_factory() as session:
            row = gitops_service.repository_for(session, settings=settings, domain_id=acme, env="prod")
            assert row.name == "default"
        unknown = post_form(
            client, f"{PAGE}/targets", {"domain_id": "nope", "prod": prod_id}, token_from=PAGE
        )
        assert unknown.status_code == 422


class TestAccess:
    def test_non_admins_get_403(
        self, client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
    ) -> None:
        sign_in(client, make_user(roles=("operations",)))
        assert client.get(PAGE).status_code == 403
        token_page = client.get("/")
        assert token_page.status_code == 200
        created = post_form(client, f"{PAGE}/repositories", _form(), token_from="/")
        assert created.status_code == 403
        mapped = post_form(client, f"{PAGE}/targets", {"domain_id": make_domain("acme")}, token_from="/")
        assert mapped.status_code == 403
        assert client.get(f"{PAGE}/repositories/whatever").status_code == 403
