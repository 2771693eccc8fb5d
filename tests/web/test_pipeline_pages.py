"""Pipeline pages: the list with last run and trend, a run's page (stages, log, tests, image, actions), the
log stream as HTML, history filters and paging, the system page's card, and who may see or do what."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.conftest import MakeUser
from tests.pipelines.test_runs_support import STUB, Recorder, StubEngine
from tests.web.conftest import page_token, post_form, sign_in
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.db import session_scope, utcnow
from timbel.pipelines import log_routes, logs, pipeline_service, run_pages, run_service, run_views
from timbel.pipelines.engine_base import RunOutcome, RunState
from timbel.pipelines.engines import EngineContext, register_engine, unregister_engine
from timbel.pipelines.run_models import Pipeline, PipelineRun, RunArtifact, StageRun
from timbel.pipelines.template_seeds import ensure_seeds

ESC = "\x1b"


@pytest.fixture
def stub_engine() -> Iterator[StubEngine]:
    """The scripted stub engine of the run tests, registered as ``stub``."""
    engine = StubEngine()

    def factory(ctx: EngineContext) -> StubEngine:
        return engine

    register_engine(STUB, factory)
    try:
        yield engine
    finally:
        unregister_engine(STUB)


@pytest.fixture
def make_pipeline(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], stub_engine: StubEngine
) -> Callable[..., str]:
    """Create a system (in a domain made on first use) with a stub-engine pipeline; return the pipeline id."""
    with session_scope(app.state.session_factory) as session:
        ensure_seeds(session)
    domains: dict[str, str] = {}

    def make(slug: str, *, domain: str = "acme", name: str | None = None) -> str:
        if domain not in domains:
            domains[domain] = make_domain(domain)
        system_id = make_system(
            domains[domain], slug, name=name or slug, repo_url=f"https://git.test/{slug}.git"
        )
        with session_scope(app.state.session_factory) as session:
            system = session.get(System, system_id)
            assert system is not None
            pipeline = pipeline_service.create_for_system(
                session,
                system=system,
                ctx=AuditContext(actor_name="test"),
                template_key="python-fastapi",
                engine=STUB,
            )
            return pipeline.id

    make.domains = domains  # type: ignore[attr-defined]
    return make


def arrange_run(
    app: FastAPI,
    pipeline_id: str,
    *,
    state: str = "succeeded",
    seconds: int = 5,
    trigger: str = "manual",
    log: str = "",
    artifacts: tuple[tuple[str, dict[str, Any]], ...] = (),
    stage_states: tuple[str, ...] = (),
) -> str:
    """Make a run in a given state straight through the service (nothing executes); return its id."""
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, pipeline_id)
        assert pipeline is not None
        run = run_service.start_run(
            session, pipeline=pipeline, trigger=trigger, actor="kim", ref="main", enqueue=Recorder()
        )
        run_id = run.id
        if state != "queued":
            run_service.begin(session, run_id=run_id)
        if state not in ("queued", "running"):
            run_service.finish_run(
                session, run_id=run_id, outcome=RunOutcome(RunState(state), f"ended {state}")
            )
        start = utcnow() - timedelta(seconds=seconds + 1)
        ends = (
            {"finished_at": start + timedelta(seconds=seconds)} if state not in ("queued", "running") else {}
        )
        session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id)
            .values(started_at=start, commit_after="ab" * 20, **ends)
        )
        for index, stage_state in enumerate(stage_states):
            session.execute(
                update(StageRun)
                .where(StageRun.run_id == run_id, StageRun.index == index)
                .values(state=stage_state, started_at=start, finished_at=start + timedelta(seconds=2))
            )
        if log:
            logs.append_log(session, run_id=run_id, text=log)
        for kind, data in artifacts:
            session.add(RunArtifact(run_id=run_id, kind=kind, data=data))
    return run_id


@pytest.fixture
def login_as(
    client: TestClient, make_user: MakeUser, make_pipeline: Callable[..., str]
) -> Callable[..., None]:
    """Sign the client in with a role, in every domain made so far unless told which."""

    def login(role: str, *, domain_ids: tuple[str, ...] | None = None) -> None:
        domains = tuple(make_pipeline.domains.values()) if domain_ids is None else domain_ids  # type: ignore[attr-defined]
        sign_in(client, make_user(roles=(role,), domain_ids=domains))

    return login


def test_the_menu_and_list_show_pipelines_with_their_last_run_and_trend(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop", name="쇼핑몰")
    make_pipeline("erp", name="ERP")
    for seconds in (30, 90, 45):
        last = arrange_run(app, shop, seconds=seconds)
    login_as("viewer")
    html = client.get("/pipelines").text
    assert 'href="/pipelines"' in html and ">파이프라인<" in html  # the menu entry under 운영센터
    row = re.search(r'<tr id="pipeline-shop".*?</tr>', html, re.S)
    assert row is not None
    assert f'href="/pipelines/runs/{last}">#3</a>' in row.group(0)
    assert 'data-state="succeeded">성공</span>' in row.group(0)
    assert "45초" in row.group(0)
    assert 'data-durations="30,90,45"' in row.group(0)
    assert "<polyline points=" in row.group(0)
    assert "실행 기록 없음" in html  # erp never ran
    assert 'class="btn btn-sm btn-primary run-pipeline"' not in html  # a viewer cannot start runs


def test_an_operator_runs_a_pipeline_from_the_list_and_reads_the_run(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    login_as("operations")
    assert 'id="run-shop"' in client.get("/pipelines").text
    response = post_form(client, f"/pipelines/{shop}/runs", {}, token_from="/pipelines")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/pipelines/runs/")
    html = client.get(location).text  # the stub engine ran inline (jobs are immediate in tests)
    assert 'id="run-state" data-state="succeeded">성공</span>' in html
    assert "실행을 대기열에 넣었습니다." in html  # the flash
    assert re.search(r'id="stage-0" data-state="succeeded"', html)
    assert "running checkout 한글" in html  # the log, server-rendered
    assert 'class="log-ts"' in html
    assert 'data-count="tests">3<' in html  # the stub's JUnit artifact
    assert 'id="run-trigger">수동<' in html
    assert 'id="cancel-run"' not in html and 'id="retry-run"' not in html  # succeeded: nothing to do
    assert "sse-connect" not in html  # finished: no live stream
    assert 'href="/pipelines/runs/' in html and "/log.txt" in html


def test_the_run_page_shows_stages_colours_failing_tests_image_and_retry(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    junit = {
        "tests": 10,
        "failures": 1,
        "errors": 1,
        "skipped": 2,
        "cases": [{"class": "tests.test_cart", "name": "test_total", "message": "assert 3 == 4"}],
    }
    run_id = arrange_run(
        app,
        shop,
        state="failed",
        log=f"{ESC}[31mFAILED{ESC}[0m tests/test_cart.py <script>alert(1)</script>\nplain line\n",
        artifacts=(
            ("junit", junit),
            ("image", {"reference": "registry.local/shop-api:abc", "digest": "sha256:" + "f" * 64}),
            ("coverage", {"percent": 81.5}),
        ),
        stage_states=("succeeded", "failed"),
    )
    login_as("operations")
    html = client.get(f"/pipelines/runs/{run_id}").text
    assert 'id="run-state" data-state="failed">실패</span>' in html
    assert 'id="stage-0" data-state="succeeded"' in html and 'id="stage-1" data-state="failed"' in html
    assert 'class="card run-stage run-stage-failed"' in html
    assert "2초" in html  # stage durations
    assert '<span class="ansi-red">FAILED</span>' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-count="tests">10<' in html and 'data-count="passed">6<' in html
    assert "tests.test_cart.test_total" in html and "assert 3 == 4" in html
    assert "registry.local/shop-api:abc" in html and "81.5%" in html
    assert 'id="retry-run"' in html and 'id="cancel-run"' not in html
    assert 'id="run-commit" title="' + "ab" * 20 + '">' + "ab" * 6 in html
    assert "/static/css/pipelines.css" in html

    response = post_form(
        client, f"/pipelines/runs/{run_id}/retry", {}, token_from=f"/pipelines/runs/{run_id}"
    )
    assert response.status_code == 303
    retried = client.get(response.headers["location"]).text
    assert 'id="run-trigger">재시도<' in retried and "#2" in retried


def test_a_live_run_streams_its_log_and_can_be_cancelled(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    run_id = arrange_run(app, shop, state="running", log="first line\n", stage_states=("running",))
    login_as("operations")
    html = client.get(f"/pipelines/runs/{run_id}").text
    assert 'id="run-state" data-state="running">실행 중</span>' in html
    assert f'sse-connect="/pipelines/runs/{run_id}/log/stream?offset=' in html
    assert 'sse-swap="log" hx-swap="beforeend"' in html and 'id="log-follow"' in html
    assert f'hx-get="/pipelines/runs/{run_id}/status"' in html
    assert 'id="cancel-run"' in html

    status = client.get(f"/pipelines/runs/{run_id}/status").text
    assert status.lstrip().startswith('<div id="run-status"') and "<html" not in status

    response = post_form(
        client, f"/pipelines/runs/{run_id}/cancel", {}, token_from=f"/pipelines/runs/{run_id}"
    )
    assert response.status_code == 303
    html = client.get(f"/pipelines/runs/{run_id}").text
    assert (
        "실행 중지를 요청했습니다." in html and 'id="run-stopping"' in html
    )  # a running run is asked to stop


def test_the_page_stream_sends_html_log_lines_then_end(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    run_id = arrange_run(app, shop, state="succeeded", log=f"one {ESC}[1mbold{ESC}[0m\ntwo <b>\n")

    async def no_sleep(_: float) -> None:
        return None

    app.dependency_overrides[log_routes.stream_timing] = lambda: log_routes.StreamTiming(
        poll=0, sleep=no_sleep
    )
    login_as("viewer")
    body = client.get(f"/pipelines/runs/{run_id}/log/stream").text
    app.dependency_overrides.clear()
    frames = [f for f in body.split("\n\n") if f]
    assert frames[0] == "retry: 2000"
    log_frame = frames[1].split("\n")
    assert log_frame[1] == "event: log"
    lines = [line.removeprefix("data: ") for line in log_frame[2:]]
    assert lines[0].startswith('<span class="log-ts">') and lines[0].endswith(
        'one <span class="ansi-bold">bold</span>'
    )
    assert lines[1].endswith("two &lt;b&gt;") and lines[2] == ""
    size = int(log_frame[0].removeprefix("id: "))
    assert frames[2] == f"id: {size}\nevent: end\ndata: succeeded"

    resumed = client.get(f"/pipelines/runs/{run_id}/log/stream", headers={"Last-Event-ID": str(size)}).text
    assert "event: log" not in resumed and "event: end" in resumed

    download = client.get(f"/pipelines/runs/{run_id}/log.txt")
    assert download.headers["content-disposition"].startswith("attachment")
    assert "one \x1b[1mbold" in download.text and "two <b>" in download.text


def test_a_long_log_shows_its_tail(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    lines = "".join(f"line {i:06d}\n" for i in range(8000))
    run_id = arrange_run(app, shop, log=lines)
    login_as("viewer")
    html = client.get(f"/pipelines/runs/{run_id}").text
    assert 'id="log-cut"' in html
    assert "line 007999" in html and "line 000000" not in html


def test_history_filters_by_system_state_and_trigger_and_pages(
    client: TestClient,
    app: FastAPI,
    login_as: Callable[..., None],
    make_pipeline: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop, erp = make_pipeline("shop", name="쇼핑몰"), make_pipeline("erp", name="ERP")
    ok = arrange_run(app, shop)
    failed = arrange_run(app, shop, state="failed")
    pushed = arrange_run(app, erp, trigger="push")
    with session_scope(app.state.session_factory) as session:
        shop_system = session.get(Pipeline, shop)
        assert shop_system is not None
        shop_system_id = shop_system.system_id
    login_as("viewer")

    def ids(url: str) -> set[str]:
        return set(re.findall(r'<tr id="run-row-([^"]+)"', client.get(url).text))

    assert ids("/pipelines/history") == {ok, failed, pushed}
    assert ids(f"/pipelines/history?system_id={shop_system_id}") == {ok, failed}
    assert ids("/pipelines/history?state=failed") == {failed}
    assert ids("/pipelines/history?trigger=push") == {pushed}
    assert ids(f"/pipelines/history?system_id={shop_system_id}&state=succeeded&trigger=manual") == {ok}
    assert "조건에 맞는 실행이 없습니다." in client.get("/pipelines/history?state=timed_out").text
    html = client.get("/pipelines/history?state=bogus").text  # an unknown filter value is ignored
    assert len(re.findall(r'<tr id="run-row-', html)) == 3 and "실행 3건" in html

    monkeypatch.setattr(run_views, "PAGE_SIZE", 2)
    first, second = ids("/pipelines/history"), ids("/pipelines/history?page=2")
    assert len(first) == 2 and len(second) == 1 and first | second == {ok, failed, pushed}
    assert "1 / 2" in client.get("/pipelines/history").text


def test_the_system_page_loads_a_card_with_recent_runs(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    run_id = arrange_run(app, shop, state="failed")
    with session_scope(app.state.session_factory) as session:
        pipeline = session.get(Pipeline, shop)
        assert pipeline is not None
        system_id = pipeline.system_id
    login_as("operations")
    assert (
        f'hx-get="/catalog/systems/{system_id}/pipeline-card"'
        in client.get(f"/catalog/systems/{system_id}").text
    )
    card = client.get(f"/catalog/systems/{system_id}/pipeline-card").text
    assert f'href="/pipelines/runs/{run_id}"' in card and "실패" in card
    assert f'action="/pipelines/{shop}/runs"' in card


def test_a_viewer_sees_runs_but_cannot_run_cancel_or_retry(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    shop = make_pipeline("shop")
    running = arrange_run(app, shop, state="running")
    login_as("viewer")
    html = client.get(f"/pipelines/runs/{running}").text
    assert 'id="run-state"' in html and 'id="cancel-run"' not in html
    token = page_token(client, f"/pipelines/runs/{running}")
    for path in (
        f"/pipelines/{shop}/runs",
        f"/pipelines/runs/{running}/cancel",
        f"/pipelines/runs/{running}/retry",
    ):
        response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, path
    with session_scope(app.state.session_factory) as session:
        run = session.get(PipelineRun, running)
        assert run is not None and run.cancel_requested_at is None


def test_other_domains_runs_and_pipelines_answer_404(
    client: TestClient, app: FastAPI, login_as: Callable[..., None], make_pipeline: Callable[..., str]
) -> None:
    mine = make_pipeline("shop", domain="acme")
    theirs = make_pipeline("bank", domain="other")
    theirs_run = arrange_run(app, theirs, state="running")
    arrange_run(app, mine)
    acme = make_pipeline.domains["acme"]  # type: ignore[attr-defined]
    with session_scope(app.state.session_factory) as session:
        their_system = session.get(Pipeline, theirs)
        assert their_system is not None
        their_system_id = their_system.system_id
    login_as("operations", domain_ids=(acme,))
    listing = client.get("/pipelines").text
    assert 'id="pipeline-shop"' in listing and "bank" not in listing
    assert theirs_run not in client.get("/pipelines/history").text
    for path in (
        f"/pipelines/runs/{theirs_run}",
        f"/pipelines/runs/{theirs_run}/status",
        f"/pipelines/runs/{theirs_run}/log/stream",
        f"/pipelines/runs/{theirs_run}/log.txt",
        f"/catalog/systems/{their_system_id}/pipeline-card",
    ):
        assert client.get(path).status_code == 404, path
    token = page_token(client, "/pipelines")
    for path in (f"/pipelines/{theirs}/runs", f"/pipelines/runs/{theirs_run}/cancel"):
        assert client.post(path, data={"csrf_token": token}, follow_redirects=False).status_code == 404, path


def test_the_trend_scales_to_the_longest_run_and_leaves_out_unknown_durations() -> None:
    assert run_pages.sparkline([]) == [] and run_pages.sparkline([None, None]) == []
    assert run_pages.sparkline([10, None, 20]) == [(2.0, 12.0), (98.0, 2.0)]
    assert run_pages.sparkline([0]) == [(2.0, 22.0)]
