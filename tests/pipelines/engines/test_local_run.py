"""The local runner end to end on fixture repositories: checkout, stages, logs, reports, skips, mirror."""

from __future__ import annotations

import base64
import shutil
import threading
from pathlib import Path

from tests.pipelines.engines.conftest import NODE_FILES, Recorder, engine, make_repo, spec, stage
from tests.servers.git_http import GitHttpServer
from timbel.pipelines.engine_base import RunState, StageKind, StageState
from timbel.pipelines.engines.local import LocalEngine
from timbel.pipelines.engines.mirror import mirror_path

PY_STAGES = (
    stage(1, "test", StageKind.test, "python3 run_tests.py"),
    stage(2, "image", StageKind.image),
    stage(3, "gitops", StageKind.gitops_update),
)


def test_python_project_succeeds_with_logs_reports_and_honest_skips(
    py_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, sha = py_repo
    events = Recorder()
    outcome = engine().execute(spec(str(repo), *PY_STAGES), events, workspace_root=tmp_path / "ws")

    assert outcome.state is RunState.succeeded, outcome
    assert outcome.commit == sha
    assert events.started == [0, 1]
    assert events.state(0) is StageState.succeeded and events.state(1) is StageState.succeeded
    assert f"checked out {sha}" in events.text(0) and "clone --mirror" in events.text(0)
    assert "test_add" in events.text(1) and "테스트 완료: 한글 출력" in events.text(1)
    assert events.state(2) is StageState.skipped
    assert events.reason(2).startswith("no image builder configured on this runner")
    assert events.state(3) is StageState.skipped and events.reason(3).startswith("no command")
    [junit] = events.of_kind("junit")
    assert (junit["tests"], junit["failures"], junit["errors"], junit["cases"]) == (2, 0, 0, [])
    assert junit["files"] == ["test-results/junit.xml"] and junit["stage"] == 1
    assert [c["percent"] for c in events.of_kind("coverage")] == [85.0]
    assert events.engine_ref["engine"] == "local"
    assert not (tmp_path / "ws" / "run-1").exists(), "a successful run's workspace is removed"


def test_failing_test_fails_the_run_with_the_failing_case(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    events = Recorder()
    run = spec(str(repo), *PY_STAGES, parameters={"fail_one": "1"})
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")

    assert outcome.state is RunState.failed
    assert outcome.reason == "stage 'test': exited with 1 (1 of 2 tests failed)"
    assert events.finished[1] == (StageState.failed, 1, "exited with 1")
    [junit] = events.of_kind("junit")
    assert junit["failures"] == 1
    [case] = junit["cases"]
    assert (case["class"], case["name"]) == ("test_calc.CalcTest", "test_param")
    assert "asked to fail" in case["message"]
    assert events.finished[2] == (StageState.skipped, None, "an earlier stage failed")
    assert (tmp_path / "ws" / "run-1" / "src" / "run_tests.py").exists(), "a failed run's workspace is kept"


def test_node_project_over_http_reuses_the_mirror_and_sends_the_token_as_a_header(
    http_server: GitHttpServer, tmp_path: Path
) -> None:
    source = tmp_path / "node-src"
    sha = make_repo(source, NODE_FILES)
    http_server.add_repo("node-app", source)
    url = http_server.url_for("node-app")
    run = spec(url, stage(1, "test", StageKind.test, "npm test"), clone_token="tok-123456")

    before = len(http_server.requests())
    first = Recorder()
    outcome = engine().execute(run, first, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.succeeded, (outcome, first.logs)
    assert outcome.commit == sha
    assert "노드 테스트 시작" in first.text(1)
    [junit] = first.of_kind("junit")
    assert (junit["tests"], junit["skipped"], junit["failures"]) == (2, 1, 0)
    assert first.of_kind("coverage")[0]["percent"] == 92.5
    first_requests = http_server.requests()[before:]
    basic = "Basic " + base64.b64encode(b"x-access-token:tok-123456").decode()
    assert first_requests and all(r["authorization"] == basic for r in first_requests)
    assert all("tok-123456" not in text for _, text in first.logs)

    mirror = mirror_path(tmp_path / "mirrors", url)
    (mirror / "sentinel").write_text("still the same mirror")
    second = Recorder()
    outcome = engine().execute(
        spec(url, run.stages[1], run_id="run-2"), second, workspace_root=tmp_path / "ws"
    )
    assert outcome.state is RunState.succeeded
    assert (mirror / "sentinel").exists(), "the second run fetched into the cached mirror"
    assert "updated the cached repository mirror" in second.text(0)
    second_requests = http_server.requests()[before + len(first_requests) :]
    assert 0 < len(second_requests) < len(first_requests)


def test_ref_and_commit_resolution(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, sha = py_repo
    ok = engine().execute(spec(str(repo), commit=sha[:12]), Recorder(), workspace_root=tmp_path / "ws")
    assert (ok.state, ok.commit) == (RunState.succeeded, sha)
    events = Recorder()
    missing = engine().execute(
        spec(str(repo), ref="nope", run_id="run-2"), events, workspace_root=tmp_path / "ws"
    )
    assert missing.state is RunState.failed and missing.reason == "stage 'checkout': ref 'nope' was not found"
    bad = engine().execute(spec(str(repo), ref="--upload-pack=x", run_id="run-3"), Recorder(),
                           workspace_root=tmp_path / "ws")  # fmt: skip
    assert bad.state is RunState.failed and "not a valid git ref" in bad.reason


def test_local_paths_are_refused_unless_allowed(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    events = Recorder()
    outcome = LocalEngine(builder=None).execute(spec(str(repo)), events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.failed and "not an https or ssh URL" in outcome.reason
    creds = spec("https://user:pw@example.invalid/x.git", run_id="run-2")
    outcome = LocalEngine(builder=None).execute(creds, Recorder(), workspace_root=tmp_path / "ws")
    assert "must not contain credentials" in outcome.reason


def test_image_stage_with_a_missing_configured_builder_is_skipped(
    py_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, _ = py_repo
    events = Recorder()
    image = stage(1, "image", StageKind.image, "echo building")
    outcome = engine(builder="no-such-builder-xyz").execute(spec(str(repo), image), events,
                                                             workspace_root=tmp_path / "ws")  # fmt: skip
    assert outcome.state is RunState.succeeded
    assert events.state(1) is StageState.skipped and "no image builder" in events.reason(1)
    assert 1 not in events.started


def test_no_checkout_stage_still_checks_out_and_resume_is_none(
    py_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, sha = py_repo
    run = spec(str(repo), stage(1, "ls", command="test -f calc.py && echo found"))
    run = type(run)(**{**run.__dict__, "stages": run.stages[1:]})
    events = Recorder()
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert (outcome.state, outcome.commit) == (RunState.succeeded, sha)
    assert "found" in events.text(1) and "checked out" in events.text(None)
    assert engine().resume(run, events, engine_ref={}) is None


def test_git_is_required() -> None:
    assert shutil.which("git"), "git is missing: run `make test` (apt-get install -y git)"


def test_image_stages_run_their_command_when_a_builder_is_found(
    py_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, _ = py_repo
    events = Recorder()
    run = spec(str(repo), stage(1, "image", StageKind.image, "echo building image"),
               stage(2, "push", StageKind.push))  # fmt: skip
    outcome = engine(builder="sh").execute(run, events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.succeeded
    assert events.state(1) is StageState.succeeded and "building image" in events.text(1)
    assert events.state(2) is StageState.skipped and events.reason(2).startswith("no command")


def test_two_runs_at_once_share_one_mirror(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, sha = py_repo
    results: dict[str, object] = {}
    recorders = {name: Recorder() for name in ("run-a", "run-b")}

    def go(run_id: str) -> None:
        run = spec(str(repo), stage(1, "ls", command="test -f calc.py"), run_id=run_id)
        results[run_id] = engine().execute(run, recorders[run_id], workspace_root=tmp_path / "ws")

    threads = [threading.Thread(target=go, args=(name,)) for name in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(getattr(r, "state", None) is RunState.succeeded for r in results.values()), results
    assert all(getattr(r, "commit", None) == sha for r in results.values())
    texts = sorted(recorders[name].text(0) for name in recorders)
    assert sum("cloned the repository mirror" in t for t in texts) == 1
    assert sum("updated the cached repository mirror" in t for t in texts) == 1
    assert len(list((tmp_path / "mirrors").iterdir())) == 2  # the mirror and its lock file
