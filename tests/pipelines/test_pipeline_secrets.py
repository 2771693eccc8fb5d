"""Pipeline secrets: a local run sees the value while its stored log masks the raw and base64 forms; the API
lists names only (never values in responses, audit rows or logs); stored ciphertext is not plaintext; key
rotation re-encrypts them; bad names 422, viewers 403, other domains 404."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

import timbel.pipelines.run_job  # noqa: F401  (declares the pipelines.* jobs before the app's runtime is built)
from tests.conftest import TEST_SECRET, MakeUser, login
from timbel.audit.models import AuditEntry
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.crypto import SecretBox
from timbel.core.db import session_scope
from timbel.integrations.key_rotation import rotate_key
from timbel.pipelines import logs, pipeline_service, run_service
from timbel.pipelines import secrets as pipeline_secrets
from timbel.pipelines.engines import register_engine, unregister_engine
from timbel.pipelines.run_models import Pipeline, PipelineRun
from timbel.pipelines.secret_routes import router as secrets_api
from timbel.pipelines.template_seeds import ensure_seeds

VALUE = "s3cr3t-Pa55word-planted-7781"
ENCODED = "czNjcjN0LVBhNTV3b3JkLXBsYW50ZWQtNzc4MQ=="  # base64 of VALUE
NEW_KEY = "the-new-secret-key-after-rotation-0123456789"


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The test app with the secrets API included once (until app.py includes it)."""
    if "/api/v1/pipelines/{pipeline_id}/secrets" not in {
        r.path for r in app.routes if isinstance(r, APIRoute)
    }:
        app.include_router(secrets_api)
    return app


@pytest.fixture
def pipeline_in(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> Callable[..., tuple[str, str]]:
    """Create a domain, a system and its pipeline; return (domain id, pipeline id)."""
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)

    def make(
        code: str, repo_url: str = "https://github.test/acme/shop.git", engine: str = "local"
    ) -> tuple[str, str]:
        domain_id = make_domain(code)
        system_id = make_system(domain_id, f"shop-{code.lower()}", repo_url=repo_url, default_branch="main")
        with session_scope(app.state.session_factory) as session:
            system = session.get(System, system_id)
            assert system is not None
            pipeline = pipeline_service.create_for_system(
                session, system=system, ctx=AuditContext(actor_name="t"), template_key="python-fastapi",
                engine=engine,
            )  # fmt: skip
            return domain_id, pipeline.id

    return make


def _url(pipeline_id: str) -> str:
    return f"/api/v1/pipelines/{pipeline_id}/secrets"


def _stored(app: FastAPI, pipeline_id: str) -> tuple[str | None, list[str]]:
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        return pipeline.secrets, list(pipeline.secret_names)


def _audit_text(app: FastAPI) -> str:
    with session_scope(app.state.session_factory) as session:
        rows = session.scalars(select(AuditEntry)).all()
        return json.dumps([[r.action, r.summary, r.changes] for r in rows], default=str)


@pytest.fixture
def file_repo(tmp_path: Path) -> Path:
    """A one-commit git repository on disk."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "hello.txt").write_text("hi\n", encoding="utf-8")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


@pytest.fixture
def local_files() -> Iterator[str]:
    """The local engine allowed to clone file repositories, as ``local-files``."""
    from timbel.pipelines.engines.local import LocalEngine

    register_engine("local-files", lambda ctx: LocalEngine(allow_local=True, builder=None))
    yield "local-files"
    unregister_engine("local-files")


def test_a_local_run_sees_the_secret_and_its_log_masks_raw_and_base64(
    app: FastAPI, file_repo: Path, local_files: str, pipeline_in: Callable[..., tuple[str, str]]
) -> None:
    _, pipeline_id = pipeline_in("ACME", repo_url=str(file_repo), engine=local_files)
    command = (
        'echo "raw=$DB_PASSWORD"\n'
        'printf %s "$DB_PASSWORD" | base64\n'
        'echo "sha=$(printf %s "$DB_PASSWORD" | sha256sum | cut -c1-64)"'
    )
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        ctx = AuditContext(actor_name="t")
        stages = [dict(pipeline.stages[0]), {"name": "use", "kind": "test", "command": command}]
        pipeline_service.update(session, pipeline=pipeline, data={"stages": stages}, ctx=ctx)
        pipeline_secrets.update_secrets(
            session, pipeline=pipeline, settings=app.state.settings, changes={"DB_PASSWORD": VALUE}, ctx=ctx
        )
        run = run_service.start_run(
            session,
            pipeline=pipeline,
            trigger="manual",
            actor="t",
            ref="main",
            enqueue=app.state.jobs.enqueue,
        )
        run_id = run.id
    with session_scope(app.state.session_factory) as session:
        done = session.get(PipelineRun, run_id)
        assert done is not None and done.state == "succeeded", done and done.reason
        text = logs.read_log(session, run_id=run_id).text
    assert f"sha={hashlib.sha256(VALUE.encode()).hexdigest()}" in text  # the stage saw the real value
    assert "raw=***" in text and VALUE not in text and ENCODED not in text and ENCODED.rstrip("=") not in text


def test_the_api_lists_names_only_and_never_returns_logs_or_audits_values(
    client: TestClient, app: FastAPI, make_user: MakeUser, pipeline_in: Callable[..., tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    domain_id, pipeline_id = pipeline_in("ACME")
    headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
    assert client.get(_url(pipeline_id), headers=headers).json() == {"names": []}

    put = client.put(
        _url(pipeline_id), json={"DB_PASSWORD": VALUE, "API_TOKEN": VALUE + "-2"}, headers=headers
    )
    assert put.status_code == 200 and put.json() == {"names": ["API_TOKEN", "DB_PASSWORD"]}
    kept = client.put(
        _url(pipeline_id), json={"API_TOKEN": None}, headers=headers
    )  # absent keeps, null deletes
    assert kept.json() == {"names": ["DB_PASSWORD"]}
    got = client.get(_url(pipeline_id), headers=headers)
    assert got.json() == {"names": ["DB_PASSWORD"]}

    stored, names = _stored(app, pipeline_id)
    assert names == ["DB_PASSWORD"] and stored and VALUE not in stored and ENCODED not in stored
    assert json.loads(SecretBox(TEST_SECRET).decrypt(stored, context=pipeline_id)) == {"DB_PASSWORD": VALUE}
    audit = _audit_text(app)
    assert "pipeline.secrets" in audit and "DB_PASSWORD" in audit
    for text in (put.text, kept.text, got.text, audit, caplog.text):
        assert VALUE not in text and ENCODED not in text


def test_bad_names_values_and_types_answer_422_without_echoing_the_value(
    client: TestClient, app: FastAPI, make_user: MakeUser, pipeline_in: Callable[..., tuple[str, str]]
) -> None:
    domain_id, pipeline_id = pipeline_in("ACME")
    headers = login(client, make_user(roles=("operations",), domain_ids=(domain_id,)))
    bodies: list[dict[str, object]] = [
        {"db_password": VALUE}, {"TIMBEL_X": VALUE}, {"PATH": VALUE}, {"HOME": VALUE}, {"CI": VALUE},
        {"LANG": VALUE}, {"1ABC": VALUE}, {"A" * 65: VALUE}, {"A-B": VALUE}, {"BIG": "x" * (32 * 1024 + 1)},
        {"EMPTY": ""}, {"NUM": 12345}, {"OK": VALUE, "bad": None},
    ]  # fmt: skip
    for body in bodies:
        response = client.put(_url(pipeline_id), json=body, headers=headers)
        assert response.status_code == 422, body.keys()
        assert VALUE not in response.text and "x" * 100 not in response.text and "12345" not in response.text
    assert _stored(app, pipeline_id) == (None, [])
    ok = client.put(_url(pipeline_id), json={"_X": "y" * (32 * 1024)}, headers=headers)
    assert ok.status_code == 200
    many = {f"S{i}": "value" for i in range(50)}
    assert client.put(_url(pipeline_id), json=many, headers=headers).status_code == 422  # 51 in all
    assert _stored(app, pipeline_id)[1] == ["_X"]


def test_viewers_are_refused_and_other_domains_do_not_see_the_pipeline(
    client: TestClient, app: FastAPI, make_user: MakeUser, pipeline_in: Callable[..., tuple[str, str]]
) -> None:
    domain_id, pipeline_id = pipeline_in("ACME")
    other_domain, _ = pipeline_in("OTHER")
    viewer = login(client, make_user(roles=("viewer",), domain_ids=(domain_id,)))
    assert client.get(_url(pipeline_id), headers=viewer).status_code == 403
    assert client.put(_url(pipeline_id), json={"A": VALUE}, headers=viewer).status_code == 403
    stranger = login(client, make_user(roles=("operations",), domain_ids=(other_domain,)))
    assert client.get(_url(pipeline_id), headers=stranger).status_code == 404
    assert client.put(_url(pipeline_id), json={"A": VALUE}, headers=stranger).status_code == 404
    assert client.get(_url("no-such-pipeline"), headers=stranger).status_code == 404
    assert _stored(app, pipeline_id) == (None, [])


def test_key_rotation_reencrypts_pipeline_secrets(
    app: FastAPI, pipeline_in: Callable[..., tuple[str, str]]
) -> None:
    _, pipeline_id = pipeline_in("ACME")
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        pipeline_secrets.update_secrets(
            session, pipeline=pipeline, settings=app.state.settings, changes={"DB_PASSWORD": VALUE},
            ctx=AuditContext(actor_name="t"),
        )  # fmt: skip
    with session_scope(app.state.session_factory) as session:
        report = rotate_key(session, old_key=TEST_SECRET, new_key=NEW_KEY)
    assert report.rotated["pipelines"] == 1
    stored, _ = _stored(app, pipeline_id)
    assert stored is not None
    assert json.loads(SecretBox(NEW_KEY).decrypt(stored, context=pipeline_id)) == {"DB_PASSWORD": VALUE}
    with session_scope(app.state.session_factory) as session:
        assert rotate_key(session, old_key=TEST_SECRET, new_key=NEW_KEY).total == 0
