"""A worker dies mid-run; a new engine resumes from the stored ``engine_ref`` without a second build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.jenkins import JenkinsState
from tests.fakes.server import RunningFake
from timbel.pipelines.engine_base import RunState, StageKind
from timbel.pipelines.engines.jenkins import JenkinsEngine

from .conftest import JOB, Events, WorkerDied, run_spec, stages

MakeEngine = Callable[[], JenkinsEngine]
SPEC = run_spec(*stages(*((f"S{i}", StageKind.custom, f"echo {i}") for i in range(10))))
WORKSPACE = Path("/nonexistent-workspace")
NOTICES = ("Jenkins job ", "Jenkins build ", "Resumed following ")


def jenkins_lines(*events: Events) -> str:
    """The Jenkins log as the events received it (the engine's own notices left out)."""
    text = "".join(e.text for e in events)
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith(NOTICES))


def triggers(fake: RunningFake) -> int:
    return sum(r.path.endswith("/buildWithParameters") for r in fake.recorder.requests)


def assert_each_stage_once(*events: Events) -> None:
    calls = [c for e in events for c in e.calls]
    for index in range(len(SPEC.stages)):
        assert [c[0] for c in calls if c[1] == index] == ["started", "finished"], index


class TestResume:
    def test_worker_killed_during_the_build(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        first = Events(die_after_heartbeats=5)
        with pytest.raises(WorkerDied):
            make_engine().execute(SPEC, first, workspace_root=WORKSPACE)
        ref = first.refs[-1]
        assert ref["build"] == 1 and ref["log_offset"] > 0 and state.items[JOB].builds[1].building

        second = Events()
        outcome = make_engine().resume(SPEC, second, engine_ref=ref)

        assert outcome is not None and outcome.state == RunState.succeeded
        assert triggers(fake) == 1
        assert jenkins_lines(first, second) == state.items[JOB].builds[1].log.decode()  # no loss, no repeat
        assert_each_stage_once(first, second)
        assert "Resumed following Jenkins job timbel/shop\n" in second.text

    def test_worker_killed_while_queued(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        state.queue_waits = 4
        first = Events(die_after_heartbeats=2)
        with pytest.raises(WorkerDied):
            make_engine().execute(SPEC, first, workspace_root=WORKSPACE)
        assert first.refs[-1]["build"] is None

        second = Events()
        outcome = make_engine().resume(SPEC, second, engine_ref=first.refs[-1])

        assert outcome is not None and outcome.state == RunState.succeeded
        assert triggers(fake) == 1 and list(state.items[JOB].builds) == [1]
        assert_each_stage_once(first, second)

    def test_forgotten_queue_item_is_found_by_run_id(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        state.queue_waits = 4
        first = Events(die_after_heartbeats=1)
        with pytest.raises(WorkerDied):
            make_engine().execute(SPEC, first, workspace_root=WORKSPACE)
        other = state.start_build(JOB, {"TIMBEL_RUN_ID": "another-run"})  # someone else's build
        entry = state.queue.pop(7)  # Jenkins starts the item, then forgets it
        mine = state.start_build(JOB, entry.parameters)

        second = Events()
        outcome = make_engine().resume(SPEC, second, engine_ref=first.refs[-1])

        assert outcome is not None and outcome.state == RunState.succeeded
        assert second.refs[-1]["build"] == mine.number != other.number
        assert other.building and not mine.building
        assert triggers(fake) == 1

    def test_worker_killed_while_triggering(self, make_engine: MakeEngine, state: JenkinsState) -> None:
        ref = {"engine": "jenkins", "job": JOB, "queue_id": None, "deadline": 9_999.0}
        state.add_folder("timbel")
        state.add_job(JOB, stages=[f"S{i}" for i in range(10)])

        lost = Events()
        outcome = make_engine().resume(SPEC, lost, engine_ref=ref)
        assert outcome is not None and outcome.state == RunState.failed
        assert outcome.reason == "the Jenkins build of this run cannot be found"

        state.start_build(JOB, {"TIMBEL_RUN_ID": "run-1"})
        outcome = make_engine().resume(SPEC, Events(), engine_ref=ref)
        assert outcome is not None and outcome.state == RunState.succeeded

    def test_a_ref_without_a_job_cannot_be_resumed(self, make_engine: MakeEngine, fake: RunningFake) -> None:
        assert make_engine().resume(SPEC, Events(), engine_ref={}) is None
        assert make_engine().resume(SPEC, Events(), engine_ref={"job": "x", "queue_id": "?"}) is None
        assert fake.recorder.requests == []
