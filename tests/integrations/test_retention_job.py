"""The daily retention job against real registries: only enabled instances run, report-only unless
``retention_apply``, and a broken instance is recorded without stopping the others."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.servers import LOOPBACK, free_port
from tests.servers.docker_registry import start_docker_registry
from timbel.core.db import session_scope
from timbel.core.jobs import JobContext, registered_jobs
from timbel.integrations.models import Integration

from .test_retention_api import audit_rows, create_instance, digests_left, push_versions


def _last_error(app: FastAPI, integration_id: str) -> str:
    with session_scope(app.state.session_factory) as session:
        row = session.get(Integration, integration_id)
        assert row is not None
        return row.last_error


def test_the_job_covers_enabled_instances_each_isolated(
    client: TestClient, app: FastAPI, make_user: MakeUser, tmp_path: Path
) -> None:
    admin = login(client, make_user(roles=("admin",)))
    applying, reporting, untouched = (start_docker_registry(tmp_path / name) for name in ("a", "b", "c"))
    try:
        tags = {s.url: push_versions(s.url, "app", 3) for s in (applying, reporting, untouched)}
        policy = {"retention_keep_last": 1, "retention_schedule_enabled": True}
        broken = create_instance(
            client, admin, name="a-broken", base_url=f"http://{LOOPBACK}:{free_port()}",
            options=policy | {"retries": 0},
        )  # fmt: skip
        no_policy = create_instance(
            client, admin, name="b-no-keep-last", base_url=reporting.url,
            options={"retention_schedule_enabled": True},
        )  # fmt: skip
        applied = create_instance(
            client, admin, name="c-apply", base_url=applying.url, options=policy | {"retention_apply": True}
        )
        reported = create_instance(client, admin, name="d-report", base_url=reporting.url, options=policy)
        disabled = create_instance(
            client, admin, name="e-disabled", base_url=untouched.url,
            options={"retention_keep_last": 0, "retention_apply": True},
        )  # fmt: skip
        from timbel.integrations.retention_jobs import RETENTION_JOB, run_scheduled_retention

        ctx = JobContext(app.state.settings, app.state.session_factory, "job-7", lambda *a, **k: "")
        assert run_scheduled_retention(ctx) == {"instances": 4, "applied": 1, "reported": 1, "failed": 2}

        kept = tags[applying.url]
        assert digests_left(applying.url, "app", kept) == {**kept, "v1": None, "v2": None}
        assert digests_left(reporting.url, "app", tags[reporting.url]) == tags[reporting.url]
        assert digests_left(untouched.url, "app", tags[untouched.url]) == tags[untouched.url]
        assert audit_rows(app, disabled) == []
        [apply_entry] = audit_rows(app, applied)
        assert apply_entry.changes["deleted"] == 2 and apply_entry.changes["scheduled"] is True
        assert apply_entry.actor_name == f"job {RETENTION_JOB}"
        [report_entry] = audit_rows(app, reported)
        assert report_entry.changes["dry_run"] is True and report_entry.changes["to_delete"] == 2
        [broken_entry] = audit_rows(app, broken)
        assert broken_entry.outcome == "failure"
        assert _last_error(app, broken).startswith("retention: registry 'a-broken' cannot be reached")
        assert "retention_keep_last" in _last_error(app, no_policy)
        assert _last_error(app, applied) == ""
        assert RETENTION_JOB in registered_jobs()
        assert run_scheduled_retention(ctx, integration_id=reported)["instances"] == 1
    finally:
        for server in (applying, reporting, untouched):
            server.stop()
