"""Releases: cut an immutable release from a commit and image references, or from a succeeded pipeline run.

Why digests: a tag can be pushed again; the digest is what actually ran. When the domain has a registry
integration and a reference names only a tag, the digest is asked from the registry; if that fails the
release keeps ``digest: None`` and its notes say why (a digest is never invented).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import Domain, System
from timbel.core.db import session_scope
from timbel.core.errors import AppError, Conflict, ValidationFailed
from timbel.core.jobs import JobContext, job
from timbel.core.settings import Settings
from timbel.deployments.models import Release
from timbel.deployments.values import release_values

logger = logging.getLogger(__name__)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?(:\d{1,5})?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SERVICE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
RELEASE_JOB = "deployments.release_from_run"


@dataclass(frozen=True)
class ImageRef:
    """One service's image: repository (with registry host), tag and/or digest."""

    service: str
    repository: str
    tag: str
    digest: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The form stored in ``Release.images``."""
        return {
            "service": self.service,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
        }


def _bad(message: str, field: str = "images") -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", field], "msg": message, "type": "value_error"}])


def _is_host(component: str) -> bool:
    """Docker's rule: a first path component with '.' or ':' (or ``localhost``) names the registry."""
    return "." in component or ":" in component or component == "localhost"


def parse_image(text: str, *, service: str | None = None) -> ImageRef:
    """Parse ``[service=]repo:tag``, ``repo@sha256:<hex>`` or ``repo:tag@sha256:<hex>`` (422 if malformed)."""
    raw = text.strip()
    if "=" in raw and service is None:
        service, raw = (part.strip() for part in raw.split("=", 1))
    if not raw or len(raw) > 400 or any(c.isspace() for c in raw):
        raise _bad(f"'{text.strip()[:80]}' is not an image reference (use repo:tag or repo@sha256:…).")
    name, _, digest = raw.partition("@")
    if digest and not _DIGEST.match(digest):
        raise _bad(f"'{raw[:80]}': the digest must be sha256: followed by 64 lower-case hex digits.")
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise _bad(f"'{raw[:80]}': '{tag[:40]}' is not a valid tag.")
    if not tag and not digest:
        raise _bad(f"'{raw[:80]}' needs a tag or a digest (repo:tag or repo@sha256:…).")
    first, _, rest = name.partition("/")
    path = rest if rest and _is_host(first) else name
    if rest and _is_host(first) and not _HOST.match(first):
        raise _bad(f"'{raw[:80]}': '{first[:80]}' is not a valid registry host.")
    if not _PATH.match(path):
        raise _bad(f"'{raw[:80]}': '{name[:80]}' is not a valid repository (lower-case path components).")
    chosen = service or path.rsplit("/", 1)[-1]
    if not _SERVICE.match(chosen):
        raise _bad(f"'{chosen[:64]}' is not a valid service name (lower-case letters, digits and '-').")
    return ImageRef(service=chosen, repository=name, tag=tag, digest=digest or None)


def parse_images(lines: list[str]) -> list[ImageRef]:
    """Parse one reference per non-empty line."""
    return [parse_image(line) for line in lines if line.strip()]


def values_hash(values: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the values."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _registry(session: Session, *, settings: Settings, domain_id: str) -> tuple[Any, str] | None:
    """The domain's default registry adapter and its host[:port], or None when none is configured."""
    from timbel.integrations import service as integrations
    from timbel.integrations.base import IntegrationKind
    from timbel.integrations.registry_of_adapters import build_adapter

    for kind in (IntegrationKind.registry, IntegrationKind.nexus):
        row = integrations.default_for(session, kind=kind, domain_id=domain_id)
        if row is not None:
            adapter = build_adapter(integrations.instance_config(row, settings=settings))
            return adapter, (urlparse(row.base_url).netloc or "").lower()
    return None


def resolve_digests(
    session: Session, *, settings: Settings, domain_id: str, images: list[ImageRef]
) -> tuple[list[ImageRef], list[str]]:
    """Fill missing digests from the domain's registry; return the images and notes on what failed."""
    missing = [i for i in images if i.tag and not i.digest]
    if not missing:
        return images, []
    try:
        found = _registry(session, settings=settings, domain_id=domain_id)
    except AppError as exc:
        return images, [f"Digests not resolved: the registry integration is unusable ({exc.detail})."]
    if found is None:
        return images, []
    adapter, host = found
    try:
        return _resolve(adapter, host, images)
    finally:
        getattr(adapter, "close", lambda: None)()


def _resolve(adapter: Any, host: str, images: list[ImageRef]) -> tuple[list[ImageRef], list[str]]:
    notes: list[str] = []
    resolved: list[ImageRef] = []
    for image in images:
        if not image.tag or image.digest:
            resolved.append(image)
            continue
        first, _, rest = image.repository.partition("/")
        path = rest if rest and _is_host(first) else image.repository
        if rest and _is_host(first) and first.lower() != host:
            notes.append(f"{image.service}: digest not resolved ({first} is not the registry {host}).")
            resolved.append(image)
            continue
        try:
            digest = adapter.digest(path, image.tag)
        except AppError as exc:
            notes.append(f"{image.service}: digest not resolved, the registry did not answer ({exc.detail}).")
            digest = None
        else:
            if digest is None:
                notes.append(f"{image.service}: digest not resolved, tag {image.tag} is not in the registry.")
        resolved.append(ImageRef(image.service, image.repository, image.tag, digest))
    return resolved, notes


def chart_version(session: Session, *, settings: Settings, system: System) -> str:
    """The ``version`` of the system's GitOps chart (empty when there is none or it cannot be read)."""
    import yaml

    from timbel.gitops import service as gitops_service

    domain = session.get(Domain, system.domain_id)
    if domain is None:
        return ""
    path = f"{gitops_service.system_prefix(domain, system)}/chart/Chart.yaml"
    try:
        text = gitops_service.current_files(session, settings=settings, domain=domain, paths=[path]).get(path)
        data = yaml.safe_load(text) if text else None
    except Exception as exc:  # an unreadable chart never blocks a release
        logger.warning("chart version of %s not read: %s", system.slug, exc)
        return ""
    version = data.get("version") if isinstance(data, dict) else None
    return str(version)[:100] if version is not None else ""


def create_release(
    session: Session,
    *,
    settings: Settings,
    system: System,
    version: str,
    source_commit: str,
    images: list[ImageRef],
    actor_id: str | None,
    actor: str,
    notes: str = "",
    pipeline_run_id: str | None = None,
    ctx: AuditContext | None = None,
) -> Release:
    """Record an immutable release (version unique per system; digests resolved when possible); audited."""
    version, commit = version.strip(), source_commit.strip().lower()
    if not _VERSION.match(version):
        raise _bad("Use a version of letters, digits, '.', '_', '+' and '-' (at most 100).", "version")
    if not _COMMIT.match(commit):
        raise _bad(
            "The source commit must be a hexadecimal commit SHA (7 to 64 characters).", "source_commit"
        )
    if not images:
        raise _bad("A release needs at least one image.")
    services = [i.service for i in images]
    if len(set(services)) != len(services):
        raise _bad("Each service may appear only once in a release.")
    if session.scalar(select(Release.id).where(Release.system_id == system.id, Release.version == version)):
        raise Conflict(f"Release '{version}' already exists for this system.")
    images, auto_notes = resolve_digests(
        session, settings=settings, domain_id=system.domain_id, images=images
    )
    text = "\n".join(part for part in [notes.strip(), *auto_notes] if part)
    row = Release(
        system_id=system.id,
        version=version,
        source_commit=commit,
        images=[i.as_dict() for i in sorted(images, key=lambda i: i.service)],
        chart_version=chart_version(session, settings=settings, system=system),
        pipeline_run_id=pipeline_run_id,
        notes=text[:10_000],
        created_by_id=actor_id,
        created_by=actor[:200],
    )
    row.values = release_values(row)
    row.values_hash = values_hash(row.values)
    session.add(row)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx or AuditContext(actor_id=actor_id, actor_name=actor),
        action="release.create",
        target_type="release",
        target_id=row.id,
        summary=f"Release {version} of {system.slug} at {commit[:12]}",
        changes={"version": version, "source_commit": commit, "images": row.images,
                 "pipeline_run_id": pipeline_run_id},
    )  # fmt: skip
    return row


def version_for_run(session: Session, *, run: Any) -> str:
    """``yyyy.mm.dd-<run number>`` (the run's finish day, UTC), else ``run-<number>``, made unique."""
    day = run.finished_at or run.started_at or run.queued_at
    candidates = [f"{day:%Y.%m.%d}-{run.number}", f"run-{run.number}"]
    candidates += [f"run-{run.number}-{n}" for n in range(2, 50)]
    for candidate in candidates:
        if not session.scalar(
            select(Release.id).where(Release.system_id == run.system_id, Release.version == candidate)
        ):
            return candidate
    return f"run-{run.id}"


def images_of_run(session: Session, *, settings: Settings, run: Any, system: System) -> list[ImageRef]:
    """The run's ``image`` artifacts, else one image per delivery-plan service tagged with the commit."""
    from timbel.pipelines.run_models import RunArtifact

    artifacts = session.scalars(
        select(RunArtifact).where(RunArtifact.run_id == run.id, RunArtifact.kind == "image")
        .order_by(RunArtifact.created_at)
    )  # fmt: skip
    found: dict[str, ImageRef] = {}
    for artifact in artifacts:
        image = parse_image(str(artifact.data.get("reference", "")))
        digest = artifact.data.get("digest")
        if isinstance(digest, str) and _DIGEST.match(digest):
            image = ImageRef(image.service, image.repository, image.tag, digest)
        found[image.service] = image
    if found:
        return list(found.values())
    plan = _plan(session, settings=settings, system=system)
    return [ImageRef(s.name, plan.image(s), run.commit_after, None) for s in plan.services]


def _plan(session: Session, *, settings: Settings, system: System) -> Any:
    """The system's delivery plan: the newest draft's, else the one proposed from its newest report."""
    from timbel.gitops import delivery
    from timbel.scaffold.plan import DeliveryPlan

    draft = delivery.latest_draft(session, system=system)
    if draft is not None:
        return DeliveryPlan.model_validate(draft.plan)
    plan, _ = delivery.default_plan(session, settings=settings, system=system)
    return plan


def release_from_run(session: Session, *, settings: Settings, run_id: str) -> Release | None:
    """The release of a succeeded pipeline run (created once per run); None when the run cannot make one."""
    from timbel.pipelines.run_models import PipelineRun

    existing = session.scalar(select(Release).where(Release.pipeline_run_id == run_id))
    if existing is not None:
        return existing
    run = session.get(PipelineRun, run_id)
    if run is None or run.state != "succeeded" or not run.commit_after:
        return None
    system = session.get(System, run.system_id)
    if system is None:
        return None
    images = images_of_run(session, settings=settings, run=run, system=system)
    if not images:
        return None
    return create_release(
        session,
        settings=settings,
        system=system,
        version=version_for_run(session, run=run),
        source_commit=run.commit_after,
        images=images,
        actor_id=run.actor_id,
        actor=f"pipeline run #{run.number}",
        notes=f"From pipeline run #{run.number} ({run.ref}).",
        pipeline_run_id=run.id,
    )


def release_from_run_safely(factory: sessionmaker[Session], *, settings: Settings, run_id: str) -> str | None:
    """``release_from_run`` in its own transaction; any error is logged and skipped (never fails the run)."""
    try:
        with session_scope(factory) as session:
            release = release_from_run(session, settings=settings, run_id=run_id)
            return release.id if release is not None else None
    except AppError as exc:  # expected: no delivery plan yet, a refused reference, a taken version
        logger.info("no release was made from pipeline run %s: %s", run_id, exc.detail)
    except Exception:  # a release is a by-product of the run, never its failure
        logger.exception("no release was made from pipeline run %s", run_id)
    return None


@job(RELEASE_JOB)
def release_job(ctx: JobContext, *, run_id: str) -> dict[str, Any]:
    """Cut the release of a succeeded pipeline run (idempotent per run)."""
    release_id = release_from_run_safely(ctx.session_factory, settings=ctx.settings, run_id=run_id)
    return {"run_id": run_id, "release_id": release_id}
