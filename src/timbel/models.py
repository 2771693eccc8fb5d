"""Import every ORM model so metadata is complete (Alembic, tests)."""

from timbel.analysis.models import Analysis, AnalysisStateChange
from timbel.audit.models import AuditEntry
from timbel.auth.models import (
    ApiToken,
    AuthSession,
    DomainMembership,
    LoginThrottle,
    RefreshToken,
    User,
    UserRole,
)
from timbel.catalog.models import Domain, Project, WorkGroup
from timbel.catalog.search_models import SearchEntry  # noqa: F401  (the search index table)
from timbel.core.db import Base
from timbel.deployments.models import (
    ApprovalRequest,
    ApprovalStateChange,
    Deployment,
    DeploymentStateChange,
    Environment,
    EnvironmentLock,
    Release,
)
from timbel.gitops.models import (
    DeliveryDraft,
    GitOpsOperation,
    GitOpsOperationChange,
    GitOpsRepository,
    GitOpsTarget,
)
from timbel.integrations.models import Integration
from timbel.notifications.models import NotificationDelivery
from timbel.pipelines.log_models import RunLogChunk
from timbel.pipelines.models import PipelineTemplate, PipelineTemplateVersion
from timbel.pipelines.run_models import (
    Pipeline,
    PipelineRun,
    PipelineVersion,
    RunArtifact,
    RunStateChange,
    StageRun,
)
from timbel.pipelines.triggers import PipelineHook
from timbel.webhooks.models import WebhookDelivery, WebhookStateChange

__all__ = [
    "Analysis",
    "AnalysisStateChange",
    "ApiToken",
    "ApprovalRequest",
    "ApprovalStateChange",
    "AuditEntry",
    "AuthSession",
    "Base",
    "DeliveryDraft",
    "Deployment",
    "DeploymentStateChange",
    "Domain",
    "DomainMembership",
    "Environment",
    "EnvironmentLock",
    "GitOpsOperation",
    "GitOpsOperationChange",
    "GitOpsRepository",
    "GitOpsTarget",
    "Integration",
    "LoginThrottle",
    "NotificationDelivery",
    "Pipeline",
    "PipelineHook",
    "PipelineRun",
    "PipelineTemplate",
    "PipelineTemplateVersion",
    "PipelineVersion",
    "Project",
    "RefreshToken",
    "Release",
    "RunArtifact",
    "RunLogChunk",
    "RunStateChange",
    "StageRun",
    "User",
    "UserRole",
    "WebhookDelivery",
    "WebhookStateChange",
    "WorkGroup",
]
