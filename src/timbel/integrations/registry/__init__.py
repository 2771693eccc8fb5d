"""Docker Registry v2 / OCI distribution adapter and the tag retention planner."""

from timbel.integrations.registry.adapter import DockerRegistry
from timbel.integrations.registry.config import RegistryConfig
from timbel.integrations.registry.retention import RetentionPlan, apply_retention, plan_retention

__all__ = ["DockerRegistry", "RegistryConfig", "RetentionPlan", "apply_retention", "plan_retention"]
