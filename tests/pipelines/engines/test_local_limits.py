"""The local runner's process control: timeout, cancel, retries, continue_on_failure, env, limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.pipelines.engines.conftest import Recorder, engine, spec, stage
from tests.servers import pid_alive
from timbel.pipelines.engine_base import RunState, StageKind, StageState


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


def test_timeout_kills_the_whole_process_group(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    pids = tmp_path / "pids"
    script = f"echo $$ > {pids}; sleep 60 & echo $! >> {pids}; sleep 60"
    run = spec(str(repo), stage(1, "hang", StageKind.test, script, timeout_seconds=1),
               stage(2, "after", command="echo never"))  # fmt: skip
    events = Recorder()
    began = time.monotonic()
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")

    assert time.monotonic() - began < 8
    assert outcome.state is RunState.timed_out
    assert outcome.reason == "stage 'hang': timed out after 1 s"
    assert events.finished[1][0] is StageState.failed and events.reason(1) == "timed out after 1 s"
    assert events.finished[2] == (StageState.skipped, None, "the run timed out")
    assert len(_pids(pids)) == 2
    assert not any(pid_alive(pid) for pid in _pids(pids)), "no process of the stage survives"


def test_background_leftovers_of_a_finished_stage_are_killed(
    py_repo: tuple[Path, str], tmp_path: Path
) -> None:
    repo, _ = py_repo
    pids = tmp_path / "pids"
    run = spec(str(repo), stage(1, "daemon", command=f"sleep 60 & echo $! > {pids}; echo done"))
    began = time.monotonic()
    outcome = engine().execute(run, Recorder(), workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.succeeded and time.monotonic() - began < 8
    assert not pid_alive(_pids(pids)[0])


def test_cancel_stops_the_stage_and_the_run(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    pids = tmp_path / "pids"
    run = spec(str(repo), stage(1, "wait", command=f"echo $$ > {pids}; echo waiting; sleep 60"),
               stage(2, "after", command="echo never"))  # fmt: skip
    events = Recorder(cancel_when=lambda rec: "waiting" in rec.text(1))
    began = time.monotonic()
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert time.monotonic() - began < 8
    assert (outcome.state, outcome.reason) == (RunState.cancelled, "cancelled")
    assert events.finished[1][0] is StageState.cancelled
    assert events.finished[2] == (StageState.cancelled, None, "the run was cancelled")
    assert not pid_alive(_pids(pids)[0])
    assert events.heartbeats >= 1


def test_retries_run_the_stage_again(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    flaky = "if [ -f .tried ]; then echo second try; else touch .tried; exit 3; fi"
    events = Recorder()
    run = spec(str(repo), stage(1, "flaky", command=flaky, retries=1))
    assert engine().execute(run, events, workspace_root=tmp_path / "ws").state is RunState.succeeded
    assert "retrying: attempt 2 of 2" in events.text(1) and "second try" in events.text(1)
    assert events.finished[1] == (StageState.succeeded, 0, "")

    events = Recorder()
    run = spec(str(repo), stage(1, "broken", command="echo try; exit 3", retries=2), run_id="run-2")
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert (outcome.state, events.finished[1]) == (RunState.failed, (StageState.failed, 3, "exited with 3"))
    assert events.text(1).count("try") == 3 + 2  # three attempts, two "retrying" lines


def test_continue_on_failure_lets_the_run_succeed(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    events = Recorder()
    run = spec(str(repo), stage(1, "lint", command="exit 2", continue_on_failure=True),
               stage(2, "test", command="echo tested"))  # fmt: skip
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert (outcome.state, outcome.reason) == (RunState.succeeded, "succeeded; allowed to fail: lint")
    assert events.finished[1] == (StageState.failed, 2, "exited with 2")
    assert events.state(2) is StageState.succeeded and "tested" in events.text(2)


def test_stage_env_is_built_from_scratch(
    py_repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, sha = py_repo
    monkeypatch.setenv("TIMBEL_SECRET_KEY", "planted-worker-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://worker")
    script = (
        'echo "key=${TIMBEL_SECRET_KEY:-absent} db=${DATABASE_URL:-absent}"\n'
        'echo "path=$PATH ci=$CI lang=$LANG run=$TIMBEL_RUN_ID n=$TIMBEL_RUN_NUMBER ref=$TIMBEL_REF"\n'
        'echo "commit=$TIMBEL_COMMIT color=$TIMBEL_PARAM_COLOR stage=$GREETING home=$HOME"\n'
        'echo "token=$DEPLOY_TOKEN"'
    )
    env_stage = stage(1, "env", command=script, env={"GREETING": "안녕"})
    run = spec(str(repo), env_stage, parameters={"color": "blue"}, secrets={"DEPLOY_TOKEN": "s3cr3t-value"})
    events = Recorder()
    outcome = engine(keep_workspace=True).execute(run, events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.succeeded
    out = events.text(1)
    assert "key=absent db=absent" in out
    assert "path=/usr/local/bin:/usr/bin:/bin ci=true lang=C.UTF-8 run=run-1 n=1 ref=main" in out
    home = tmp_path / "ws" / "run-1" / ".home"
    assert f"commit={sha} color=blue stage=안녕 home={home}" in out
    assert "token=***" in out and "s3cr3t-value" not in out


@pytest.mark.parametrize(
    ("parameters", "message"),
    [({"bad-name": "x"}, "parameter name 'bad-name'"), ({"ok": "a\x00b"}, "contains a NUL byte")],
)
def test_invalid_parameters_refuse_the_run(
    py_repo: tuple[Path, str], tmp_path: Path, parameters: dict[str, str], message: str
) -> None:
    repo, _ = py_repo
    events = Recorder()
    outcome = engine().execute(spec(str(repo), parameters=parameters), events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.failed and message in outcome.reason
    assert events.started == [] and events.finished[0][0] is StageState.skipped


def test_memory_limit_fails_a_greedy_stage(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    greedy = "python3 -c 'b = bytearray(1024 * 1024 * 1024); print(len(b))'"
    events = Recorder()
    run = spec(str(repo), stage(1, "greedy", command=greedy))
    outcome = engine(memory_limit_bytes=256 * 1024 * 1024).execute(
        run, events, workspace_root=tmp_path / "ws"
    )
    assert outcome.state is RunState.failed
    assert "MemoryError" in events.text(1)


def test_workdir_must_stay_in_the_checkout(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    events = Recorder()
    run = spec(str(repo), stage(1, "escape", command="pwd", workdir="../.."))
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert outcome.state is RunState.failed and "leaves the checkout" in outcome.reason
    assert 1 in events.started, "pending → failed is not a stage transition: the stage starts first"


def test_run_timeout_stops_the_run(py_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = py_repo
    events = Recorder()
    run = spec(str(repo), stage(1, "slow", command="sleep 30"), run_timeout_seconds=2)
    outcome = engine().execute(run, events, workspace_root=tmp_path / "ws")
    assert (outcome.state, outcome.reason) == (
        RunState.timed_out,
        "stage 'slow': the run timed out after 2 s",
    )
