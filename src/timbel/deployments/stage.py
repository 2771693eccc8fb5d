"""A system's lifecycle stage follows its first successful deployments: staging, then production.

Why never backwards: the stage says how far a system has come (the catalog filters and the search index
use it); a later failure or rollback does not undo that it once ran in production.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.deployments.models import Environment

STAGES = ("development", "staging", "production")
STAGING_NAMES = frozenset({"stg", "stage", "staging", "qa", "uat"})
PRODUCTION_NAMES = frozenset({"prod", "prd", "production", "live"})


def stage_for(environment: Environment, *, last_position: int) -> str | None:
    """The stage a success in ``environment`` implies: by name, else the last environment is production."""
    name = environment.name.lower()
    if name in PRODUCTION_NAMES:
        return "production"
    if name in STAGING_NAMES:
        return "staging"
    if environment.position > 0 and environment.position == last_position:
        return "production"
    return "staging" if environment.position > 0 else None


def advance_stage(
    session: Session, *, system: System, environment: Environment, last_position: int, deployment_id: str
) -> str | None:
    """Raise the system's stage after a success in ``environment`` (never lower it); return the new stage."""
    wanted = stage_for(environment, last_position=last_position)
    current = system.stage if system.stage in STAGES else "development"
    if wanted is None or STAGES.index(wanted) <= STAGES.index(current):
        return None
    system.stage = wanted
    session.flush()  # the search index listener rewrites the system's entry on flush
    audit_service.record(
        session,
        ctx=AuditContext(actor_name="timbel", request_id=deployment_id),
        action="system.stage",
        target_type="system",
        target_id=system.id,
        summary=f"system {system.slug} is now in {wanted} (first success in {environment.name})",
        changes={"stage": [current, wanted], "deployment_id": deployment_id},
    )
    return wanted
