"""One deployment (page, live stream) and a system's timeline."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import MakeUser, login
from tests.deployments._view_support import (
    FOLLOW,
    D,
    deploy,
    fast_timing,
    make_release,
    move,
    pending_approval,
    sign_in,
    sse_events,
)
from timbel.core.db import session_scope, utcnow
from timbel.deployments.models import ApprovalRequest, DeploymentKind

SHA = "c0ffee" + "0" * 34


@pytest.fixture
def world(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], make_user: MakeUser
) -> Any:
    """web: v1 rolled back (by a rollback to v0), approved prod request, a deployment still verifying."""
    a, b = make_domain("shop"), make_domain("bank")
    web = make_system(a, "web", name="Web shop")
    ops = make_user(roles=("operations",), domain_ids=(a,))
    boss = make_user(roles=("executive",))
    v0, v1 = make_release(app, web, "0.9.0"), make_release(app, web, "1.0.0")
    deploy(app, web, "dev", v0, actor=ops)
    commit = {"sha": "ab" * 20, "subject": "Add cart", "author": "Kim", "at": "2026-11-01T00:00:00Z"}
    check = {"key": "health", "passed": False, "evidence": "Degraded for 60 s"}
    bad = deploy(
        app, web, "dev", v1, to=D.verifying, actor=ops, gitops_sha=SHA, gitops_repository="default",
        commits=[commit], checks=[check],
    )  # fmt: skip
    back = deploy(
        app, web, "dev", v0, to=D.approved, actor=ops, kind=DeploymentKind.auto_rollback, rollback_of_id=bad
    )
    move(app, bad, D.rolled_back, outcome="verification failed", rolled_back_by_id=back)
    asked = pending_approval(app, web, "prod", v0, actor=ops)
    with session_scope(app.state.session_factory) as session:
        approval = session.query(ApprovalRequest).filter_by(deployment_id=asked).one()
        approval.state, approval.decided_by_id, approval.comment = "approved", boss.id, "Go ahead"
        approval.decided_at = utcnow()
    move(app, asked, D.approved, approved_by_id=boss.id)
    live = deploy(app, web, "stg", v1, to=D.verifying, actor=ops)
    return types.SimpleNamespace(a=a, b=b, web=web, ops=ops, boss=boss, v0=v0, v1=v1, bad=bad, back=back,
                                 asked=asked, live=live)  # fmt: skip


def test_detail_page_shows_history_release_commit_checks_and_rollbacks(
    client: TestClient, world: Any
) -> None:
    sign_in(client, world.ops)
    page = client.get(f"/deployments/{world.bad}")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'id="deployment-state" data-state="rolled_back"' in text
    assert f"/deploy/systems/{world.web}/gitops?env=dev&amp;sha={SHA}" in text
    assert "Add cart" in text and "Degraded for 60 s" in text and "verification failed" in text
    assert f'href="/deployments/{world.back}" id="rolled-back-by"' in text
    assert f"/releases/diff?a={world.v0}&b={world.v1}" in text  # previous release → this one
    for state in ("syncing", "verifying", "rolled_back"):
        assert f'data-to="{state}"' in text
    assert "sse-connect" not in text  # finished: nothing to follow
    rollback = client.get(f"/deployments/{world.back}").text
    assert f'href="/deployments/{world.bad}" id="rollback-of"' in rollback
    assert 'sse-connect="/deployments/' in rollback  # still running: followed live


def test_detail_page_shows_the_approval(client: TestClient, world: Any) -> None:
    sign_in(client, world.ops)
    text = client.get(f"/deployments/{world.asked}").text
    assert "Go ahead" in text and world.boss.username in text


def test_live_stream_until_terminal(app: FastAPI, client: TestClient, world: Any) -> None:
    headers = login(client, world.ops)
    ticks = [0.0]

    async def sleep(_: float) -> None:
        ticks[0] += 1
        if ticks[0] == 2:
            move(app, world.live, D.succeeded, health="Healthy")

    fast_timing(app, sleep=sleep, clock=lambda: ticks[0], max_seconds=50.0)
    with client.stream(
        "GET", f"/api/v1/deployments/{world.live}/events", headers={**headers, **FOLLOW}, timeout=10
    ) as response:
        body = "".join(response.iter_text())
    events = sse_events(body)
    assert [e for e, _ in events] == ["deployment", "end"]
    final = json.loads(events[-1][1])
    assert final["state"] == "succeeded" and final["health"] == "Healthy"
    assert [h["to"] for h in final["history"]] == ["syncing", "verifying", "succeeded"]
    assert ticks[0] < 10  # it stopped at the end, not at max_seconds


def test_page_stream_sends_html(app: FastAPI, client: TestClient, world: Any) -> None:
    sign_in(client, world.ops)
    ticks = [0.0]

    async def sleep(_: float) -> None:
        ticks[0] += 1
        if ticks[0] == 1:
            move(app, world.live, D.failed, outcome="sync failed")

    fast_timing(app, sleep=sleep, clock=lambda: ticks[0], max_seconds=50.0)
    with client.stream("GET", f"/deployments/{world.live}/events", headers=FOLLOW, timeout=10) as response:
        events = sse_events("".join(response.iter_text()))
    assert [e for e, _ in events] == ["end"]
    assert 'data-state="failed"' in events[0][1] and "sync failed" in events[0][1]


def test_other_domains_get_404(client: TestClient, world: Any, make_user: MakeUser) -> None:
    stranger = make_user(roles=("operations",), domain_ids=(world.b,))
    headers = login(client, stranger)
    assert client.get(f"/api/v1/deployments/{world.live}/events", headers=headers).status_code == 404
    assert client.get(f"/api/v1/systems/{world.web}/deployments/timeline", headers=headers).status_code == 404
    sign_in(client, stranger)
    assert client.get(f"/deployments/{world.bad}").status_code == 404
    assert client.get(f"/systems/{world.web}/deployments").status_code == 404


def test_timeline_api_newest_first_per_environment(client: TestClient, world: Any) -> None:
    headers = login(client, world.ops)
    rows = client.get(f"/api/v1/systems/{world.web}/deployments/timeline", headers=headers).json()
    assert [r["id"] for r in rows] == [world.live, world.asked, world.back, world.bad, rows[-1]["id"]]
    dev = client.get(f"/api/v1/systems/{world.web}/deployments/timeline?env=dev", headers=headers).json()
    assert [(r["kind"], r["version"], r["state"]) for r in dev] == [
        ("auto_rollback", "0.9.0", "approved"),
        ("deploy", "1.0.0", "rolled_back"),
        ("deploy", "0.9.0", "succeeded"),
    ]
    assert dev[1]["actor"] == world.ops.username and dev[1]["gitops_sha"] == SHA
    assert dev[2]["duration_seconds"] is not None and dev[0]["duration_seconds"] is None


def test_timeline_page_with_tabs(client: TestClient, world: Any, make_user: MakeUser) -> None:
    sign_in(client, make_user(roles=("viewer",), domain_ids=(world.a,)))
    page = client.get(f"/systems/{world.web}/deployments?env=stg")
    assert page.status_code == 200
    assert 'data-env="prod"' in page.text and f'data-deployment="{world.live}"' in page.text
    assert f'data-deployment="{world.bad}"' not in page.text
    empty = client.get(f"/systems/{world.web}/deployments?env=prod&x=1")
    assert f'data-deployment="{world.asked}"' in empty.text
