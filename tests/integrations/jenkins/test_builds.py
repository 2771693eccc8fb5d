"""Builds: trigger → queue item → build number, status with stages, progressive logs, stop, history."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.fakes.jenkins import EPOCH_MS, QUIET_PERIOD, STAGE_MS, WAITING_EXECUTOR, JenkinsState
from tests.fakes.server import RunningFake
from timbel.integrations.base import BuildInfo, CIEngine, LogChunk, QueuedBuild, StageInfo
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsNotFound, JenkinsWaitTimeout

from .conftest import calls

JOB = "team/shop"
BUILD_TREE = "tree=number%2Cbuilding%2Cresult%2Cduration%2Ctimestamp%2Curl"


@pytest.fixture
def job(state: JenkinsState) -> str:
    """A pipeline job in a folder, three stages."""
    state.add_folder("team")
    state.add_job(JOB)
    return JOB


def _started(adapter: JenkinsAdapter, fake: RunningFake, job: str, **parameters: str) -> int:
    queued = adapter.trigger(job, parameters=parameters or None)
    number = adapter.wait_for_build(queued.queue_id, sleep=lambda _: None).number
    assert number is not None
    fake.recorder.clear()
    return number


def test_adapter_is_a_ci_engine(adapter: JenkinsAdapter) -> None:
    engine: CIEngine = adapter
    assert engine is adapter


class TestTriggerAndQueue:
    def test_trigger_without_parameters_uses_build(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        assert adapter.trigger(job) == QueuedBuild(queue_id=7)
        assert calls(fake.recorder) == ["POST /job/team/job/shop/build"]
        assert state.queue[7].parameters == {}

    def test_trigger_with_parameters_uses_build_with_parameters(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        assert adapter.trigger(job, parameters={"REF": "main", "메모": "a&b=c"}).queue_id == 7
        assert calls(fake.recorder) == [
            "POST /job/team/job/shop/buildWithParameters?REF=main&%EB%A9%94%EB%AA%A8=a%26b%3Dc"
        ]
        assert state.queue[7].parameters == {"REF": "main", "메모": "a&b=c"}

    def test_queue_item_waits_then_names_the_build(
        self, adapter: JenkinsAdapter, fake: RunningFake, job: str
    ) -> None:
        queue_id = adapter.trigger(job).queue_id
        assert adapter.queued(queue_id) == QueuedBuild(queue_id, why=QUIET_PERIOD)
        assert adapter.queued(queue_id) == QueuedBuild(queue_id, why=WAITING_EXECUTOR)
        assert adapter.queued(queue_id) == QueuedBuild(queue_id, number=1)
        assert adapter.queued(queue_id) == QueuedBuild(queue_id, number=1)
        assert calls(fake.recorder)[1:] == ["GET /queue/item/7/api/json"] * 4

    def test_wait_for_build_polls_with_the_given_pause(
        self, adapter: JenkinsAdapter, fake: RunningFake, job: str
    ) -> None:
        pauses: list[float] = []
        queued = adapter.trigger(job, parameters={"REF": "v1"})
        assert adapter.wait_for_build(queued.queue_id, poll_seconds=0.5, sleep=pauses.append).number == 1
        assert pauses == [0.5, 0.5]
        assert calls(fake.recorder)[1:] == ["GET /queue/item/7/api/json"] * 3

    def test_wait_for_build_returns_a_cancelled_item(
        self, adapter: JenkinsAdapter, state: JenkinsState, job: str
    ) -> None:
        queue_id = adapter.trigger(job).queue_id
        state.cancel(queue_id)
        assert adapter.wait_for_build(queue_id, sleep=lambda _: None) == QueuedBuild(queue_id, cancelled=True)

    def test_wait_for_build_times_out_with_the_reason(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.queue_waits = 100
        queue_id = adapter.trigger(job).queue_id
        pauses: list[float] = []
        reason = re.escape(f"Jenkins 'ci-test': queue item 7 did not start within 3 s ({QUIET_PERIOD})")
        with pytest.raises(JenkinsWaitTimeout, match=reason):
            adapter.wait_for_build(queue_id, timeout=3, poll_seconds=1, sleep=pauses.append)
        assert pauses == [1, 1, 1]  # polls at 0, 1, 2 and 3 s, none after the deadline
        assert calls(fake.recorder)[1:] == ["GET /queue/item/7/api/json"] * 4

    def test_unknown_queue_item(self, adapter: JenkinsAdapter) -> None:
        with pytest.raises(JenkinsNotFound, match="queue item 99 not found"):
            adapter.queued(99)


class TestBuildStatus:
    def test_running_build_with_stages(self, adapter: JenkinsAdapter, fake: RunningFake, job: str) -> None:
        number = _started(adapter, fake, job, REF="main")
        info = adapter.build(job, number)
        assert info == BuildInfo(
            job=JOB, number=1, building=True, result=None, duration_ms=0,
            started_at=datetime.fromtimestamp((EPOCH_MS + 60_000) / 1000, tz=UTC),
            url=f"{fake.base_url}/job/team/job/shop/1/",
            stages=(StageInfo("Checkout", "SUCCESS", STAGE_MS), StageInfo("Build", "IN_PROGRESS", 0)),
        )  # fmt: skip
        assert calls(fake.recorder) == [
            f"GET /job/team/job/shop/1/api/json?{BUILD_TREE}",
            "GET /job/team/job/shop/1/wfapi/describe",
        ]

    def test_finished_failed_build(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.add_job("api", stages=["Build", "Test", "Deploy"], fail_stage="Test")
        number = _started(adapter, fake, "api")
        adapter.build("api", number)
        info = adapter.build("api", number)
        assert (info.building, info.result, info.duration_ms) == (False, "FAILURE", 2 * STAGE_MS)
        assert info.stages == (StageInfo("Build", "SUCCESS", STAGE_MS), StageInfo("Test", "FAILED", STAGE_MS))

    def test_without_stage_view_plugin_there_are_no_stages(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        state.wfapi = False
        number = _started(adapter, fake, job)
        info = adapter.build(job, number)
        assert info.stages == () and info.building
        assert calls(fake.recorder)[-1] == "GET /job/team/job/shop/1/wfapi/describe"

    def test_unknown_build_is_named(self, adapter: JenkinsAdapter, job: str) -> None:
        with pytest.raises(JenkinsNotFound, match=r"build 'team/shop' #5 not found"):
            adapter.build(job, 5)

    def test_recent_builds_newest_first(self, adapter: JenkinsAdapter, fake: RunningFake, job: str) -> None:
        for _ in range(3):
            _started(adapter, fake, job)
        builds = adapter.builds(job, limit=2)
        assert [(b.number, b.building, b.stages) for b in builds] == [(3, True, ()), (2, True, ())]
        assert calls(fake.recorder) == [
            "GET /job/team/job/shop/api/json?tree=builds%5Bnumber%2Cbuilding%2Cresult%2Cduration"
            "%2Ctimestamp%2Curl%5D%7B0%2C2%7D"
        ]

    def test_stop_aborts_the_running_build(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        number = _started(adapter, fake, job)
        adapter.stop(job, number)
        assert calls(fake.recorder) == ["POST /job/team/job/shop/1/stop"]
        info = adapter.build(job, number)
        assert (info.building, info.result) == (False, "ABORTED")
        assert info.stages == (StageInfo("Checkout", "ABORTED", STAGE_MS),)
        log = state.items[job].builds[1].log
        assert b"Aborted by timbel\n" in log and log.endswith(b"Finished: ABORTED\n")


class TestLogs:
    def test_progressive_chunks_follow_x_text_size(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        number = _started(adapter, fake, job)
        log = state.items[job].builds[number].log
        first = adapter.log(job, number)
        assert first == LogChunk(text=log.decode(), next_start=len(log), more=True)
        assert "단계 Checkout 실행 중" in first.text
        second = adapter.log(job, number, start=first.next_start)
        third = adapter.log(job, number, start=second.next_start)
        assert (second.more, third.more) == (True, False)
        assert first.text + second.text + third.text == log.decode()
        assert third.text.endswith("Finished: SUCCESS\n")
        assert calls(fake.recorder) == [
            "GET /job/team/job/shop/1/logText/progressiveText?start=0",
            f"GET /job/team/job/shop/1/logText/progressiveText?start={first.next_start}",
            f"GET /job/team/job/shop/1/logText/progressiveText?start={second.next_start}",
        ]

    def test_stream_log_yields_until_the_build_ends(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState, job: str
    ) -> None:
        number = _started(adapter, fake, job)
        pauses: list[float] = []
        parts = list(adapter.stream_log(job, number, poll_seconds=5, sleep=pauses.append))
        assert len(parts) == 3 and pauses == [5, 5]
        assert "".join(parts) == state.items[job].builds[number].log.decode()
        assert len(fake.recorder.requests) == 3

    def test_stream_log_keeps_a_character_split_across_chunks_whole(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        word = "배포 완료\n".encode()
        state.add_job("raw", output=[b"step 1 " + word[:1], word[1:5], word[5:]])
        number = _started(adapter, fake, "raw")
        parts = list(adapter.stream_log("raw", number, sleep=lambda _: None))
        assert "\ufffd" not in "".join(parts)
        assert parts == [  # each poll sends the bytes written so far; 배 and 포 arrive in two pieces
            "Started by user Timbel Bot\n[Pipeline] Start of Pipeline\nstep 1 ",
            "배",
            "포 완료\n[Pipeline] End of Pipeline\nFinished: SUCCESS\n",
        ]
        chunk = adapter.log(
            "raw", number, start=len(b"Started by user Timbel Bot\n[Pipeline] Start of Pipeline\n")
        )
        assert chunk.text == "step 1 배포 완료\n[Pipeline] End of Pipeline\nFinished: SUCCESS\n"
