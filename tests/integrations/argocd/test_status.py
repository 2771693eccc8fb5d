"""Reading an Application resource into ``AppStatus`` (no server needed: the mapping is pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from timbel.integrations.argocd.adapter import PENDING_MESSAGE, app_status
from timbel.integrations.base import AppStatus, DeployRevision


class TestAppStatus:
    def test_a_resource_without_status_is_unknown(self) -> None:
        assert app_status({"metadata": {"name": "api"}}) == AppStatus(
            name="api", sync="Unknown", health="Unknown"
        )

    def test_full_status(self) -> None:
        app = {
            "metadata": {"name": "api"},
            "status": {
                "sync": {"status": "Synced", "revision": "abc123"},
                "health": {"status": "Degraded", "message": "probe failed"},
                "operationState": {"phase": "Error", "message": "hook failed"},
                "history": [
                    {"id": 3, "revision": "abc123", "deployedAt": "2026-11-20T01:02:03Z"},
                    {"id": 4, "revisions": ["r1", "r2"], "deployedAt": "not a time"},  # a multi-source app
                ],
            },
        }
        assert app_status(app) == AppStatus(
            name="api",
            sync="Synced",
            health="Degraded",
            revision="abc123",
            operation_phase="Error",
            operation_message="hook failed",
            history=(
                DeployRevision(3, "abc123", datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC)),
                DeployRevision(4, "r1,r2", None),
            ),
        )

    def test_a_requested_operation_hides_the_previous_result(self) -> None:
        app = {
            "metadata": {"name": "api"},
            "operation": {"sync": {"revision": "def456"}},
            "status": {"operationState": {"phase": "Succeeded", "message": "old sync"}},
        }
        status = app_status(app)
        assert (status.operation_phase, status.operation_message) == ("Running", PENDING_MESSAGE)
