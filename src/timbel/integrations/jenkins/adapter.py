"""The Jenkins adapter: ``base.CIEngine`` (jobs in folders, queue, builds, stages, progressive logs)."""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from timbel.core.errors import IntegrationError
from timbel.integrations.base import (
    BuildInfo,
    ConnectionReport,
    IntegrationKind,
    LogChunk,
    QueuedBuild,
    StageInfo,
)
from timbel.integrations.http import CircuitBreaker, breaker_for
from timbel.integrations.registry_of_adapters import InstanceConfig

from .client import JenkinsClient
from .config import JenkinsConfig
from .config_xml import FOLDER_CLASS, folder_config_xml
from .errors import JenkinsNotFound, JenkinsWaitTimeout
from .paths import folder_url, job_url, join_job, parent_and_name, split_job
from .probe import connection_report

BUILD_TREE = "number,building,result,duration,timestamp,url"
_QUEUE_LOCATION = re.compile(r"/queue/item/(\d+)/?$")


class JenkinsAdapter:
    """Create and run pipeline jobs on one Jenkins instance."""

    kind = IntegrationKind.jenkins

    def __init__(
        self,
        config: JenkinsConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.client = JenkinsClient(config, transport=transport, breaker=breaker, sleep=sleep)
        self._sleep = sleep

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def job_path(self, name: str) -> str:
        """The full path of a job inside the configured folder (``folder/name``)."""
        return join_job(self.config.folder, name)

    def test_connection(self) -> ConnectionReport:
        """Reachability, version (``X-Jenkins``), who we are, and read/create permissions in the folder."""
        return connection_report(self.client)

    # --- jobs -------------------------------------------------------------------------------------------

    def upsert_job(self, job: str, *, config_xml: str) -> None:
        """Create the job (and any missing folders) or replace its ``config.xml``."""
        url = job_url(job)
        if self._exists(job):
            self.client.post(f"{url}/config.xml", xml=config_xml, what=f"job '{job}'")
            return
        parent, name = parent_and_name(job)
        self.ensure_folder(parent)
        created = self.client.post(
            f"{folder_url(parent)}/createItem", params={"name": name}, xml=config_xml,
            what=f"folder '{parent}'" if parent else "the root", ok_statuses=frozenset({400}),
        )  # fmt: skip
        if created.status_code == 400:
            if "already exists" not in created.text:
                raise IntegrationError(f"{self.client.label}: refused to create job '{job}' (HTTP 400)")
            self.client.post(f"{url}/config.xml", xml=config_xml, what=f"job '{job}'")  # lost a race

    def ensure_folder(self, folder: str | None) -> None:
        """Create every missing folder of ``folder`` from the top down (the root always exists)."""
        if not folder:
            return
        names = split_job(folder)
        missing_from = len(names)
        for depth in range(len(names), 0, -1):  # deepest existing ancestor first: one GET when it exists
            if self._exists("/".join(names[:depth])):
                break
            missing_from = depth - 1
        for depth in range(missing_from, len(names)):
            parent = "/".join(names[:depth]) or None
            answer = self.client.post(
                f"{folder_url(parent)}/createItem", params={"name": names[depth], "mode": FOLDER_CLASS},
                xml=folder_config_xml(description="Created by Timbel"), what=f"folder '{parent or '/'}'",
                ok_statuses=frozenset({400}),
            )  # fmt: skip
            if answer.status_code == 400 and "already exists" not in answer.text:  # else: created meanwhile
                path = "/".join(names[: depth + 1])
                raise IntegrationError(f"{self.client.label}: refused to create folder '{path}' (HTTP 400)")

    def jobs(self, folder: str | None = None) -> list[str]:
        """Paths of the items (jobs and sub-folders) directly in ``folder`` (the root when None)."""
        what = f"folder '{folder}'" if folder else "the root"
        body = self.client.get_json(
            f"{folder_url(folder)}/api/json", params={"tree": "jobs[name]"}, what=what
        )
        return [join_job(folder, str(item["name"])) for item in body.get("jobs") or [] if item.get("name")]

    def _exists(self, job: str) -> bool:
        try:
            self.client.get_json(f"{job_url(job)}/api/json", params={"tree": "name"})
        except JenkinsNotFound:
            return False
        return True

    # --- builds -----------------------------------------------------------------------------------------

    def trigger(self, job: str, *, parameters: dict[str, str] | None = None) -> QueuedBuild:
        """Queue a build (``buildWithParameters`` when there are parameters); return its queue item."""
        action = "buildWithParameters" if parameters else "build"
        response = self.client.post(
            f"{job_url(job)}/{action}", params=sorted((parameters or {}).items()), what=f"job '{job}'"
        )
        match = _QUEUE_LOCATION.search(response.headers.get("Location", "").split("?")[0])
        if response.status_code != 201 or match is None:
            raise IntegrationError(
                f"{self.client.label}: triggering '{job}' gave no queue item (HTTP {response.status_code})"
            )
        return QueuedBuild(queue_id=int(match.group(1)))

    def queued(self, queue_id: int) -> QueuedBuild:
        """Where a queue item is: waiting (``why``), cancelled, or started as a build number."""
        body = self.client.get_json(f"/queue/item/{int(queue_id)}/api/json", what=f"queue item {queue_id}")
        executable = body.get("executable") or {}
        number = executable.get("number") if isinstance(executable, dict) else None
        why = body.get("why")
        return QueuedBuild(
            queue_id=int(queue_id),
            number=int(number) if number is not None else None,
            why=str(why) if why else None,
            cancelled=bool(body.get("cancelled")),
        )

    def wait_for_build(
        self,
        queue_id: int,
        *,
        timeout: float = 300.0,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> QueuedBuild:
        """Poll the queue until the item started (or was cancelled); JenkinsWaitTimeout after ``timeout``."""
        pause = sleep or self._sleep
        started, slept = clock(), 0.0
        while True:
            item = self.queued(queue_id)
            if item.number is not None or item.cancelled:
                return item
            if max(clock() - started, slept) + poll_seconds > timeout:
                raise JenkinsWaitTimeout(
                    f"{self.client.label}: queue item {queue_id} did not start within {timeout:g} s"
                    + (f" ({item.why})" if item.why else "")
                )
            pause(poll_seconds)
            slept += poll_seconds

    def build(self, job: str, number: int) -> BuildInfo:
        """Status, result, duration and (with the Pipeline Stage View plugin) stages of one build."""
        url = f"{job_url(job)}/{int(number)}"
        what = f"build '{job}' #{number}"
        body = self.client.get_json(f"{url}/api/json", params={"tree": BUILD_TREE}, what=what)
        return _build_info(job, body, stages=self._stages(url, what))

    def builds(self, job: str, *, limit: int = 20) -> list[BuildInfo]:
        """The most recent builds of a job, newest first (without stages: one request in all)."""
        if limit < 1:
            return []
        tree = f"builds[{BUILD_TREE}]{{0,{int(limit)}}}"
        body = self.client.get_json(f"{job_url(job)}/api/json", params={"tree": tree}, what=f"job '{job}'")
        return [_build_info(job, item) for item in (body.get("builds") or [])[:limit]]

    def stop(self, job: str, number: int) -> None:
        """Abort a running build (Jenkins answers with a redirect to the build page)."""
        self.client.post(f"{job_url(job)}/{int(number)}/stop", what=f"build '{job}' #{number}")

    def _stages(self, url: str, what: str) -> list[StageInfo]:
        try:
            body = self.client.get_json(f"{url}/wfapi/describe", what=f"stages of {what}")
        except JenkinsNotFound:
            return []  # no Pipeline Stage View plugin, or not a pipeline job
        return [
            StageInfo(
                name=str(s.get("name", "")),
                status=str(s.get("status", "UNKNOWN")),
                duration_ms=int(s.get("durationMillis") or 0),
            )
            for s in body.get("stages") or []
        ]

    # --- logs -------------------------------------------------------------------------------------------

    def log(self, job: str, number: int, *, start: int = 0) -> LogChunk:
        """The log from byte ``start``; ``next_start`` = ``X-Text-Size``, ``more`` = ``X-More-Data``."""
        data, next_start, more = self.log_bytes(job, number, start=start)
        return LogChunk(text=data.decode("utf-8", errors="replace"), next_start=next_start, more=more)

    def log_bytes(self, job: str, number: int, *, start: int = 0) -> tuple[bytes, int, bool]:
        """Raw bytes of ``logText/progressiveText`` from ``start``, the next start, and whether more comes."""
        response = self.client.get(
            f"{job_url(job)}/{int(number)}/logText/progressiveText",
            params={"start": str(max(0, int(start)))}, what=f"build '{job}' #{number}",
        )  # fmt: skip
        size = response.headers.get("X-Text-Size", "")
        next_start = int(size) if size.isdigit() else start + len(response.content)
        more = response.headers.get("X-More-Data", "").lower() == "true"
        return response.content, next_start, more

    def stream_log(
        self, job: str, number: int, *, start: int = 0, poll_seconds: float = 2.0,
        sleep: Callable[[float], None] | None = None,
    ) -> Iterator[str]:  # fmt: skip
        """Yield the log text as it grows until the build ends (UTF-8 split across chunks is kept whole)."""
        pause = sleep or self._sleep
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            data, start, more = self.log_bytes(job, number, start=start)
            text = decoder.decode(data, final=not more)
            if text:
                yield text
            if not more:
                return
            pause(poll_seconds)


def from_instance(c: InstanceConfig) -> JenkinsAdapter:
    """Build the adapter of a stored instance (with its process-wide circuit breaker)."""
    return JenkinsAdapter(
        JenkinsConfig.model_validate(c.config_data()), breaker=breaker_for(c.id, name=c.name)
    )


def _build_info(job: str, body: dict[str, Any], *, stages: list[StageInfo] | None = None) -> BuildInfo:
    timestamp = body.get("timestamp")
    result = body.get("result")
    return BuildInfo(
        job=job,
        number=int(body.get("number") or 0),
        building=bool(body.get("building")),
        result=str(result) if result else None,
        duration_ms=int(body.get("duration") or 0),
        started_at=datetime.fromtimestamp(timestamp / 1000, tz=UTC) if timestamp else None,
        url=str(body["url"]) if body.get("url") else None,
        stages=tuple(stages or ()),
    )
