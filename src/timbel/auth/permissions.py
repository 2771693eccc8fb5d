"""Roles and named permissions, mapped in one place.

Routes declare the permission they need with ``Depends(require(Permission.X))``;
nothing else decides who may do what.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The four roles of the architecture document."""

    admin = "admin"
    operations = "operations"
    executive = "executive"
    viewer = "viewer"


class Permission(StrEnum):
    """Named permissions; the value is what appears in tokens, docs and errors."""

    catalog_read = "catalog:read"
    catalog_write = "catalog:write"
    analysis_run = "analysis:run"
    pipelines_read = "pipelines:read"
    pipelines_run = "pipelines:run"
    pipelines_edit = "pipelines:edit"
    deploy_read = "deploy:read"
    deploy_nonprod = "deploy:nonprod"
    deploy_prod = "deploy:prod"
    approvals_prod = "approvals:prod"
    monitoring_read = "monitoring:read"
    monitoring_write = "monitoring:write"
    insights_executive = "insights:executive"
    ecpai_read = "ecpai:read"
    ecpai_write = "ecpai:write"
    domains_all = "domains:all"
    admin_users = "admin:users"
    admin_audit = "admin:audit"
    admin_integrations = "admin:integrations"
    admin_settings = "admin:settings"


_READ = frozenset(
    {
        Permission.catalog_read,
        Permission.pipelines_read,
        Permission.deploy_read,
        Permission.monitoring_read,
        Permission.ecpai_read,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.operations: _READ
    | {
        Permission.catalog_write,
        Permission.analysis_run,
        Permission.pipelines_run,
        Permission.pipelines_edit,
        Permission.deploy_nonprod,
        Permission.deploy_prod,
        Permission.monitoring_write,
        Permission.ecpai_write,
    },
    Role.executive: _READ
    | {Permission.approvals_prod, Permission.insights_executive, Permission.domains_all},
    Role.viewer: _READ,
}


def permissions_for(roles: frozenset[Role] | set[Role]) -> frozenset[Permission]:
    """Return the union of the permissions of some roles."""
    result: set[Permission] = set()
    for role in roles:
        result |= ROLE_PERMISSIONS[role]
    return frozenset(result)


def roles_within(ceiling: Role) -> frozenset[Role]:
    """Roles whose permissions are all inside a ceiling role's (for API-token scoping)."""
    limit = ROLE_PERMISSIONS[ceiling]
    return frozenset(r for r, perms in ROLE_PERMISSIONS.items() if perms <= limit)
