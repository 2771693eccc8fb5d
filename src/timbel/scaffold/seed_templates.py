"""Pipeline templates without a database: the shipped seeds, chosen like the stored ones are.

Why: ``timbel scaffold PATH --out DIR`` runs on a laptop without Timbel's database and must still
produce a real Jenkinsfile from the same templates the server seeds.
"""

from __future__ import annotations

from typing import Any

from timbel.pipelines.template_seeds import SEEDS
from timbel.scaffold.jenkinsfile import StageSpec, TemplateSpec
from timbel.scaffold.plan import DeliveryPlan


def _norm(value: str | None) -> str:
    return (value or "").strip().lower().replace(".", "").replace(" ", "")


def choose_seed(*, stack: str, framework: str | None) -> dict[str, Any]:
    """Pick a seed: same stack and framework, else the stack's generic seed, else the stack's first."""
    candidates = [seed for seed in SEEDS if seed["stack"] == stack]
    if not candidates:
        raise LookupError(f"no shipped pipeline template for the stack {stack!r}")
    wanted = _norm(framework)
    exact = [s for s in candidates if wanted and _norm(s.get("framework")) == wanted]
    generic = [s for s in candidates if not _norm(s.get("framework"))]
    return (exact or generic or candidates)[0]


def seed_specs_for_plan(plan: DeliveryPlan) -> dict[str, TemplateSpec]:
    """Choose each service's shipped template for the Jenkinsfile."""
    specs: dict[str, TemplateSpec] = {}
    for service in plan.services:
        seed = choose_seed(stack=service.stack, framework=service.framework)
        specs[service.name] = TemplateSpec(
            key=seed["key"], stages=[StageSpec.model_validate(stage) for stage in seed["stages"]]
        )
    return specs
