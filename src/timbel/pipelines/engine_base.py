"""The contract between pipeline runs (state in Timbel's database) and the engines that execute them.

Why a narrow contract: the run's truth lives in the database, not in the engine. An engine gets a frozen
``RunSpec`` (what to run) and a ``RunEvents`` sink (the service's side: stage state, log lines, artifacts,
heartbeats, cancel requests) and blocks until it returns a ``RunOutcome``. Engines never touch the ORM, so
the local runner and Jenkins are tested without a database, and the service is tested with a stub engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


class StageKind(StrEnum):
    """What a stage does; the local runner skips kinds it cannot run here, saying why."""

    checkout = "checkout"
    test = "test"
    build = "build"
    scan = "scan"
    image = "image"
    push = "push"
    gitops_update = "gitops-update"
    sync = "sync"
    verify = "verify"
    custom = "custom"


class RunState(StrEnum):
    """A pipeline run's state."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    timed_out = "timed_out"


class StageState(StrEnum):
    """A stage run's state."""

    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"


@dataclass(frozen=True)
class StageSpec:
    """One stage to run. ``command`` is the stage's script (one command per line), authored in the pipeline
    definition and run by ``/bin/sh -e -c`` in the checkout (or as a Jenkins ``sh`` step); run values (ref,
    commit, parameters) reach it only as environment variables, never pasted into the script. ``retries``
    are extra attempts; ``timeout_seconds`` applies per attempt."""

    index: int
    name: str
    kind: StageKind
    command: str | None = None
    timeout_seconds: int = 1800
    retries: int = 0
    continue_on_failure: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = "."  # relative to the checkout


@dataclass(frozen=True)
class RunSpec:
    """Everything an engine needs for one run (``secrets``: name → value, given to stages as environment
    variables and masked in every log line; never logged by the engine)."""

    run_id: str
    number: int
    system_slug: str
    repo_url: str
    ref: str
    commit: str | None
    stages: tuple[StageSpec, ...]
    parameters: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    clone_token: str | None = field(default=None, repr=False)  # for https clones of private repositories
    run_timeout_seconds: int = 3600


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended (``commit``: the SHA actually built, when the engine resolved it)."""

    state: RunState
    reason: str = ""
    commit: str | None = None


class RunEvents(Protocol):
    """What an engine reports while it runs; implemented by the service (database, log store)."""

    def stage_started(self, index: int) -> None:
        """Stage ``index`` began (its state becomes running)."""
        ...

    def stage_finished(self, index: int, *, state: StageState, exit_code: int | None = None,
                       reason: str = "") -> None:  # fmt: skip
        """Stage ``index`` ended (succeeded, failed, skipped, cancelled); a reason unless it succeeded."""
        ...

    def log(self, text: str, *, stage_index: int | None = None) -> None:
        """Append output (whole lines; the store timestamps, masks secrets and chunks them)."""
        ...

    def artifact(self, kind: str, data: Mapping[str, Any]) -> None:
        """Record an artifact: ``image`` {reference, digest}, ``junit`` {tests, failures, errors, skipped,
        cases: [...]}, ``coverage`` {percent}."""
        ...

    def heartbeat(self) -> None:
        """Say the run is alive (the reconciler fails runs whose heartbeat stops)."""
        ...

    def cancel_requested(self) -> bool:
        """True once a user asked to cancel; engines poll it (about once a second) and stop."""
        ...

    def set_engine_ref(self, ref: Mapping[str, Any]) -> None:
        """Remember where the run lives in the engine (Jenkins job, queue id, build number) for resuming."""
        ...


class Engine(Protocol):
    """Executes runs."""

    name: str

    def execute(self, spec: RunSpec, events: RunEvents, *, workspace_root: Path) -> RunOutcome:
        """Run every stage in order, reporting through ``events``; return how the run ended."""
        ...

    def resume(self, spec: RunSpec, events: RunEvents, *, engine_ref: Mapping[str, Any]) -> RunOutcome | None:
        """Continue following a run after a worker restart; None when the engine cannot (the local runner)."""
        ...
