"""The pipeline settings page: read-only for viewers, stages saved as YAML with versions, 422 keeping what was
typed, engine choice, triggers saved through the triggers API's path (GitHub webhook registered on a fake
GitHub, or manual instructions without the secret), bad cron refused, other domains 404."""

# ruff: noqa: F811  (fixtures imported from test_triggers_support are parameters here)

from __future__ import annotations

import html as htmllib
import re

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser
from tests.fakes.github import FakeGitHub
from tests.fakes.server import RunningFake
from tests.pipelines.test_triggers_support import (  # noqa: F401  (fixtures)
    HOOK_SECRET,
    SystemPipeline,
    add_github,
    admin,
    fake_github,
    system_pipeline,
)
from tests.web.conftest import page_token, post_form, sign_in
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.pipelines import pipeline_service
from timbel.pipelines.run_models import Pipeline
from timbel.pipelines.settings_views import stages_yaml

REPO_URL = "https://github.test/acme/shop.git"
HOOK_URL = "http://testserver/hooks/github"
GitHubFake = tuple[FakeGitHub, RunningFake]


def _page(pipeline_id: str) -> str:
    return f"/pipelines/{pipeline_id}/settings"


def _domain(app: FastAPI, system_id: str) -> str:
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        return system.domain_id


def _pipeline(app: FastAPI, pipeline_id: str) -> Pipeline:
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        session.expunge(pipeline)
        return pipeline


def _sign_in(client: TestClient, make_user: MakeUser, role: str, domain: str) -> str:
    account = make_user(roles=(role,), domain_ids=(domain,))
    sign_in(client, account)
    return account.username


def _textarea(html: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert match is not None, f"no {name} textarea"
    return htmllib.unescape(match.group(1))


def test_a_viewer_sees_the_settings_read_only_and_cannot_save(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    _sign_in(client, make_user, "viewer", _domain(app, system_id))

    response = client.get(_page(pipeline_id))

    assert response.status_code == 200
    html = response.text
    assert "파이프라인 설정" in html and "단계" in html and "엔진" in html and "트리거" in html
    stages = yaml.safe_load(_textarea(html, "stages"))
    assert stages[0]["name"] == "checkout" and "kind" in stages[1] and "command" in stages[1]
    for button in ("save-stages", "save-engine", "save-triggers"):
        assert f'id="{button}"' not in html
    assert "readonly" in html
    assert 'data-version="1"' in html and "버전 1" in html
    token = page_token(client, _page(pipeline_id))
    for section in ("stages", "engine", "triggers"):
        refused = client.post(
            f"{_page(pipeline_id)}/{section}",
            data={"csrf_token": token, "stages": "[]", "engine": "local", "schedule": ""},
            follow_redirects=False,
        )
        assert refused.status_code == 403, section
    assert _pipeline(app, pipeline_id).version == 1
    assert f'href="{_page(pipeline_id)}"' in client.get("/pipelines").text  # linked from the list


def test_an_editor_saves_stages_and_a_new_version_appears_only_on_change(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    username = _sign_in(client, make_user, "operations", _domain(app, system_id))
    typed = _textarea(client.get(_page(pipeline_id)).text, "stages")
    stages = yaml.safe_load(typed)
    stages.insert(
        2,
        {
            "name": "lint",
            "kind": "test",
            "command": "ruff check .\nmypy src",
            "timeout_seconds": 600,
            "retries": 1,
            "continue_on_failure": True,
            "workdir": "api",
        },
    )

    saved = post_form(
        client, f"{_page(pipeline_id)}/stages", {"stages": stages_yaml(stages)}, token_from=_page(pipeline_id)
    )

    assert saved.status_code == 303 and saved.headers["location"] == _page(pipeline_id)
    html = client.get(_page(pipeline_id)).text
    assert "파이프라인 설정을 새 버전으로 저장했습니다." in html
    assert re.search(r'class="list-group-item pipeline-version" data-version="2"', html)
    assert username in html  # who saved version 2
    pipeline = _pipeline(app, pipeline_id)
    assert pipeline.version == 2
    lint = pipeline.stages[2]
    assert (lint["name"], lint["command"], lint["retries"], lint["workdir"]) == (
        "lint",
        "ruff check .\nmypy src",
        1,
        "api",
    )
    assert "command: |-\n    ruff check .\n    mypy src" in _textarea(html, "stages")  # multi-line block

    again = post_form(
        client,
        f"{_page(pipeline_id)}/stages",
        {"stages": _textarea(html, "stages")},
        token_from=_page(pipeline_id),
    )

    assert again.status_code == 303
    assert "바뀐 내용이 없습니다." in client.get(_page(pipeline_id)).text
    assert _pipeline(app, pipeline_id).version == 2


def test_bad_yaml_or_an_invalid_stage_answers_422_keeping_the_text(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    _sign_in(client, make_user, "operations", _domain(app, system_id))
    broken = "- name: build\n  kind: build\n  command: [unclosed <b>\n"

    response = post_form(
        client, f"{_page(pipeline_id)}/stages", {"stages": broken}, token_from=_page(pipeline_id)
    )

    assert response.status_code == 422
    assert _textarea(response.text, "stages").strip() == broken.strip()
    assert "<b>" not in response.text.split('name="stages"')[1].split("</textarea>")[0]  # escaped
    assert "단계가 올바른 YAML이 아닙니다" in response.text
    invalid = "- name: build\n  kind: build\n  command: make\n  timeout_seconds: -5\n"

    response = post_form(
        client, f"{_page(pipeline_id)}/stages", {"stages": invalid}, token_from=_page(pipeline_id)
    )

    assert response.status_code == 422
    assert _textarea(response.text, "stages").strip() == invalid.strip()
    assert "1번째 단계: timeout_seconds 값을 확인하세요." in response.text
    duplicate = "- {name: a, kind: build}\n- {name: a, kind: test}\n"
    response = post_form(
        client, f"{_page(pipeline_id)}/stages", {"stages": duplicate}, token_from=_page(pipeline_id)
    )
    assert response.status_code == 422 and "단계 이름은 서로 달라야 합니다." in response.text
    assert _pipeline(app, pipeline_id).version == 1


def test_the_engine_is_local_or_jenkins_with_an_instance_or_the_default(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    admin: dict[str, str],
    system_pipeline: SystemPipeline,
) -> None:
    body = {
        "kind": "jenkins",
        "name": "ci-main",
        "base_url": "http://127.0.0.1:9/",
        "options": {"username": "bot"},
        "secrets": {"api_token": "jenkins-token-1"},
    }
    created = client.post("/api/v1/integrations", json=body, headers=admin)
    assert created.status_code == 201, created.text
    jenkins_id = created.json()["id"]
    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    _sign_in(client, make_user, "operations", _domain(app, system_id))
    assert f'<option value="{jenkins_id}">ci-main</option>' in client.get(_page(pipeline_id)).text

    chosen = post_form(
        client,
        f"{_page(pipeline_id)}/engine",
        {"engine": "jenkins", "jenkins_integration_id": jenkins_id},
        token_from=_page(pipeline_id),
    )
    assert chosen.status_code == 303
    assert (_pipeline(app, pipeline_id).engine, _pipeline(app, pipeline_id).jenkins_integration_id) == (
        "jenkins",
        jenkins_id,
    )
    unknown = post_form(
        client,
        f"{_page(pipeline_id)}/engine",
        {"engine": "jenkins", "jenkins_integration_id": "nope"},
        token_from=_page(pipeline_id),
    )
    assert unknown.status_code == 422 and "제시된 Jenkins 인스턴스 중 하나를 고르세요." in unknown.text
    local = post_form(
        client, f"{_page(pipeline_id)}/engine", {"engine": "local"}, token_from=_page(pipeline_id)
    )
    assert local.status_code == 303
    after = _pipeline(app, pipeline_id)
    assert (after.engine, after.jenkins_integration_id, after.version) == ("local", None, 3)


def test_saving_triggers_registers_the_webhook_on_github_and_shows_registered(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    admin: dict[str, str],
    fake_github: GitHubFake,
    system_pipeline: SystemPipeline,
) -> None:
    state, running = fake_github
    add_github(client, admin, base_url=running.base_url, options={"web_host": "github.test"})
    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    _sign_in(client, make_user, "operations", _domain(app, system_id))
    before = client.get(_page(pipeline_id)).text
    assert 'id="webhook-state">수동 설정 필요<' in before  # push is on, nothing registered yet
    assert "비워 두면 기본 브랜치(main)만 실행합니다." in before

    saved = post_form(
        client,
        f"{_page(pipeline_id)}/triggers",
        {
            "push_enabled": "on",
            "branch_filters": "main\nrelease/*\n",
            "schedule": "0  3 * * 1-5",
            "supersede_queued": "on",
        },
        token_from=_page(pipeline_id),
    )

    assert saved.status_code == 303
    assert running.recorder.calls() == ["GET /repos/acme/shop/hooks", "POST /repos/acme/shop/hooks"]
    assert list(state.repos["acme/shop"].hooks) == [1]
    html = client.get(_page(pipeline_id)).text
    assert 'id="webhook-state">등록됨<' in html
    assert 'id="webhook-manual"' not in html and HOOK_SECRET not in html
    assert 'id="webhook-last-delivery">아직 없음<' in html
    pipeline = _pipeline(app, pipeline_id)
    assert (pipeline.branch_filters, pipeline.schedule, pipeline.version) == (
        ["main", "release/*"],
        "0 3 * * 1-5",
        2,
    )

    off = post_form(
        client,
        f"{_page(pipeline_id)}/triggers",
        {"branch_filters": "", "schedule": ""},
        token_from=_page(pipeline_id),
    )

    assert off.status_code == 303
    assert running.recorder.calls()[2:] == ["DELETE /repos/acme/shop/hooks/1"]
    assert 'id="webhook-state">꺼짐<' in client.get(_page(pipeline_id)).text
    pipeline = _pipeline(app, pipeline_id)
    assert (pipeline.push_enabled, pipeline.branch_filters, pipeline.supersede_queued) == (False, [], False)


def test_without_a_github_instance_the_page_explains_the_manual_setup_without_the_secret(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    admin: dict[str, str],
    fake_github: GitHubFake,
    system_pipeline: SystemPipeline,
) -> None:
    add_github(client, admin, base_url=fake_github[1].base_url, options={"web_host": "github.test"})
    system_id, pipeline_id = system_pipeline("shop", "https://git.other.test/acme/shop.git")
    _sign_in(client, make_user, "operations", _domain(app, system_id))

    saved = post_form(
        client,
        f"{_page(pipeline_id)}/triggers",
        {"push_enabled": "on", "branch_filters": "main"},
        token_from=_page(pipeline_id),
    )

    assert saved.status_code == 303
    html = client.get(_page(pipeline_id)).text
    assert 'id="webhook-state">수동 설정 필요<' in html
    assert f'<code id="webhook-url">{HOOK_URL}</code>' in html
    assert (
        '<code id="webhook-content-type">json</code>' in html
        and '<code id="webhook-events">push</code>' in html
    )
    assert "Timbel의 GitHub 연동에 설정된 웹훅 시크릿을 사용하세요." in html
    assert "git.other.test" in html  # why it is manual
    assert HOOK_SECRET not in html
    assert fake_github[1].recorder.calls() == []


def test_a_bad_cron_or_branch_pattern_answers_422_and_changes_nothing(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    system_id, pipeline_id = system_pipeline("shop", "https://git.other.test/acme/shop.git")
    _sign_in(client, make_user, "operations", _domain(app, system_id))

    response = post_form(
        client,
        f"{_page(pipeline_id)}/triggers",
        {"push_enabled": "on", "branch_filters": "main", "schedule": "61 * * * *"},
        token_from=_page(pipeline_id),
    )

    assert response.status_code == 422
    assert "스케줄이 올바른 cron 식이 아닙니다" in response.text
    assert 'value="61 * * * *"' in response.text
    response = post_form(
        client,
        f"{_page(pipeline_id)}/triggers",
        {"push_enabled": "on", "branch_filters": "main\nbad branch;rm"},
        token_from=_page(pipeline_id),
    )
    assert response.status_code == 422 and "한 줄에 브랜치 패턴 하나" in response.text
    assert "bad branch;rm" in _textarea(response.text, "branch_filters")
    assert _pipeline(app, pipeline_id).version == 1


def test_a_pipeline_of_another_domain_is_not_found(
    client: TestClient,
    app: FastAPI,
    make_user: MakeUser,
    make_domain: object,
    system_pipeline: SystemPipeline,
) -> None:
    _, pipeline_id = system_pipeline("shop", REPO_URL)
    other = make_domain("other")  # type: ignore[operator]
    _sign_in(client, make_user, "operations", other)

    assert client.get(_page(pipeline_id)).status_code == 404
    token = page_token(client, "/pipelines")
    for section in ("stages", "engine", "triggers"):
        response = client.post(
            f"{_page(pipeline_id)}/{section}",
            data={"csrf_token": token, "stages": "[]", "engine": "local"},
            follow_redirects=False,
        )
        assert response.status_code == 404, section
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None and pipeline_service.versions(session, pipeline=pipeline)[0].version == 1


def test_the_run_page_links_to_the_settings(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    from tests.pipelines.test_runs_support import Recorder
    from timbel.pipelines import run_service

    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        run = run_service.start_run(
            session, pipeline=pipeline, trigger="manual", actor="kim", ref="main", enqueue=Recorder()
        )
        run_id = run.id
    _sign_in(client, make_user, "viewer", _domain(app, system_id))
    assert f'href="{_page(pipeline_id)}"' in client.get(f"/pipelines/runs/{run_id}").text


def test_the_secrets_section_lists_names_never_values_and_adds_replaces_and_deletes(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    planted = "page-planted-secret-9931"
    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    _sign_in(client, make_user, "operations", _domain(app, system_id))
    url = f"{_page(pipeline_id)}/secrets"

    page = _page(pipeline_id)
    saved = post_form(client, url, {"secret_name": "DB_PASSWORD", "secret_value": planted}, token_from=page)
    assert saved.status_code == 303 and saved.headers["location"] == _page(pipeline_id)
    html = client.get(_page(pipeline_id)).text
    assert 'data-name="DB_PASSWORD"' in html and 'class="badge bg-green-lt me-2 secret-set">설정됨<' in html
    assert planted not in html and 'type="password"' in html
    assert re.search(r'name="secret_value"(?![^>]*value=)', html)  # never pre-filled
    replaced = post_form(client, url, {"secret_name": "DB_PASSWORD", "secret_value": planted + "-2"},
                         token_from=_page(pipeline_id))  # fmt: skip
    assert replaced.status_code == 303 and _pipeline(app, pipeline_id).secret_names == ["DB_PASSWORD"]

    bad = post_form(client, url, {"secret_name": "TIMBEL_X", "secret_value": planted}, token_from=page)
    assert bad.status_code == 422 and planted not in bad.text and "TIMBEL_X" in bad.text
    assert _pipeline(app, pipeline_id).secret_names == ["DB_PASSWORD"]

    deleted = post_form(client, f"{url}/delete", {"secret_name": "DB_PASSWORD"}, token_from=page)
    assert deleted.status_code == 303
    after = _pipeline(app, pipeline_id)
    assert after.secret_names == [] and after.secrets is None
    assert 'data-name="DB_PASSWORD"' not in client.get(_page(pipeline_id)).text


def test_a_viewer_sees_secret_names_but_cannot_change_them(
    client: TestClient, app: FastAPI, make_user: MakeUser, system_pipeline: SystemPipeline
) -> None:
    from timbel.audit.service import AuditContext
    from timbel.pipelines import secrets as pipeline_secrets

    system_id, pipeline_id = system_pipeline("shop", REPO_URL)
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        pipeline_secrets.update_secrets(
            session, pipeline=pipeline, settings=app.state.settings,
            changes={"API_KEY": "viewer-hidden-1234"}, ctx=AuditContext(actor_name="t"),
        )  # fmt: skip
    _sign_in(client, make_user, "viewer", _domain(app, system_id))
    html = client.get(_page(pipeline_id)).text
    assert 'data-name="API_KEY"' in html and "viewer-hidden-1234" not in html
    assert 'id="save-secret"' not in html and "secret_value" not in html
    token = page_token(client, _page(pipeline_id))
    for path in ("secrets", "secrets/delete"):
        refused = client.post(
            f"{_page(pipeline_id)}/{path}",
            data={"csrf_token": token, "secret_name": "API_KEY", "secret_value": "x"},
            follow_redirects=False,
        )
        assert refused.status_code == 403, path
    assert _pipeline(app, pipeline_id).secret_names == ["API_KEY"]
