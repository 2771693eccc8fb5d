"""Follow one Jenkins queue item and build: cancel, deadline, log, stage mapping, JUnit and result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from timbel.core.errors import IntegrationError
from timbel.integrations.base import StageInfo
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsNotFound
from timbel.integrations.jenkins.paths import job_url
from timbel.pipelines.engine_base import RunEvents, RunOutcome, RunSpec, RunState, StageState

from .jenkins_log import LogSplitter
from .jenkins_script import JenkinsPlan
from .jenkins_stages import StageTracker

MAX_POLL_ERRORS = 30  # consecutive failed polls before the run is given up as lost
STOP_REPEAT_SECONDS = 15.0
STOP_GRACE_SECONDS = 60.0
REF_SAVE_SECONDS = 10.0
TIMEOUT_MARKER = "Timeout has been exceeded"
_RESULTS: dict[str, tuple[RunState, str]] = {
    "SUCCESS": (RunState.succeeded, ""),
    "UNSTABLE": (RunState.failed, "unstable"),
    "FAILURE": (RunState.failed, "the Jenkins build failed"),
    "NOT_BUILT": (RunState.failed, "Jenkins did not build it (NOT_BUILT)"),
    "ABORTED": (RunState.cancelled, "aborted in Jenkins"),
}


@dataclass
class FollowState:
    """Where the run lives in Jenkins and how far it was followed (stored as the run's ``engine_ref``)."""

    job: str
    queue_id: int | None
    deadline: float
    build: int | None = None
    log_offset: int = 0
    log_stage: int | None = None
    log_depth: int = 0
    timeout_seen: bool = False
    stages: dict[str, str] = field(default_factory=dict)

    def as_ref(self) -> dict[str, Any]:
        """The JSON-able ``engine_ref``."""
        return {"engine": "jenkins", **asdict(self)}

    @classmethod
    def from_ref(cls, ref: Mapping[str, Any]) -> FollowState | None:
        """Read a stored ref back; None when it does not name a job and a deadline."""
        try:
            return cls(
                job=str(ref["job"]), deadline=float(ref["deadline"]),
                queue_id=int(ref["queue_id"]) if ref.get("queue_id") is not None else None,
                build=int(ref["build"]) if ref.get("build") is not None else None,
                log_offset=int(ref.get("log_offset") or 0),
                log_stage=int(ref["log_stage"]) if ref.get("log_stage") is not None else None,
                log_depth=int(ref.get("log_depth") or 0), timeout_seen=bool(ref.get("timeout_seen")),
                stages={str(k): str(v) for k, v in dict(ref.get("stages") or {}).items()},
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return None


class Follower:
    """Poll Jenkins for one run until it ends; report everything through ``events``."""

    def __init__(
        self, adapter: JenkinsAdapter, spec: RunSpec, events: RunEvents, plan: JenkinsPlan,
        state: FollowState, *, poll_seconds: float, sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:  # fmt: skip
        self.adapter, self.spec, self.events, self.state = adapter, spec, events, state
        self.poll, self.sleep, self.clock = poll_seconds, sleep, clock
        self.stages = StageTracker(plan, events, state.stages)
        self.log = LogSplitter(
            {name: index for index, name in plan.stage_names.items()},
            stage=state.log_stage, depth=state.log_depth,
        )  # fmt: skip
        self.stopping: RunState | None = None  # cancelled or timed_out once Timbel asked Jenkins to stop
        self.stopped_at = 0.0
        self.last_stop: float | None = None
        self.saved_at, self.saved_offset = clock(), state.log_offset
        self.errors = 0

    # --- the loop ---------------------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        """Follow the queue item, then the build; return how the run ended."""
        while True:
            self.events.heartbeat()
            try:
                outcome = self._step()
                self.errors = 0
            except IntegrationError as exc:
                self.errors += 1
                if self.errors >= MAX_POLL_ERRORS:
                    return self._end(RunState.failed, f"lost contact with Jenkins: {exc}")
                outcome = None
            if outcome is not None:
                return outcome
            self.sleep(self.poll)

    def _step(self) -> RunOutcome | None:
        self._check_stop_requests()
        if self.state.build is None:
            return self._poll_queue()
        return self._poll_build()

    def _check_stop_requests(self) -> None:
        if self.stopping is None:
            if self.events.cancel_requested():
                self.stopping = RunState.cancelled
            elif self.clock() >= self.state.deadline:
                self.stopping = RunState.timed_out
                self.events.log(f"The run exceeded its time limit of {self.spec.run_timeout_seconds} s\n")
            else:
                return
            self.stopped_at = self.clock()
            self.stages.aborted = (
                (StageState.failed, "timed out: the run exceeded its time limit")
                if self.stopping == RunState.timed_out
                else (StageState.cancelled, "cancelled")
            )
        if self.last_stop is not None and self.clock() - self.last_stop < STOP_REPEAT_SECONDS:
            return
        self.last_stop = self.clock()
        if self.state.build is None and self.state.queue_id is None:
            return  # nothing known to stop yet; the build, once found, is stopped
        if self.state.build is None:
            self.adapter.client.post(
                "/queue/cancelItem", params={"id": str(self.state.queue_id)},
                what=f"queue item {self.state.queue_id}", ok_statuses=frozenset({404}),
            )  # fmt: skip
        else:
            self.adapter.stop(self.state.job, self.state.build)

    def _poll_queue(self) -> RunOutcome | None:
        if self.state.queue_id is None:  # the worker stopped while triggering: look for the build
            found = self._find_build()
            if found is None:
                return self._end(RunState.failed, "the Jenkins build of this run cannot be found")
            return self._started(found)
        try:
            item = self.adapter.queued(self.state.queue_id)
        except JenkinsNotFound:
            found = self._find_build()  # the queue forgets items a few minutes after they start
            if found is None:
                return self._end(RunState.failed, f"Jenkins lost queue item {self.state.queue_id}")
        else:
            if item.cancelled:
                state = self.stopping or RunState.cancelled
                return self._end(state, self._stop_reason(state, "the queued build was cancelled in Jenkins"))
            if item.number is None:
                return None
            found = item.number
        return self._started(found)

    def _started(self, found: int) -> RunOutcome | None:
        self.state.build = found
        self.events.log(f"Jenkins build {self.state.job} #{found} started\n")
        self._save(force=True)
        if self.stopping is not None:
            self.last_stop = None  # the item started before the cancel reached the queue: stop the build
            self._check_stop_requests()
        return self._poll_build()

    def _poll_build(self) -> RunOutcome | None:
        assert self.state.build is not None
        info = self.adapter.build(self.state.job, self.state.build)
        more = self._read_log()
        self.stages.update(info.stages)
        self._save()
        if info.building or more:
            if self.stopping is not None and self.clock() - self.stopped_at > STOP_GRACE_SECONDS:
                self.events.log("Jenkins did not stop the build in time; it is left running there\n")
                return self._end(self.stopping, self._stop_reason(self.stopping, ""))
            return None
        self._drain_log(info.stages)
        self._junit()
        return self._finish(info.result)

    # --- log --------------------------------------------------------------------------------------------

    def _read_log(self) -> bool:
        assert self.state.build is not None
        data, next_start, more = self.adapter.log_bytes(
            self.state.job, self.state.build, start=self.state.log_offset
        )
        for text, stage_index in self.log.feed(data, start=self.state.log_offset, next_start=next_start):
            self.state.timeout_seen |= TIMEOUT_MARKER in text
            self.events.log(text, stage_index=stage_index)
        self.state.log_offset, self.state.log_stage, self.state.log_depth = (
            self.log.offset,
            self.log.stage,
            self.log.depth,
        )
        return more

    def _drain_log(self, stages: Sequence[StageInfo]) -> None:
        for _ in range(100):  # a finished build's log is complete; bounded in case Jenkins keeps saying more
            if not self._read_log():
                break
        for text, stage_index in self.log.flush():
            self.events.log(text, stage_index=stage_index)
        self.state.log_offset = self.log.offset
        self.stages.update(stages)

    # --- results ----------------------------------------------------------------------------------------

    def _finish(self, result: str | None) -> RunOutcome:
        if self.stopping is not None:
            return self._end(self.stopping, self._stop_reason(self.stopping, ""))
        state, reason = _RESULTS.get(result or "", (RunState.failed, f"Jenkins result {result or 'unknown'}"))
        if result == "ABORTED" and self.state.timeout_seen:
            state, reason = RunState.timed_out, "a stage exceeded its time limit in Jenkins"
        if state == RunState.failed and result == "FAILURE":
            failed = self.stages.first_failed()
            if failed is not None:
                reason = f"stage '{failed}' failed"
        return self._end(state, reason, commit=self._commit())

    def _stop_reason(self, state: RunState, fallback: str) -> str:
        if state == RunState.timed_out:
            return f"the run exceeded its time limit of {self.spec.run_timeout_seconds} s"
        if state == RunState.cancelled and self.stopping == RunState.cancelled:
            return "cancelled"
        return fallback

    def _end(self, state: RunState, reason: str, *, commit: str | None = None) -> RunOutcome:
        self.stages.finish(state, reason)
        self._save(force=True)
        return RunOutcome(state, reason=reason, commit=commit or self.spec.commit)

    def _commit(self) -> str | None:
        """The SHA the git plugin built (``BuildData.lastBuiltRevision``), when Jenkins reports one."""
        assert self.state.build is not None
        try:
            body = self.adapter.client.get_json(
                f"{job_url(self.state.job)}/{self.state.build}/api/json",
                params={"tree": "actions[lastBuiltRevision[SHA1]]"},
            )
        except IntegrationError:
            return None
        for action in body.get("actions") or []:
            revision = (action or {}).get("lastBuiltRevision") if isinstance(action, dict) else None
            if isinstance(revision, dict) and isinstance(revision.get("SHA1"), str):
                return str(revision["SHA1"])
        return None

    def _junit(self) -> None:
        assert self.state.build is not None
        tree = "failCount,passCount,skipCount,suites[cases[className,name,status,errorDetails]]"
        try:
            body = self.adapter.client.get_json(
                f"{job_url(self.state.job)}/{self.state.build}/testReport/api/json", params={"tree": tree}
            )
        except JenkinsNotFound:
            return  # no test results were recorded
        except IntegrationError as exc:
            self.events.log(f"Could not read the Jenkins test report: {exc}\n")
            return
        self.events.artifact("junit", junit_artifact(body))

    def _find_build(self) -> int | None:
        """The build whose ``TIMBEL_RUN_ID`` parameter is this run's (newest 50 builds)."""
        tree = "builds[number,actions[parameters[name,value]]]{0,50}"
        body = self.adapter.client.get_json(f"{job_url(self.state.job)}/api/json", params={"tree": tree})
        for build in body.get("builds") or []:
            for action in build.get("actions") or []:
                for parameter in (action or {}).get("parameters") or []:
                    pair = (parameter.get("name"), parameter.get("value"))
                    if pair == ("TIMBEL_RUN_ID", self.spec.run_id):
                        return int(build["number"])
        return None

    def _save(self, *, force: bool = False) -> None:
        """Store the position when something was reported since the last save (or every few seconds)."""
        self.state.stages = self.stages.reported()
        moved = self.state.log_offset != self.saved_offset
        if force or moved or self.stages.changed or self.clock() - self.saved_at >= REF_SAVE_SECONDS:
            self.events.set_engine_ref(self.state.as_ref())
            self.saved_at, self.saved_offset, self.stages.changed = self.clock(), self.state.log_offset, False


def junit_artifact(body: Mapping[str, Any]) -> dict[str, Any]:
    """Jenkins' ``testReport`` as the ``junit`` artifact: totals and up to 100 failed cases."""
    failed = int(body.get("failCount") or 0)
    passed = int(body.get("passCount") or 0)
    skipped = int(body.get("skipCount") or 0)
    cases: list[dict[str, str]] = []
    for suite in body.get("suites") or []:
        for case in (suite or {}).get("cases") or []:
            if str(case.get("status", "")) in ("FAILED", "REGRESSION") and len(cases) < 100:
                cases.append({
                    "class": str(case.get("className") or ""), "name": str(case.get("name") or ""),
                    "message": str(case.get("errorDetails") or "")[:2000],
                })  # fmt: skip
    total = failed + passed + skipped
    return {"tests": total, "failures": failed, "errors": 0, "skipped": skipped, "cases": cases}
