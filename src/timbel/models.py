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
from timbel.gitops.models import (
    DeliveryDraft,
    GitOpsOperation,
    GitOpsOperationChange,
    GitOpsRepository,
    GitOpsTarget,
)
from timbel.integrations.models import Integration
from timbel.notifications.models import NotificationDelivery
from timbel.pipelines.models import PipelineTemplate, PipelineTemplateVersion
from timbel.webhooks.models import WebhookDelivery, WebhookStateChange

__all__ = [
    "Analysis",
    "AnalysisStateChange",
    "ApiToken",
    "AuditEntry",
    "AuthSession",
    "Base",
    "DeliveryDraft",
    "Domain",
    "DomainMembership",
    "GitOpsOperation",
    "GitOpsOperationChange",
    "GitOpsRepository",
    "GitOpsTarget",
    "Integration",
    "LoginThrottle",
    "NotificationDelivery",
    "PipelineTemplate",
    "PipelineTemplateVersion",
    "Project",
    "RefreshToken",
    "User",
    "UserRole",
    "WebhookDelivery",
    "WebhookStateChange",
    "WorkGroup",
]
