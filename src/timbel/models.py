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

__all__ = [
    "Analysis",
    "AnalysisStateChange",
    "ApiToken",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Domain",
    "DomainMembership",
    "LoginThrottle",
    "Project",
    "RefreshToken",
    "User",
    "UserRole",
    "WorkGroup",
]
