"""The local runner: checks the repository out into a per-run workspace and runs each stage's script there.

Semantics (see ``engines/README.md``): stages run in order; the first failure ends the run ``failed`` and
later stages are skipped; a stage with ``continue_on_failure`` may fail without failing the run (as in
GitHub Actions' ``continue-on-error``: the run succeeds, its reason names the stages that failed); a
timeout ends the run ``timed_out``, a cancel ``cancelled``. Stages this runner cannot run (no image
builder, delivery stages without a command) are skipped with the reason, never reported as succeeded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from timbel.analysis.url_guard import AllowList, SystemResolver, UnsafeRepositoryUrl, check_repo_url
from timbel.core.settings import Settings
from timbel.gitops.runner import RepoCredentials
from timbel.pipelines.engine_base import (
    RunEvents,
    RunOutcome,
    RunSpec,
    RunState,
    StageKind,
    StageSpec,
    StageState,
)
from timbel.pipelines.engines.local_process import Limits, Pacing, ProcessResult, run_streaming
from timbel.pipelines.engines.mirror import (
    CheckoutError,
    CheckoutStopped,
    Source,
    clone_workspace,
    mirror_lock,
    mirror_path,
    resolve,
    scheme_of,
    update_mirror,
)
from timbel.pipelines.engines.reports import (
    ReportError,
    ReportScanner,
    cobertura_percent,
    istanbul_percent,
    junit_summary,
)
from timbel.pipelines.engines.workspace import (
    SAFE_PATH,
    Workspace,
    WorkspaceError,
    hold,
    remove_tree,
    stage_env,
    workspace_for,
)

DEFAULT_MEMORY_BYTES = 4 * 1024**3
AUTO = "auto"
BUILDERS = ("docker", "buildah", "kaniko")
_IMAGE_KINDS = (StageKind.image, StageKind.push)
_DELIVERY_KINDS = (StageKind.gitops_update, StageKind.sync, StageKind.verify)


class LocalEngine:
    """Runs pipelines on the worker itself (name ``local``); a run cannot be resumed after the worker died."""

    name = "local"

    def __init__(
        self,
        *,
        builder: str | None = AUTO,
        memory_limit_bytes: int | None = DEFAULT_MEMORY_BYTES,
        cpu_limit_seconds: int | None = None,
        keep_workspace: bool = False,
        allow_local: bool = False,
        pacing: Pacing | None = None,
    ) -> None:
        """``builder``: an image builder command, ``"auto"`` (docker, buildah or kaniko on PATH) or None;
        ``cpu_limit_seconds`` None: the stage timeout times the CPU count; ``allow_local``: file
        repositories (tests only)."""
        self.builder = builder
        self.memory_limit_bytes = memory_limit_bytes
        self.cpu_limit_seconds = cpu_limit_seconds
        self.keep_workspace = keep_workspace
        self.allow_local = allow_local
        self.pacing = pacing or Pacing()
        self.url_check: Callable[[str], object] | None = None  # refuses internal hosts (set by for_run)

    @classmethod
    def for_run(cls, *, settings: Settings, session_factory: object, pipeline_id: str) -> LocalEngine:
        """The runner as configured in ``settings.pipelines`` (no image builder unless one is named)."""
        conf = settings.pipelines
        memory = conf.stage_memory_limit_mb * 1024 * 1024 if conf.stage_memory_limit_mb else None
        engine = cls(
            builder=conf.image_builder, memory_limit_bytes=memory, keep_workspace=conf.keep_workspaces
        )
        allow = AllowList.from_entries(settings.analysis.allowed_hosts)
        engine.url_check = partial(check_repo_url, resolver=SystemResolver(), allow=allow)
        return engine

    def execute(self, spec: RunSpec, events: RunEvents, *, workspace_root: Path) -> RunOutcome:
        """Check out, run every stage in order, report through ``events``; return how the run ended."""
        try:
            workspace = workspace_for(workspace_root, spec.run_id)
            _validate_values(spec)
            if self.url_check is not None:  # the same guard as analyses: no way into the server's network
                self.url_check(spec.repo_url)
        except (WorkspaceError, UnsafeRepositoryUrl) as exc:
            for stage in spec.stages:
                events.stage_finished(stage.index, state=StageState.skipped, reason="the run was refused")
            return RunOutcome(RunState.failed, reason=str(exc))
        events.set_engine_ref({"engine": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                               "workspace": str(workspace.root)})  # fmt: skip
        with hold(workspace):
            outcome = _Run(self, spec, events, workspace, workspace_root.parent / "mirrors").execute()
        if outcome.state is RunState.succeeded and not self.keep_workspace:
            remove_tree(workspace.root)
        return outcome

    def resume(self, spec: RunSpec, events: RunEvents, *, engine_ref: Mapping[str, Any]) -> RunOutcome | None:
        """A local run dies with its worker: nothing to resume."""
        return None

    def builder_command(self) -> str | None:
        """The image builder found on the runner's PATH, or None."""
        if self.builder is None:
            return None
        names = BUILDERS if self.builder == AUTO else (self.builder,)
        for name in names:
            found = shutil.which(name, path=SAFE_PATH)
            if found:
                return found
        return None


def _validate_values(spec: RunSpec) -> None:
    stage_env(workspace=Workspace(Path("/")), base={}, parameters=spec.parameters, stage_env={},
              secrets=spec.secrets)  # fmt: skip
    for stage in spec.stages:
        stage_env(workspace=Workspace(Path("/")), base={}, parameters={}, stage_env=stage.env, secrets={})


@dataclass
class _Ended:
    """A stage's end: its state and reason, and the run's state when the stage ends the run."""

    state: StageState
    reason: str = ""
    exit_code: int | None = None
    run_state: RunState | None = None


@dataclass
class _Run:
    engine: LocalEngine
    spec: RunSpec
    events: RunEvents
    workspace: Workspace
    mirrors: Path
    commit: str | None = None
    soft_failures: list[str] = field(default_factory=list)
    scanner: ReportScanner | None = None
    failed_tests: str = ""

    def __post_init__(self) -> None:
        self.clock = self.engine.pacing.clock
        self.deadline = self.clock() + self.spec.run_timeout_seconds

    def execute(self) -> RunOutcome:
        end: tuple[RunState, str] | None = None
        for stage in self.spec.stages:
            if end is not None:
                state = StageState.cancelled if end[0] is RunState.cancelled else StageState.skipped
                self.events.stage_finished(stage.index, state=state, reason=_LATER[end[0]])
                continue
            if self.commit is None and stage.kind is not StageKind.checkout:
                ended = self._checkout(None, stage.timeout_seconds, retries=0)
                if ended.run_state is not None:
                    end = (ended.run_state, f"checkout: {ended.reason}")
                    self.events.stage_finished(stage.index, state=_later_state(end[0]), reason=_LATER[end[0]])
                    continue
            ended = self._stage(stage)
            self.events.stage_finished(stage.index, state=ended.state, exit_code=ended.exit_code,
                                       reason=ended.reason)  # fmt: skip
            if ended.run_state is not None:
                end = (ended.run_state, self._run_reason(stage, ended))
        if end is not None:
            return RunOutcome(end[0], reason=end[1], commit=self.commit)
        if self.commit is None:  # no stages at all: still check out, so the commit is known
            ended = self._checkout(None, 1800, retries=0)
            if ended.run_state is not None:
                return RunOutcome(ended.run_state, reason=f"checkout: {ended.reason}")
        reason = ""
        if self.soft_failures:
            reason = "succeeded; allowed to fail: " + ", ".join(self.soft_failures)
        return RunOutcome(RunState.succeeded, reason=reason, commit=self.commit)

    def _run_reason(self, stage: StageSpec, ended: _Ended) -> str:
        if ended.run_state is RunState.cancelled:
            return "cancelled"
        return f"stage {stage.name!r}: {ended.reason}{self.failed_tests}"

    def _stage(self, stage: StageSpec) -> _Ended:
        if self.events.cancel_requested():
            return _Ended(StageState.cancelled, "cancelled", run_state=RunState.cancelled)
        if self.clock() >= self.deadline:
            return _Ended(StageState.skipped, self._run_timeout(), run_state=RunState.timed_out)
        if stage.kind is StageKind.checkout:
            if self.commit is not None:
                return _Ended(StageState.skipped, "already checked out")
            return self._checkout(stage.index, stage.timeout_seconds, retries=stage.retries)
        skip = self._skip_reason(stage)
        if skip:
            self.events.log(f"skipped: {skip}", stage_index=stage.index)
            return _Ended(StageState.skipped, skip)
        return self._command(stage)

    def _skip_reason(self, stage: StageSpec) -> str:
        if stage.kind in _IMAGE_KINDS:
            if self.engine.builder_command() is None:
                return "no image builder configured on this runner (docker, buildah or kaniko)"
            if stage.command is None:
                return "no command: this runner builds and pushes images only with a stage command"
        if stage.command is None and stage.kind in _DELIVERY_KINDS:
            return f"no command: {stage.kind.value} is done by Timbel's delivery, not on this runner"
        if stage.command is None or not stage.command.strip():
            return "no command"
        return ""

    def _command(self, stage: StageSpec) -> _Ended:
        assert stage.command is not None
        self.events.stage_started(stage.index)
        self.events.heartbeat()
        try:
            cwd = self.workspace.workdir(stage.workdir)
            env = self._env(stage)
        except WorkspaceError as exc:
            self.events.log(str(exc), stage_index=stage.index)
            return self._failed(stage, str(exc), None)
        attempts = stage.retries + 1
        timeout = stage.timeout_seconds
        cpu = self.engine.cpu_limit_seconds or timeout * max(1, os.cpu_count() or 1)
        limits = Limits(memory_bytes=self.engine.memory_limit_bytes, cpu_seconds=cpu)
        ended = _Ended(StageState.failed)
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                self.events.log(f"retrying: attempt {attempt} of {attempts}", stage_index=stage.index)
            result = run_streaming(
                ["/bin/sh", "-e", "-c", stage.command], cwd=cwd, env=env, events=self.events,
                stage_index=stage.index, deadline=min(self.clock() + timeout, self.deadline),
                pacing=self.engine.pacing, limits=limits, scrub=tuple(self.spec.secrets.values()),
            )  # fmt: skip
            ended = self._judge(stage, result, timeout)
            if ended.state is StageState.succeeded or ended.run_state in (RunState.cancelled, None):
                break
            if self.clock() >= self.deadline:
                break
        self._reports(stage.index)
        if ended.state is StageState.failed and ended.run_state is not RunState.cancelled:
            return self._failed(stage, ended.reason, ended.exit_code, ended.run_state or RunState.failed)
        return ended

    def _judge(self, stage: StageSpec, result: ProcessResult, timeout: int) -> _Ended:
        if result.cancelled:
            return _Ended(StageState.cancelled, "cancelled", result.exit_code, RunState.cancelled)
        if result.timed_out:
            reason = self._run_timeout() if self.clock() >= self.deadline else f"timed out after {timeout} s"
            return _Ended(StageState.failed, reason, result.exit_code, RunState.timed_out)
        if result.exit_code == 0:
            return _Ended(StageState.succeeded, exit_code=0)
        return _Ended(StageState.failed, _exit_reason(result.exit_code), result.exit_code, RunState.failed)

    def _failed(self, stage: StageSpec, reason: str, exit_code: int | None,
                run_state: RunState = RunState.failed) -> _Ended:  # fmt: skip
        if stage.continue_on_failure and run_state is not RunState.cancelled and self.clock() < self.deadline:
            self.soft_failures.append(stage.name)
            self.events.log(
                f"stage failed ({reason}); continuing (continue on failure)", stage_index=stage.index
            )
            return _Ended(StageState.failed, reason, exit_code)
        return _Ended(StageState.failed, reason, exit_code, run_state)

    def _run_timeout(self) -> str:
        return f"the run timed out after {self.spec.run_timeout_seconds} s"

    def _env(self, stage: StageSpec) -> dict[str, str]:
        base = {
            "TIMBEL_RUN_ID": self.spec.run_id,
            "TIMBEL_RUN_NUMBER": str(self.spec.number),
            "TIMBEL_SYSTEM": self.spec.system_slug,
            "TIMBEL_REF": self.spec.ref,
            "TIMBEL_COMMIT": self.commit or "",
            "TIMBEL_STAGE": stage.name,
        }
        return stage_env(workspace=self.workspace, base=base, parameters=self.spec.parameters,
                         stage_env=stage.env, secrets=self.spec.secrets)  # fmt: skip

    def _checkout(self, index: int | None, timeout: int, *, retries: int) -> _Ended:
        if index is not None:
            self.events.stage_started(index)
        ended = _Ended(StageState.failed)
        for attempt in range(1, retries + 2):
            if attempt > 1:
                self.events.log(f"retrying: attempt {attempt} of {retries + 1}", stage_index=index)
            ended = self._checkout_once(index, min(self.clock() + timeout, self.deadline), timeout)
            if ended.state is StageState.succeeded or ended.run_state is not RunState.failed:
                break
        return ended

    def _checkout_once(self, index: int | None, deadline: float, timeout: int) -> _Ended:
        token = self.spec.clone_token
        scrub = RepoCredentials(token=token).secrets() if token else ()
        stopped: list[str] = []

        def git(argv: list[str], *, env: dict[str, str], capture: list[str] | None = None) -> ProcessResult:
            self.events.log("$ git " + " ".join(_shown(argv)), stage_index=index)
            return run_streaming(argv, cwd=None, env=env, events=self.events, stage_index=index,
                                 deadline=deadline, pacing=self.engine.pacing, scrub=scrub,
                                 capture=capture)  # fmt: skip

        def should_stop() -> bool:
            self.events.heartbeat()
            if self.clock() >= deadline:
                stopped.append("timeout")
            elif self.events.cancel_requested():
                stopped.append("cancel")
            return bool(stopped)

        source = Source(self.spec.repo_url, token, allow_local=self.engine.allow_local)
        try:
            scheme_of(source.url, allow_local=source.allow_local)
            mirror = mirror_path(self.mirrors, source.url)
            with mirror_lock(mirror, should_stop=should_stop):
                fresh = update_mirror(source, mirror, git=git)
                sha = resolve(mirror, ref=self.spec.ref, commit=self.spec.commit, git=git)
            clone_workspace(mirror, self.workspace.src, sha, git=git)
        except CheckoutStopped as exc:
            return self._stopped(exc.result.cancelled, timeout)
        except CheckoutError as exc:
            if stopped:
                return self._stopped(stopped[0] == "cancel", timeout)
            return _Ended(StageState.failed, str(exc), run_state=RunState.failed)
        self.commit = sha
        how = "cloned the repository mirror" if fresh else "updated the cached repository mirror"
        self.events.log(f"{how}; checked out {sha}", stage_index=index)
        self.scanner = ReportScanner(self.workspace.src)
        self.scanner.new_files()  # report files committed to the repository are not this run's results
        return _Ended(StageState.succeeded, exit_code=0)

    def _stopped(self, cancelled: bool, timeout: int) -> _Ended:
        if cancelled:
            return _Ended(StageState.cancelled, "cancelled", run_state=RunState.cancelled)
        reason = self._run_timeout() if self.clock() >= self.deadline else f"timed out after {timeout} s"
        return _Ended(StageState.failed, reason, run_state=RunState.timed_out)

    def _reports(self, index: int) -> None:
        if self.scanner is None:
            return
        junit, cobertura, istanbul = self.scanner.new_files()
        src = self.workspace.src
        if junit:
            try:
                summary = junit_summary(junit)
            except ReportError as exc:
                self.events.log(f"test report ignored: {exc}", stage_index=index)
            else:
                files = [path.relative_to(src).as_posix() for path in junit]
                self.events.artifact("junit", {**summary, "stage": index, "files": files})
                bad = summary["failures"] + summary["errors"]
                self.failed_tests = f" ({bad} of {summary['tests']} tests failed)" if bad else ""
        readers = [(p, cobertura_percent) for p in cobertura] + [(p, istanbul_percent) for p in istanbul]
        for path, read in readers:
            try:
                percent = read(path)
            except ReportError as exc:
                self.events.log(f"coverage report ignored: {exc}", stage_index=index)
                continue
            self.events.artifact("coverage", {"percent": percent, "stage": index,
                                              "file": path.relative_to(src).as_posix()})  # fmt: skip


_LATER = {
    RunState.failed: "an earlier stage failed",
    RunState.cancelled: "the run was cancelled",
    RunState.timed_out: "the run timed out",
}


def _later_state(state: RunState) -> StageState:
    return StageState.cancelled if state is RunState.cancelled else StageState.skipped


def _exit_reason(code: int | None) -> str:
    if code is None or code >= 0:
        return f"exited with {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = str(-code)
    extra = {"SIGXCPU": " (CPU time limit)", "SIGKILL": " (killed; out of memory?)"}.get(name, "")
    return f"killed by {name}{extra}"


def _shown(argv: list[str]) -> list[str]:
    """The git argv without the fixed ``git -c …`` preamble, for the log."""
    words = argv[1:]
    shown: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word == "-c":
            skip = True
            continue
        shown.append(word)
    return shown
