"""Projects and applications: upsert bodies, status mapping, sync, rollback, history, tree, delete, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes.argocd import FakeArgoCD
from tests.fakes.server import RunningFake, as_json
from tests.integrations.argocd.conftest import AdapterFactory, guestbook
from timbel.core.errors import IntegrationError, IntegrationUnavailable, NotFound
from timbel.integrations.argocd.adapter import (
    ArgoCDAdapter,
    app_status,
    operation_finished,
    synced_and_healthy,
)
from timbel.integrations.argocd.client import ArgoCDNotFound
from timbel.integrations.base import AppStatus, DeployRevision

SHA = "4f1a2b3c4d5e6f708192a3b4c5d6e7f801234567"
PROJECT: dict[str, Any] = {
    "metadata": {"name": "payments"},
    "spec": {
        "sourceRepos": ["https://git.example/ops/*"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "payments-*"}],
    },
}


def _deploy(adapter: ArgoCDAdapter, name: str = "guestbook", **sync: object) -> list[AppStatus]:
    """Sync and poll until the operation ended and the app settled; every status seen."""
    adapter.sync(name, **sync)  # type: ignore[arg-type]
    return list(adapter.watch(name, until=lambda s: operation_finished(s) and s.health != "Progressing"))


class TestUpsert:
    def test_project_body_is_the_spec_with_upsert(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake
    ) -> None:
        adapter.upsert_project(PROJECT)
        [call] = server.recorder.requests
        assert (call.method, call.path, call.query) == ("POST", "/api/v1/projects", "")
        assert as_json(call) == {"project": PROJECT, "upsert": True}
        assert fake.projects["payments"]["spec"] == PROJECT["spec"]
        changed = {**PROJECT, "spec": {**PROJECT["spec"], "sourceRepos": ["*"]}}
        adapter.upsert_project(changed)  # upsert replaces a different spec
        assert fake.projects["payments"]["spec"]["sourceRepos"] == ["*"]

    def test_application_body_is_posted_with_upsert(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake
    ) -> None:
        body = guestbook()
        adapter.upsert_application(body)
        [call] = server.recorder.requests
        assert (call.method, call.path, call.query) == ("POST", "/api/v1/applications", "upsert=true")
        assert as_json(call) == body
        assert fake.app_of("guestbook")["spec"] == body["spec"]
        adapter.upsert_application(guestbook(revisionHistoryLimit=3))
        assert fake.app_of("guestbook")["spec"]["revisionHistoryLimit"] == 3

    def test_create_without_upsert_refuses_a_different_spec(self, adapter: ArgoCDAdapter) -> None:
        adapter.upsert_application(guestbook())
        adapter.client.create_application(guestbook(), upsert=False)  # the same spec is accepted
        with pytest.raises(IntegrationError) as caught:
            adapter.client.create_application(guestbook(revisionHistoryLimit=3), upsert=False)
        assert str(caught.value) == (
            "Argo CD 'argo-test' answered HTTP 400 on POST /api/v1/applications: "
            "existing application spec is different, use upsert flag to force update"
        )

    def test_unknown_project_is_refused(self, adapter: ArgoCDAdapter, server: RunningFake) -> None:
        with pytest.raises(IntegrationError, match="references project payments which does not exist"):
            adapter.upsert_application(guestbook(project="payments"))
        assert server.recorder.calls() == ["POST /api/v1/applications"]  # a POST is never retried
        adapter.upsert_project(PROJECT)
        adapter.upsert_application(guestbook(project="payments"))

    def test_configured_project_and_namespace_fill_gaps(
        self, make_adapter: AdapterFactory, fake: FakeArgoCD, server: RunningFake
    ) -> None:
        adapter = make_adapter(project="payments", app_namespace="team-apps")
        adapter.upsert_project(PROJECT)
        body = guestbook(project=None)
        adapter.upsert_application(body)
        assert "project" not in body["spec"] and "namespace" not in body["metadata"]  # the input is untouched
        posted = as_json(server.recorder.requests[-1])
        assert posted["spec"]["project"] == "payments" and posted["metadata"]["namespace"] == "team-apps"
        server.recorder.clear()
        adapter.status("guestbook")
        adapter.sync("guestbook")
        [get, sync] = server.recorder.requests
        assert (get.path, get.query) == ("/api/v1/applications/guestbook", "appNamespace=team-apps")
        assert as_json(sync) == {"prune": False, "appNamespace": "team-apps"}
        assert fake.app_of("guestbook", "team-apps")["operation"]["sync"] == {"prune": False}

    def test_a_body_without_name_is_refused_locally(
        self, adapter: ArgoCDAdapter, server: RunningFake
    ) -> None:
        with pytest.raises(ValueError, match=r"metadata\.name"):
            adapter.upsert_application({"metadata": {}, "spec": {}})
        assert server.recorder.calls() == []


class TestSyncAndStatus:
    def test_new_application_is_out_of_sync_and_missing(self, adapter: ArgoCDAdapter) -> None:
        adapter.upsert_application(guestbook())
        assert adapter.status("guestbook") == AppStatus(name="guestbook", sync="OutOfSync", health="Missing")

    def test_sync_progresses_to_synced_and_healthy(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake
    ) -> None:
        moments = iter(datetime(2026, 11, 26, 9, 0, second, tzinfo=UTC) for second in range(60))
        fake.clock = lambda: next(moments)
        fake.running_polls = 2
        source = {
            "repoURL": "https://git.example/ops/guestbook.git",
            "path": "envs/dev",
            "targetRevision": SHA,
        }
        adapter.upsert_application(guestbook(source=source))
        server.recorder.clear()
        seen = _deploy(adapter, revision=SHA, prune=True)
        assert [(s.operation_phase, s.sync, s.health) for s in seen] == [
            ("Running", "OutOfSync", "Progressing"),  # the controller picked the sync up
            ("Running", "OutOfSync", "Progressing"),
            ("Succeeded", "Synced", "Progressing"),  # applied; the pods are still starting
            ("Succeeded", "Synced", "Healthy"),
        ]
        assert operation_finished(seen[2]) and not synced_and_healthy(seen[2])
        final = seen[-1]
        assert final.revision == SHA and final.operation_message == "successfully synced (all tasks run)"
        assert final.history == (
            DeployRevision(id=0, revision=SHA, deployed_at=datetime(2026, 11, 26, 9, 0, 2, tzinfo=UTC)),
        )
        sync = server.recorder.requests[0]
        assert (sync.method, sync.path) == ("POST", "/api/v1/applications/guestbook/sync")
        assert as_json(sync) == {"revision": SHA, "prune": True}
        assert server.recorder.calls()[1:] == ["GET /api/v1/applications/guestbook"] * 4

    def test_requested_operation_reads_as_running_before_the_controller_sees_it(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD
    ) -> None:
        adapter.upsert_application(guestbook())
        _deploy(adapter)
        adapter.sync("guestbook")
        raw = adapter.client.resource_tree("guestbook")  # not a tick: the old operation state is still there
        assert raw["nodes"]
        app = fake.app_of("guestbook")
        assert app["status"]["operationState"]["phase"] == "Succeeded" and app["operation"]
        status = app_status(app)
        assert status.operation_phase == "Running" and not operation_finished(status)

    def test_branch_revision_resolves_to_a_commit(self, adapter: ArgoCDAdapter) -> None:
        adapter.upsert_application(guestbook())
        final = _deploy(adapter)[-1]
        assert final.sync == "Synced" and final.revision is not None and len(final.revision) == 40

    def test_failed_sync_is_degraded_without_history(self, adapter: ArgoCDAdapter, fake: FakeArgoCD) -> None:
        fake.fail_syncs = True
        adapter.upsert_application(guestbook())
        final = _deploy(adapter, revision=SHA)[-1]
        assert (final.operation_phase, final.sync, final.health, final.history) == (
            "Failed",
            "OutOfSync",
            "Degraded",
            (),
        )
        assert (
            final.operation_message
            == 'one or more objects failed to apply, reason: Deployment.apps "guestbook" is invalid'
        )

    def test_a_second_sync_while_running_is_refused(
        self, adapter: ArgoCDAdapter, server: RunningFake
    ) -> None:
        adapter.upsert_application(guestbook())
        adapter.sync("guestbook")
        server.recorder.clear()
        with pytest.raises(IntegrationError, match="another operation is already in progress"):
            adapter.sync("guestbook")
        assert server.recorder.calls() == ["POST /api/v1/applications/guestbook/sync"]

    def test_refresh_hard(self, adapter: ArgoCDAdapter, server: RunningFake) -> None:
        adapter.upsert_application(guestbook())
        server.recorder.clear()
        assert adapter.refresh("guestbook", hard=True).name == "guestbook"
        adapter.refresh("guestbook")
        assert [(r.method, r.path, r.query) for r in server.recorder.requests] == [
            ("GET", "/api/v1/applications/guestbook", "refresh=hard"),
            ("GET", "/api/v1/applications/guestbook", "refresh=normal"),
        ]


class TestHistoryAndRollback:
    def test_rollback_to_an_earlier_deploy(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake
    ) -> None:
        adapter.upsert_application(guestbook(syncPolicy={"automated": {"prune": True, "selfHeal": True}}))
        first = "a" * 40
        _deploy(adapter, revision=first)
        _deploy(adapter)
        history = adapter.history("guestbook")
        assert [(h.id, h.revision) for h in history] == [
            (0, first),
            (1, adapter.status("guestbook").revision),
        ]
        server.recorder.clear()
        adapter.rollback("guestbook", 0, prune=True)
        [call] = server.recorder.requests
        assert (call.method, call.path) == ("POST", "/api/v1/applications/guestbook/rollback")
        assert as_json(call) == {"id": 0, "prune": True}
        statuses = list(adapter.watch("guestbook", until=operation_finished))
        final = statuses[-1]
        # back on the old commit, which is not what git says: OutOfSync, and auto-sync was switched off
        assert (final.operation_phase, final.revision, final.sync) == ("Succeeded", first, "OutOfSync")
        assert [h.id for h in final.history] == [0, 1, 2] and final.history[-1].revision == first
        assert "automated" not in fake.app_of("guestbook")["spec"]["syncPolicy"]

    def test_unknown_history_id(self, adapter: ArgoCDAdapter) -> None:
        adapter.upsert_application(guestbook())
        with pytest.raises(IntegrationError, match="does not have deployment with id 7"):
            adapter.rollback("guestbook", 7)


class TestTreeAndDelete:
    def test_resource_tree_of_a_deployed_app(self, adapter: ArgoCDAdapter, server: RunningFake) -> None:
        adapter.upsert_application(guestbook())
        assert adapter.resource_tree("guestbook") == []
        _deploy(adapter, revision=SHA)
        server.recorder.clear()
        nodes = adapter.resource_tree("guestbook")
        assert server.recorder.calls() == ["GET /api/v1/applications/guestbook/resource-tree"]
        assert [(n["kind"], n["name"], n["namespace"], n["health"], n["parents"]) for n in nodes] == [
            ("Service", "guestbook", "guestbook-dev", "Healthy", []),
            ("Deployment", "guestbook", "guestbook-dev", "Healthy", []),
            ("ReplicaSet", f"guestbook-{SHA[:10]}", "guestbook-dev", "Healthy", ["Deployment/guestbook"]),
            (
                "Pod",
                f"guestbook-{SHA[:10]}-x7k2p",
                "guestbook-dev",
                "Healthy",
                [f"ReplicaSet/guestbook-{SHA[:10]}"],
            ),
        ]
        assert nodes[1]["group"] == "apps" and nodes[1]["version"] == "v1"

    def test_delete_cascades(self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake) -> None:
        adapter.upsert_application(guestbook())
        server.recorder.clear()
        adapter.delete_application("guestbook")
        [call] = server.recorder.requests
        assert (call.method, call.path, call.query) == (
            "DELETE",
            "/api/v1/applications/guestbook",
            "cascade=true",
        )
        assert fake.apps == {}


class TestErrors:
    @pytest.mark.parametrize("call", ["status", "sync", "delete_application", "resource_tree", "history"])
    def test_missing_application_is_not_found_naming_it(self, adapter: ArgoCDAdapter, call: str) -> None:
        with pytest.raises(ArgoCDNotFound) as caught:
            getattr(adapter, call)("ghost")
        assert str(caught.value) == "Argo CD 'argo-test' has no application 'ghost' (HTTP 404)"
        assert isinstance(caught.value, NotFound) and isinstance(caught.value, IntegrationError)
        assert caught.value.status == 404

    def test_server_error(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake, sleeps: list[float]
    ) -> None:
        fake.fail(500, message="rpc error: code = Internal")
        with pytest.raises(IntegrationError) as caught:
            adapter.status("guestbook")
        assert type(caught.value) is IntegrationError
        assert str(caught.value) == (
            "Argo CD 'argo-test' answered HTTP 500 on GET /api/v1/applications/guestbook: "
            "rpc error: code = Internal"
        )
        assert server.recorder.calls() == ["GET /api/v1/applications/guestbook"] and sleeps == []

    def test_unavailable_get_is_retried_with_backoff(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake, sleeps: list[float]
    ) -> None:
        adapter.upsert_application(guestbook())
        server.recorder.clear()
        fake.fail(503, times=2)
        assert adapter.status("guestbook").name == "guestbook"
        assert server.recorder.calls() == ["GET /api/v1/applications/guestbook"] * 3
        assert sleeps == [0.2, 0.4]
        fake.fail(503)
        with pytest.raises(IntegrationUnavailable, match=r"unavailable \(HTTP 503 on GET"):
            adapter.status("guestbook")

    @pytest.mark.parametrize("status", [502, 503, 504])
    def test_unavailable_post_is_not_retried(
        self, adapter: ArgoCDAdapter, fake: FakeArgoCD, server: RunningFake, sleeps: list[float], status: int
    ) -> None:
        adapter.upsert_application(guestbook())
        server.recorder.clear()
        fake.fail(status)
        with pytest.raises(IntegrationUnavailable):
            adapter.sync("guestbook", revision=SHA)
        with pytest.raises(IntegrationUnavailable):
            adapter.rollback("guestbook", 0)
        with pytest.raises(IntegrationUnavailable):
            adapter.upsert_application(guestbook())
        assert server.recorder.calls() == [
            "POST /api/v1/applications/guestbook/sync",
            "POST /api/v1/applications/guestbook/rollback",
            "POST /api/v1/applications",
        ]
        assert sleeps == []
