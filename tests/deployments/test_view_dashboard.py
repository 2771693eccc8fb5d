"""The home dashboard: figures from real records, domain scoping, empty state, live updates over SSE."""

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
    failed_run,
    fast_timing,
    make_release,
    move,
    pending_approval,
    sign_in,
    sse_events,
)


@pytest.fixture
def world(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], make_user: MakeUser
) -> Any:
    """shop: a running deployment, 12 finished ones, a failed run, a request for prod; bank: one of each."""
    a, b = make_domain("shop"), make_domain("bank")
    web, ledger = make_system(a, "web", name="Web shop"), make_system(b, "ledger", name="Ledger")
    ops = make_user(roles=("operations",), domain_ids=(a,))
    releases = [make_release(app, web, f"1.0.{i}") for i in range(12)]
    for index, release in enumerate(releases):
        deploy(
            app, web, "dev", release, to=D.failed if index == 3 else D.succeeded, actor=ops, health="Healthy"
        )
    running = deploy(app, web, "stg", releases[-1], to=D.syncing, actor=ops)
    waiting = pending_approval(app, web, "prod", releases[-1], actor=ops)
    failed_run(app, web, hours_ago=2)
    failed_run(app, web, hours_ago=30)  # outside the 24 hours
    ledger_release = make_release(app, ledger, "7.0.0")
    deploy(app, ledger, "dev", ledger_release, to=D.verifying)
    failed_run(app, ledger, hours_ago=1, state="timed_out")
    return types.SimpleNamespace(a=a, b=b, web=web, ledger=ledger, ops=ops, running=running, waiting=waiting)


def test_figures_for_an_operations_user_of_one_domain(client: TestClient, world: Any) -> None:
    snap = client.get("/api/v1/dashboard", headers=login(client, world.ops)).json()
    assert [d["id"] for d in snap["in_progress"]] == [world.running]
    assert snap["in_progress"][0]["state"] == "syncing" and snap["in_progress"][0]["elapsed_seconds"] >= 0
    assert len(snap["recent"]) == 10 and {d["system"] for d in snap["recent"]} == {"Web shop"}
    assert [r["system"] for r in snap["failed_runs"]] == ["Web shop"]  # 24 h, own domain only
    assert snap["approvals"] == []  # operations cannot approve production
    envs = {e["environment"]: e for e in snap["environments"]}
    assert list(envs) == ["dev", "stg", "prod"]
    assert envs["dev"]["states"] == {"succeeded": 1} and envs["dev"]["health"] == {"Healthy": 1}
    assert envs["stg"]["states"] == {"syncing": 1} and envs["prod"]["states"] == {"pending_approval": 1}


def test_an_executive_sees_every_domain_and_the_approval_waiting(
    client: TestClient, world: Any, make_user: MakeUser
) -> None:
    snap = client.get("/api/v1/dashboard", headers=login(client, make_user(roles=("executive",)))).json()
    assert {d["system"] for d in snap["in_progress"]} == {"Web shop", "Ledger"}
    assert {r["system"] for r in snap["failed_runs"]} == {"Web shop", "Ledger"}
    assert [(a["deployment_id"], a["environment"]) for a in snap["approvals"]] == [(world.waiting, "prod")]


def test_home_page_shows_the_live_dashboard(client: TestClient, world: Any) -> None:
    sign_in(client, world.ops)
    page = client.get("/")
    assert page.status_code == 200
    assert 'sse-connect="/dashboard/events"' in page.text
    assert f'data-deployment="{world.running}"' in page.text
    assert "Ledger" not in page.text
    assert 'id="sla-title"' in page.text and 'id="deployments-title"' not in page.text  # SLA still honest


def test_empty_state_says_so(
    client: TestClient, make_user: MakeUser, make_domain: Callable[[str], str]
) -> None:
    sign_in(client, make_user(roles=("viewer",), domain_ids=(make_domain("empty"),)))
    page = client.get("/", headers={"Accept-Language": "en"})
    for marker in (
        "dash-active-empty",
        "dash-recent-empty",
        "dash-runs-empty",
        "dash-approvals-empty",
        "dash-health-empty",
    ):
        assert f'id="{marker}"' in page.text


def _changing_stream(app: FastAPI, deployment_id: str, **extra: Any) -> None:
    """A fake clock and sleep: on the first pause the deployment moves on to verifying."""
    ticks = [0.0]

    async def sleep(_: float) -> None:
        ticks[0] += 1
        if ticks[0] == 1:
            move(app, deployment_id, D.verifying)

    fast_timing(app, sleep=sleep, clock=lambda: ticks[0], max_seconds=5.0, **extra)


def test_api_stream_sends_a_new_snapshot_after_a_change(app: FastAPI, client: TestClient, world: Any) -> None:
    headers = login(client, world.ops)
    _changing_stream(app, world.running)
    with client.stream(
        "GET", "/api/v1/dashboard/events", headers={**headers, **FOLLOW}, timeout=10
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    snapshots = [json.loads(data) for event, data in sse_events(body) if event == "snapshot"]
    assert [s["in_progress"][0]["state"] for s in snapshots] == ["syncing", "verifying"]  # only on change


def test_page_stream_sends_html_after_a_change(app: FastAPI, client: TestClient, world: Any) -> None:
    sign_in(client, world.ops)
    _changing_stream(app, world.running)
    with client.stream("GET", "/dashboard/events", headers=FOLLOW, timeout=10) as response:
        body = "".join(response.iter_text())
    events = sse_events(body)
    assert [e for e, _ in events] == ["snapshot"]  # the page already has the first one
    assert 'data-state="verifying"' in events[0][1] and f'data-deployment="{world.running}"' in events[0][1]


def test_a_client_that_does_not_follow_gets_one_snapshot(
    app: FastAPI, client: TestClient, world: Any
) -> None:
    fast_timing(app, max_seconds=1000.0)  # would run long if it followed
    response = client.get("/api/v1/dashboard/events", headers=login(client, world.ops))
    assert [e for e, _ in sse_events(response.text)] == ["snapshot"]
    sign_in(client, world.ops)
    page = client.get("/dashboard/events")
    assert [e for e, _ in sse_events(page.text)] == ["snapshot"]


def test_stream_needs_permission(client: TestClient) -> None:
    assert client.get("/api/v1/dashboard/events").status_code == 401
    assert client.get("/api/v1/dashboard").status_code == 401
