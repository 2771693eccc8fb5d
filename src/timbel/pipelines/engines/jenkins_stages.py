"""Map Jenkins stage statuses (``wfapi/describe``) onto Timbel stage runs, reporting each change once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from timbel.integrations.base import StageInfo
from timbel.pipelines.engine_base import RunEvents, RunState, StageState

from .jenkins_script import NOT_CONFIGURED, JenkinsPlan

RUNNING = "running"
_STATUS: dict[str, tuple[StageState, str]] = {
    "SUCCESS": (StageState.succeeded, ""),
    "FAILED": (StageState.failed, "failed in Jenkins"),
    "UNSTABLE": (StageState.failed, "unstable"),
    "ABORTED": (StageState.cancelled, "aborted in Jenkins"),
    "NOT_EXECUTED": (StageState.skipped, "not executed in Jenkins"),
}
_ACTIVE = frozenset({"IN_PROGRESS", "PAUSED_PENDING_INPUT"})


class StageTracker:
    """What has been reported per stage index (``running`` or a final state), so nothing is sent twice."""

    def __init__(self, plan: JenkinsPlan, events: RunEvents, reported: Mapping[str, str]) -> None:
        self.plan, self.events = plan, events
        self.by_name = {name: index for index, name in plan.stage_names.items()}
        self.order = sorted({*plan.stage_names, *plan.skipped})
        self.state: dict[int, str] = {int(k): v for k, v in reported.items()}
        self.changed = False
        self.aborted: tuple[StageState, str] | None = None  # how an ABORTED stage ends once Timbel stopped it

    def reported(self) -> dict[str, str]:
        """The reported states, JSON-able."""
        return {str(k): v for k, v in sorted(self.state.items())}

    def update(self, stages: Iterable[StageInfo]) -> None:
        """Apply the stage statuses Jenkins reports now."""
        for info in stages:
            index = self.by_name.get(info.name)
            if index is None:
                continue  # "Declarative: Post Actions" and the like
            self._skip_omitted(before=index)
            if info.status in _ACTIVE:
                self._start(index)
            elif info.status in _STATUS:
                state, reason = _STATUS[info.status]
                if info.status == "ABORTED" and self.aborted is not None:
                    state, reason = self.aborted
                self._end(index, state, reason)

    def first_failed(self) -> str | None:
        """The Jenkins name of the first stage reported failed."""
        for index in self.order:
            if self.state.get(index) == StageState.failed.value:
                return self.plan.stage_names.get(index)
        return None

    def finish(self, run: RunState, reason: str) -> None:
        """End every stage still open, as the run's end implies."""
        for index in self.order:
            if self._final(index):
                continue
            if index in self.plan.skipped:
                self._end(index, StageState.skipped, NOT_CONFIGURED)
            elif run == RunState.succeeded:
                self._end(index, StageState.succeeded, "")  # Jenkins ran every stage (no stage view)
            elif run == RunState.timed_out and self.state.get(index) == RUNNING:
                self._end(index, StageState.failed, reason or "timed out")
            elif run in (RunState.cancelled, RunState.timed_out):
                self._end(index, StageState.cancelled, reason or run.value)
            elif self.state.get(index) == RUNNING:
                self._end(index, StageState.failed, reason or "failed in Jenkins")
            else:
                self._end(index, StageState.skipped, "not run: the build ended earlier")

    def _skip_omitted(self, *, before: int) -> None:
        for index in self.plan.skipped:
            if index < before and not self._final(index):
                self._end(index, StageState.skipped, NOT_CONFIGURED)

    def _final(self, index: int) -> bool:
        return index in self.state and self.state[index] != RUNNING

    def _start(self, index: int) -> None:
        if index not in self.state:
            self.events.stage_started(index)
            self.state[index] = RUNNING
            self.changed = True

    def _end(self, index: int, state: StageState, reason: str) -> None:
        if self._final(index):
            return
        if state in (StageState.succeeded, StageState.failed):
            self._start(index)  # pending → running → done: Jenkins may finish a stage between two polls
        self.events.stage_finished(index, state=state, reason=reason)
        self.state[index] = state.value
        self.changed = True
