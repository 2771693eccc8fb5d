"""Deploy wizard steps 2–4 pages: configure (validation, secrets), review (status, diffs, checks), commit
(operation, "no change", hand edits), the GitOps history page, and who may see or change what."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.analysis._analyze_fixture import build_fastapi_repo
from tests.conftest import MakeUser, login
from tests.gitops.conftest import hand_commit, remote_file
from tests.web.conftest import post_form, sign_in
from timbel.gitops import service as gitops_service
from timbel.gitops.models import DeliveryDraft

SECRET = "planted-db-password-7f3a"
OTHER_SECRET = "second-planted-secret-91bc"


@pytest.fixture
def shop(
    client: TestClient, app: FastAPI, make_user: MakeUser, make_domain: Callable[[str], str], tmp_path: Path
) -> dict[str, Any]:
    """An analysed, registered system (an admin analyses a server path) and an operations user of it."""
    domain_id = make_domain("acme")
    admin = login(client, make_user(roles=("admin",)))
    repo = build_fastapi_repo(tmp_path / "shop")
    started = client.post("/api/v1/analyses", json={"path": str(repo)}, headers=admin).json()
    registered = client.post(
        f"/api/v1/analyses/{started['id']}/register",
        json={"domain_id": domain_id, "slug": "shop"},
        headers=admin,
    )
    assert registered.status_code == 200, registered.text
    client.cookies.clear()
    ops = make_user(roles=("operations",), domain_ids=(domain_id,))
    return {"system_id": registered.json()["system_id"], "domain_id": domain_id, "ops": ops}


def configure_url(shop: dict[str, Any]) -> str:
    return f"/deploy/systems/{shop['system_id']}/configure"


def form_fields(html: str) -> dict[str, Any]:
    """The configure form's fields as a browser would submit them (checked boxes only)."""
    fields: dict[str, Any] = {}
    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        key, val = name.group(1), (value.group(1) if value else "")
        if key == "environments":
            fields.setdefault(key, []).append(val)
        else:
            fields[key] = val.replace("&#34;", '"').replace("&amp;", "&")
    for name, body in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[name] = body
    return fields


def save(client: TestClient, shop: dict[str, Any], **changes: Any) -> Any:
    """Load the configure form, change some fields, submit it."""
    page = client.get(configure_url(shop))
    assert page.status_code == 200, page.text
    data = {**form_fields(page.text), **changes}
    return post_form(client, configure_url(shop), data, token_from=configure_url(shop))


def draft_id_of(location: str) -> str:
    match = re.fullmatch(r"/deploy/drafts/([^/]+)/review", location)
    assert match, location
    return match.group(1)


def commit(client: TestClient, draft_id: str, **data: Any) -> str:
    review = f"/deploy/drafts/{draft_id}/review"
    done = post_form(
        client, f"/deploy/drafts/{draft_id}/commit", {"why": "first delivery", **data}, token_from=review
    )
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


class TestConfigure:
    def test_the_proposed_plan_is_a_form(self, client: TestClient, shop: dict[str, Any]) -> None:
        sign_in(client, shop["ops"])
        page = client.get(configure_url(shop))
        assert page.status_code == 200
        fields = form_fields(page.text)
        assert fields["s0.port"] == "8000" and fields["s0.name"] == "shop-api"
        assert fields["environments"] == ["dev", "stg", "prod"]
        assert fields["s0.prod.replicas"] == "2" and fields["registry"]
        assert 'id="save-plan"' in page.text

    def test_invalid_input_is_422_next_to_the_field_and_keeps_what_was_typed(
        self, client: TestClient, shop: dict[str, Any]
    ) -> None:
        sign_in(client, shop["ops"])
        bad = save(
            client,
            shop,
            **{
                "s0.port": "70000",
                "s0.cpu_limit": "lots",
                "s0.dev.ingress_host": "not a host",
                "s0.stg.min_replicas": "5",
                "s0.stg.max_replicas": "2",
                "s0.env_vars": "LOG_LEVEL=debug\n1BAD=x",
                "s0.secret_vars": f"DB_PASSWORD={SECRET}",
                "registry": "Registry With Spaces",
            },
        )
        assert bad.status_code == 422
        html = bad.text
        assert 'value="70000"' in html and 'value="lots"' in html and 'value="not a host"' in html
        assert "LOG_LEVEL=debug" in html and "DB_PASSWORD=" in html and SECRET not in html
        expected = {
            "s0.port": "1에서 65535 사이의 포트를 입력하세요.",
            "s0.cpu_limit": "250m 같은 밀리코어나",
            "s0.dev.ingress_host": "DNS 호스트 이름을 쓰세요.",
            "s0.stg.max_replicas": "최대값은 최소값보다 작을 수 없습니다.",
            "s0.env_vars": "2행: 이름=값 형식으로 쓰세요.",
            "registry": "레지스트리와 경로를 쓰세요.",
        }
        for field, message in expected.items():
            input_tag = re.search(rf'<(input|textarea) [^>]*id="{re.escape(field)}"[^>]*>', html)
            assert input_tag is not None and "is-invalid" in input_tag.group(0), field
            after = html[input_tag.end() : input_tag.end() + 1500]
            assert message in after.split('<div class="col')[0] or message in after, (field, message)
        assert "s0.stg.min_replicas" in html and 'value="5"' in html
        none_saved = client.get(configure_url(shop))
        assert "저장한 계획" not in none_saved.text and 'value="8000"' in none_saved.text

    def test_no_environment_chosen_is_refused(self, client: TestClient, shop: dict[str, Any]) -> None:
        sign_in(client, shop["ops"])
        page = client.get(configure_url(shop))
        data = {k: v for k, v in form_fields(page.text).items() if k != "environments"}
        refused = post_form(client, configure_url(shop), data, token_from=configure_url(shop))
        assert refused.status_code == 422 and "환경을 하나 이상" in refused.text

    def test_a_saved_plan_comes_back_and_secrets_are_kept_but_never_shown(
        self, client: TestClient, shop: dict[str, Any], app: FastAPI
    ) -> None:
        sign_in(client, shop["ops"])
        saved = save(
            client,
            shop,
            environments=["dev", "prod"],
            **{
                "s0.prod.replicas": "3",
                "s0.env_vars": "LOG_LEVEL=info",
                "s0.secret_vars": f"DB_PASSWORD={SECRET}",
            },
        )
        assert saved.status_code == 303, saved.text
        first = draft_id_of(saved.headers["location"])
        page = client.get(configure_url(shop))
        assert SECRET not in page.text and "DB_PASSWORD=" in page.text and "(저장됨)" in page.text
        fields = form_fields(page.text)
        assert fields["environments"] == ["dev", "prod"] and fields["s0.prod.replicas"] == "3"
        again = save(client, shop)  # DB_PASSWORD= left empty: the stored value is kept
        assert again.status_code == 303
        second = draft_id_of(again.headers["location"])
        with app.state.session_factory() as session:
            from timbel.gitops import delivery

            for draft_id in (first, second):
                draft = session.get(DeliveryDraft, draft_id)
                assert (
                    draft is not None
                    and SECRET not in str(draft.plan)
                    and SECRET not in (draft.secrets or "")
                )
                assert delivery.secret_value_names(draft, settings=app.state.settings) == {
                    "shop-api": ["DB_PASSWORD"]
                }
            stored = gitops_service.secret_box(app.state.settings).decrypt(
                session.get(DeliveryDraft, second).secrets or "",
                context=second,  # type: ignore[union-attr]
            )
            assert SECRET in stored
        replaced = save(client, shop, **{"s0.secret_vars": f"DB_PASSWORD={OTHER_SECRET}"})
        third = draft_id_of(replaced.headers["location"])
        for path in (configure_url(shop), f"/deploy/drafts/{third}/review"):
            html = client.get(path).text
            assert SECRET not in html and OTHER_SECRET not in html


class TestReviewAndCommit:
    def test_review_commit_history_and_no_change(self, client: TestClient, shop: dict[str, Any]) -> None:
        sign_in(client, shop["ops"])
        saved = save(client, shop, **{"s0.secret_vars": f"DB_PASSWORD={SECRET}"})
        draft_id = draft_id_of(saved.headers["location"])
        review = client.get(f"/deploy/drafts/{draft_id}/review")
        assert review.status_code == 200 and SECRET not in review.text
        html = review.text
        assert 'data-path="acme/shop/chart/Chart.yaml" data-status="new"' in html
        assert 'data-path="Jenkinsfile" data-status="app"' in html
        assert 'class="language-groovy"' in html and 'class="language-yaml"' in html
        assert 'id="commit"' in html and 'id="commit" disabled' not in html
        assert "check-warning" in html  # the repository's own Dockerfile is checked (warnings only)
        rendered = re.search(r'data-env="prod">(.*?)</details>', html, re.DOTALL)
        assert rendered is not None and "kind: Deployment" in rendered.group(1)
        assert "acme-shop-prod" in rendered.group(1) and "replicas: 2" in rendered.group(1)
        patch = client.get(f"/deploy/drafts/{draft_id}/app.patch")
        assert patch.status_code == 200 and "+++ b/Jenkinsfile" in patch.text and SECRET not in patch.text

        location = commit(client, draft_id)
        operation = client.get(location)
        assert operation.status_code == 200 and 'data-state="succeeded"' in operation.text
        assert "acme/shop/envs/dev/values.yaml" in operation.text and SECRET not in operation.text
        sha = re.search(r'class="commit-sha" title="([0-9a-f]{40})"', operation.text)
        assert sha is not None

        history = client.get(f"/deploy/systems/{shop['system_id']}/gitops")
        assert history.status_code == 200 and sha.group(1) in history.text and "Timbel 작업" in history.text
        diff = client.get(f"/deploy/systems/{shop['system_id']}/gitops", params={"sha": sha.group(1)})
        assert "diff-add" in diff.text
        assert "+++ b/acme/shop/chart/Chart.yaml" in diff.text and SECRET not in diff.text

        review_again = client.get(f"/deploy/drafts/{draft_id}/review")
        assert 'data-status="new"' not in review_again.text and 'data-status="unchanged"' in review_again.text
        second = client.get(commit(client, draft_id))
        assert 'id="no-change"' in second.text and "변경 없음" in second.text

    def test_a_changed_plan_shows_the_diff(self, client: TestClient, shop: dict[str, Any]) -> None:
        sign_in(client, shop["ops"])
        commit(client, draft_id_of(save(client, shop).headers["location"]))
        changed = draft_id_of(save(client, shop, **{"s0.prod.replicas": "5"}).headers["location"])
        review = client.get(f"/deploy/drafts/{changed}/review").text
        assert 'data-path="acme/shop/envs/prod/values.yaml" data-status="changed"' in review
        assert re.search(r'diff-add bg-green-lt">\+\s*replicas: 5', review)
        assert re.search(r'diff-del bg-red-lt">-\s*replicas: 2', review)

    def test_hand_edits_stop_the_commit_until_overwrite_is_ticked(
        self, client: TestClient, shop: dict[str, Any], app: FastAPI, tmp_path: Path
    ) -> None:
        sign_in(client, shop["ops"])
        commit(client, draft_id_of(save(client, shop).headers["location"]))
        bare = gitops_service.embedded_path(app.state.settings)
        path = "acme/shop/envs/prod/values.yaml"
        hand_commit(str(bare), tmp_path / "person", {path: remote_file(bare, path) + "# tuned by hand\n"})
        draft_id = draft_id_of(save(client, shop, **{"s0.prod.replicas": "4"}).headers["location"])
        review = client.get(f"/deploy/drafts/{draft_id}/review").text
        assert 'id="hand-edits"' in review and 'id="overwrite"' in review and path in review
        failed = client.get(commit(client, draft_id))
        assert 'data-state="failed"' in failed.text and path in failed.text
        assert f"/deploy/drafts/{draft_id}/review?overwrite=true" in failed.text
        assert "tuned by hand" in remote_file(bare, path)
        retry = client.get(f"/deploy/drafts/{draft_id}/review?overwrite=true").text
        assert re.search(r'id="overwrite" checked', retry)
        done = client.get(commit(client, draft_id, overwrite="on"))
        assert 'data-state="succeeded"' in done.text and "replicas: 4" in remote_file(bare, path)
        history = client.get(f"/deploy/systems/{shop['system_id']}/gitops", params={"env": "prod"}).text
        assert "hand edit" in history and "직접 수정" in history

    def test_failed_checks_disable_the_commit_and_commit_nothing(
        self, client: TestClient, shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from timbel.gitops import delivery
        from timbel.scaffold.generate import Check

        real = delivery.bundle_for

        def failing(*args: Any, **kwargs: Any) -> Any:
            bundle = real(*args, **kwargs)
            bundle.checks.append(Check("acme/shop/envs/dev/values.yaml", "error", "planted schema failure"))
            return bundle

        monkeypatch.setattr(delivery, "bundle_for", failing)
        sign_in(client, shop["ops"])
        draft_id = draft_id_of(save(client, shop).headers["location"])
        review = client.get(f"/deploy/drafts/{draft_id}/review").text
        assert 'id="commit" disabled' in review and 'id="commit-blocked"' in review
        assert re.search(
            r'class="[^"]*check-error[^"]*text-danger[^"]*">\s*<strong>오류</strong> planted', review
        )
        refused = post_form(
            client,
            f"/deploy/drafts/{draft_id}/commit",
            {"why": "x"},
            token_from=f"/deploy/drafts/{draft_id}/review",
        )
        assert refused.status_code == 422 and "아무것도 커밋하지 않았습니다" in refused.text
        history = client.get(f"/deploy/systems/{shop['system_id']}/gitops")
        assert 'id="history-empty"' in history.text  # nothing reached the GitOps repository


class TestPermissions:
    def test_viewers_read_but_do_not_change(
        self, client: TestClient, shop: dict[str, Any], make_user: MakeUser
    ) -> None:
        sign_in(client, shop["ops"])
        draft_id = draft_id_of(save(client, shop).headers["location"])
        client.cookies.clear()
        sign_in(client, make_user(roles=("viewer",), domain_ids=(shop["domain_id"],)))
        page = client.get(configure_url(shop))
        assert (
            page.status_code == 200
            and 'id="save-plan"' not in page.text
            and "<fieldset disabled>" in page.text
        )
        assert client.get(f"/deploy/drafts/{draft_id}/review").status_code == 200
        assert client.get(f"/deploy/systems/{shop['system_id']}/gitops").status_code == 200
        assert post_form(client, configure_url(shop), {}, token_from=configure_url(shop)).status_code == 403
        refused = post_form(client, f"/deploy/drafts/{draft_id}/commit", {}, token_from=configure_url(shop))
        assert refused.status_code == 403

    def test_operations_outside_the_domain_see_nothing(
        self, client: TestClient, shop: dict[str, Any], make_user: MakeUser
    ) -> None:
        sign_in(client, shop["ops"])
        draft_id = draft_id_of(save(client, shop).headers["location"])
        operation = commit(client, draft_id)
        client.cookies.clear()
        sign_in(client, make_user(roles=("operations",)))
        for path in (
            configure_url(shop),
            f"/deploy/drafts/{draft_id}/review",
            f"/deploy/drafts/{draft_id}/app.patch",
            operation,
            f"/deploy/systems/{shop['system_id']}/gitops",
        ):
            assert client.get(path).status_code == 404, path
        refused = post_form(client, f"/deploy/drafts/{draft_id}/commit", {}, token_from="/")
        assert refused.status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, client: TestClient, shop: dict[str, Any]) -> None:
        response = client.get(configure_url(shop), follow_redirects=False)
        assert response.status_code in (302, 303) and "/login" in response.headers["location"]
