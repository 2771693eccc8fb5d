"""The Jenkins engine: run a pipeline as a generated inline-pipeline job and follow it into Timbel.

Why follow by polling with a stored position: the worker may die at any moment, and the run's truth lives in
Timbel's database. Everything needed to pick the run up again (job, queue item, build number, log offset,
the stage states already reported, the deadline) goes into ``engine_ref``, so ``resume`` continues where the
last worker stopped without triggering a second build.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timbel.core.errors import IntegrationError
from timbel.integrations.jenkins import JenkinsAdapter
from timbel.integrations.jenkins.paths import job_url, join_job
from timbel.pipelines.engine_base import RunEvents, RunOutcome, RunSpec, RunState, StageState

from . import jenkins_script
from .jenkins_follow import Follower, FollowState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from timbel.core.settings import Settings

DEFAULT_FOLDER = "timbel"


class JenkinsEngine:
    """Execute runs on one Jenkins instance, as jobs ``<folder>/<system slug>``."""

    name = "jenkins"

    def __init__(
        self,
        adapter: JenkinsAdapter,
        *,
        folder: str = DEFAULT_FOLDER,
        git_credentials_id: str | None = None,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.adapter = adapter
        self.folder = folder
        self.git_credentials_id = git_credentials_id
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.clock = clock

    @classmethod
    def for_run(
        cls, *, settings: Settings, session_factory: sessionmaker[Session], pipeline_id: str
    ) -> JenkinsEngine:
        """The engine of a pipeline: its Jenkins instance, else the domain's (or global) default one."""
        from timbel.catalog.models import System
        from timbel.core.errors import NotFound
        from timbel.integrations import service as integrations_service
        from timbel.integrations.base import IntegrationKind
        from timbel.integrations.jenkins import from_instance
        from timbel.integrations.models import Integration
        from timbel.pipelines.run_models import Pipeline

        with session_factory() as session:
            pipeline = session.get(Pipeline, pipeline_id)
            if pipeline is None:
                raise NotFound("No such pipeline.")
            row: Integration | None
            if pipeline.jenkins_integration_id:
                row = integrations_service.get_or_raise(
                    session, integration_id=pipeline.jenkins_integration_id
                )
            else:
                system = session.get(System, pipeline.system_id)
                row = integrations_service.default_for(
                    session, kind=IntegrationKind.jenkins, domain_id=system.domain_id if system else None
                )
            if row is None:
                raise NotFound("No Jenkins integration is configured for this pipeline.")
            config = integrations_service.instance_config(row, settings=settings)
        adapter = from_instance(config)
        return cls(adapter, folder=adapter.config.folder or DEFAULT_FOLDER)

    def job_for(self, spec: RunSpec) -> str:
        """The job path of a run's system (``<folder>/<slug>``)."""
        return join_job(self.folder, spec.system_slug)

    def execute(self, spec: RunSpec, events: RunEvents, *, workspace_root: Path) -> RunOutcome:
        """Upsert the job, trigger a build with the run's parameters and follow it to its end."""
        try:
            plan = jenkins_script.plan(spec, git_credentials_id=self.git_credentials_id)
        except ValueError as exc:
            return _fail_all(spec, events, f"cannot generate the Jenkinsfile: {exc}")
        job = self.job_for(spec)
        if spec.secrets:
            events.log(
                "Secrets are not sent to Jenkins (" + ", ".join(sorted(spec.secrets)) + "); "
                "stages get them from Jenkins credentials.\n"
            )
        try:
            job_url(job)  # refuse a slug Jenkins cannot name before any request
            xml = jenkins_script.config_xml(plan, description=f"Timbel pipeline of {spec.system_slug}")
            self.adapter.upsert_job(job, config_xml=xml)
            state = FollowState(job=job, queue_id=None, deadline=self.clock() + spec.run_timeout_seconds)
            events.set_engine_ref(state.as_ref())  # a worker dying now is found again by TIMBEL_RUN_ID
            queued = self.adapter.trigger(job, parameters=jenkins_script.job_parameters(spec))
        except (IntegrationError, ValueError) as exc:
            return _fail_all(spec, events, f"could not start the Jenkins build: {_detail(exc)}")
        state.queue_id = queued.queue_id
        events.set_engine_ref(state.as_ref())
        events.log(f"Jenkins job {job}: queued as item {queued.queue_id}\n")
        return self._follower(spec, events, plan, state).run()

    def resume(self, spec: RunSpec, events: RunEvents, *, engine_ref: Mapping[str, Any]) -> RunOutcome | None:
        """Continue following the queue item or build stored in ``engine_ref`` (never triggers again)."""
        state = FollowState.from_ref(engine_ref)
        if state is None:
            return None
        try:
            plan = jenkins_script.plan(spec, git_credentials_id=self.git_credentials_id)
        except ValueError as exc:
            return _fail_all(spec, events, f"cannot generate the Jenkinsfile: {exc}")
        events.log(f"Resumed following Jenkins job {state.job}\n")
        return self._follower(spec, events, plan, state).run()

    def _follower(
        self, spec: RunSpec, events: RunEvents, plan: jenkins_script.JenkinsPlan, state: FollowState
    ) -> Follower:
        return Follower(
            self.adapter, spec, events, plan, state,
            poll_seconds=self.poll_seconds, sleep=self.sleep, clock=self.clock,
        )  # fmt: skip


def _detail(exc: Exception) -> str:
    return exc.detail if isinstance(exc, IntegrationError) and exc.detail else str(exc)


def _fail_all(spec: RunSpec, events: RunEvents, reason: str) -> RunOutcome:
    """End a run that never reached Jenkins: every stage skipped, the run failed."""
    events.log(reason + "\n")
    for stage in spec.stages:
        events.stage_finished(stage.index, state=StageState.skipped, reason="the build was not started")
    return RunOutcome(RunState.failed, reason=reason)
