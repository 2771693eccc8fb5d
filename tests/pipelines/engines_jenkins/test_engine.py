"""The Jenkins engine against the fake: job upsert, queue wait, log streaming, stage mapping, results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

from tests.fakes.jenkins import JenkinsState
from tests.fakes.server import RunningFake
from timbel.pipelines.engine_base import RunState, StageKind
from timbel.pipelines.engines.jenkins import JenkinsEngine

from .conftest import JOB, Events, run_spec, stages

MakeEngine = Callable[[], JenkinsEngine]
WORKSPACE = Path("/nonexistent-workspace")  # the Jenkins engine never touches the local disk


def triggers(fake: RunningFake) -> list[str]:
    return [r.query for r in fake.recorder.requests if r.path.endswith("/buildWithParameters")]


class TestSuccessfulRun:
    def test_queue_then_build_with_logs_stages_and_parameters(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        events = Events()
        spec = run_spec(ref="feature/x'; rm -rf /", commit="0123abcd" * 5, parameters={"TARGET": "dev env"})

        outcome = make_engine().execute(spec, events, workspace_root=WORKSPACE)

        assert outcome.state == RunState.succeeded and outcome.commit == spec.commit
        item = state.items[JOB]
        assert item.stages == ["Checkout", "Test", "Package"]  # the image stage has no command: not sent
        build = item.builds[1]
        assert build.parameters == {
            "TIMBEL_COMMIT": spec.commit, "TIMBEL_PARAM_TARGET": "dev env", "TIMBEL_REF": spec.ref,
            "TIMBEL_RUN_ID": "run-1", "TIMBEL_RUN_NUMBER": "3",
        }  # fmt: skip
        assert spec.ref not in item.config_xml and "dev env" not in item.config_xml  # run values: parameters
        assert "<hudson.model.ParametersDefinitionProperty>" in item.config_xml
        paths = [f"{r.method} {r.path}" for r in fake.recorder.requests]
        assert paths.count("GET /queue/item/7/api/json") == 3  # two waits (quiet period, executor), started
        assert len(triggers(fake)) == 1
        notices = "Jenkins job timbel/shop: queued as item 7\nJenkins build timbel/shop #1 started\n"
        assert events.text == notices + build.log.decode()  # every line once, in order
        assert [t for t, i in events.logs if i == 1] == [
            "[Pipeline] { (Test)\n단계 Test 실행 중\n[Pipeline] }\n"
        ]
        assert events.calls == [
            ("started", 0), ("finished", 0, "succeeded", ""),
            ("started", 1), ("finished", 1, "succeeded", ""),
            ("finished", 2, "skipped", "not configured for Jenkins"),
            ("started", 3), ("finished", 3, "succeeded", ""),
        ]  # fmt: skip
        assert events.refs[0] == {
            "engine": "jenkins", "job": JOB, "queue_id": None, "deadline": 1_000.0 + 3600, "build": None,
            "log_offset": 0, "log_stage": None, "log_depth": 0, "timeout_seen": False, "stages": {},
        }  # fmt: skip
        assert events.refs[1] == {**events.refs[0], "queue_id": 7}
        assert events.refs[-1]["build"] == 1 and events.refs[-1]["log_offset"] == len(build.log)
        assert events.artifacts == []  # no test report (404) is fine
        assert events.heartbeats >= 4

    def test_second_run_updates_the_job_and_reads_junit_and_commit(
        self, make_engine: MakeEngine, state: JenkinsState
    ) -> None:
        state.add_folder("timbel")
        state.add_job(
            JOB, commit="f" * 40,
            test_report={
                "failCount": 1, "passCount": 5, "skipCount": 2,
                "suites": [{"cases": [
                    {"className": "tests.test_cart", "name": "test_total", "status": "REGRESSION",
                     "errorDetails": "assert 3 == 4"},
                    {"className": "tests.test_cart", "name": "test_empty", "status": "PASSED"},
                ]}],
            },
        )  # fmt: skip
        events = Events()

        outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)

        assert outcome.state == RunState.succeeded and outcome.commit == "f" * 40
        assert events.artifacts == [("junit", {
            "tests": 8, "failures": 1, "errors": 0, "skipped": 2,
            "cases": [{"class": "tests.test_cart", "name": "test_total", "message": "assert 3 == 4"}],
        })]  # fmt: skip
        assert "pipeline {" in state.items[JOB].config_xml


class TestWithoutStageView:
    def test_stages_follow_the_result_when_jenkins_reports_none(
        self, make_engine: MakeEngine, state: JenkinsState
    ) -> None:
        state.wfapi = False
        events = Events()

        outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)

        assert outcome.state == RunState.succeeded
        assert events.states() == {0: "succeeded", 1: "succeeded", 2: "skipped", 3: "succeeded"}
        assert [c[0] for c in events.calls if c[1] == 1] == ["started", "finished"]


class TestFailures:
    def test_failed_stage_fails_the_run_and_later_stages_are_skipped(
        self, make_engine: MakeEngine, state: JenkinsState
    ) -> None:
        state.add_folder("timbel")
        state.add_job(JOB, fail_stage="Test")
        events = Events()

        outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)

        assert (outcome.state, outcome.reason) == (RunState.failed, "stage 'Test' failed")
        assert events.states() == {0: "succeeded", 1: "failed", 2: "skipped", 3: "skipped"}
        assert ("finished", 3, "skipped", "not run: the build ended earlier") in events.calls
        assert "ERROR: Test 실패\n" in events.text and events.text.endswith("Finished: FAILURE\n")

    def test_unstable_and_not_built_are_failures(self, make_engine: MakeEngine, state: JenkinsState) -> None:
        for result, reason in (
            ("UNSTABLE", "unstable"),
            ("NOT_BUILT", "Jenkins did not build it (NOT_BUILT)"),
        ):

            def finish(poll: int, result: str = result) -> None:
                builds = state.items[JOB].builds if JOB in state.items else {}
                if poll == 4 and builds:
                    builds[max(builds)]._finish(result)

            events = Events(on_poll=finish)
            outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)
            assert (outcome.state, outcome.reason) == (RunState.failed, reason)

    def test_aborted_in_jenkins_is_cancelled_and_a_jenkins_timeout_is_timed_out(
        self, make_engine: MakeEngine, state: JenkinsState
    ) -> None:
        def abort(poll: int) -> None:
            if poll == 4:
                state.items[JOB].builds[1].abort(by="admin")

        outcome = make_engine().execute(run_spec(), Events(on_poll=abort), workspace_root=WORKSPACE)
        assert (outcome.state, outcome.reason) == (RunState.cancelled, "aborted in Jenkins")

        def time_out(poll: int) -> None:
            if poll == 4:
                build = state.items[JOB].builds[2]
                build.log += b"Timeout has been exceeded\n"
                build.abort(by="timeout")

        events = Events(on_poll=time_out)
        outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)
        assert outcome.state == RunState.timed_out
        assert "cancelled" in events.states().values()

    def test_jenkins_refusing_the_job_fails_without_a_build(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        state.can_create = False
        events = Events()

        outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)

        assert outcome.state == RunState.failed and "Job/Create" in outcome.reason
        assert set(events.states().values()) == {"skipped"} and not triggers(fake)

    def test_bad_parameter_name_fails_before_any_request(
        self, make_engine: MakeEngine, fake: RunningFake
    ) -> None:
        outcome = make_engine().execute(run_spec(parameters={"A B": "x"}), Events(), workspace_root=WORKSPACE)

        assert outcome.state == RunState.failed and "'A B'" in outcome.reason
        assert fake.recorder.requests == []


class TestCancelAndTimeout:
    def test_cancel_during_the_build_stops_it(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        state.queue_waits = 0
        events = Events()

        def cancel(poll: int) -> None:
            events.cancel = poll >= 2

        events.on_poll = cancel
        spec = run_spec(*stages(*((f"S{i}", StageKind.custom, "true") for i in range(10))))

        outcome = make_engine().execute(spec, events, workspace_root=WORKSPACE)

        assert (outcome.state, outcome.reason) == (RunState.cancelled, "cancelled")
        assert [r.path for r in fake.recorder.requests if r.method == "POST"][
            -1
        ] == "/job/timbel/job/shop/1/stop"
        assert state.items[JOB].builds[1].result == "ABORTED"
        finals = events.states()
        assert "cancelled" in finals.values() and len(finals) == 10
        assert set(finals.values()) <= {"succeeded", "cancelled"}

    def test_cancel_while_queued_cancels_the_queue_item(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        state.queue_waits = 50
        events = Events(cancel=True)

        outcome = make_engine().execute(run_spec(), events, workspace_root=WORKSPACE)

        assert outcome.state == RunState.cancelled
        cancels = [r for r in fake.recorder.requests if r.path == "/queue/cancelItem"]
        assert len(cancels) == 1 and parse_qs(cancels[0].query) == {"id": ["7"]}
        assert state.items[JOB].builds == {} and state.queue[7].cancelled
        assert set(events.states().values()) == {"cancelled", "skipped"}  # the image stage: not configured

    def test_run_timeout_stops_the_build(
        self, make_engine: MakeEngine, state: JenkinsState, fake: RunningFake
    ) -> None:
        spec = run_spec(
            *stages(*((f"S{i}", StageKind.custom, "true") for i in range(12))), run_timeout_seconds=7
        )
        events = Events()

        outcome = make_engine().execute(spec, events, workspace_root=WORKSPACE)

        assert (outcome.state, outcome.reason) == (
            RunState.timed_out,
            "the run exceeded its time limit of 7 s",
        )
        assert any(r.path == "/job/timbel/job/shop/1/stop" for r in fake.recorder.requests)
        finals = events.states()
        assert "failed" in finals.values() and "cancelled" in finals.values()  # the running one, the rest
        assert "The run exceeded its time limit of 7 s\n" in events.text
