"""Retention planning and applying against a real ``docker-registry``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.servers.docker_registry import DockerRegistryServer
from timbel.integrations.base import ImageTag
from timbel.integrations.registry import apply_retention, plan_retention
from timbel.integrations.registry.retention import RetentionPlan

from .conftest import make_adapter
from .images import push_image, push_index, put_manifest

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REPO = "shop/api"


def _tags(images: tuple[ImageTag, ...]) -> list[str]:
    return [image.tag for image in images]


class TestPlan:
    def test_orders_by_image_created_time_not_tag_name(self, registry_server: DockerRegistryServer) -> None:
        # tag names sort the other way round from build times
        for day, tag in enumerate(["zeta", "epsilon", "delta", "beta", "alpha"]):
            push_image(registry_server.url, REPO, tag, created=T0 + timedelta(days=day))
        adapter = make_adapter(registry_server.url)

        plan = plan_retention(adapter, repository=REPO, keep_last=2, protected=set())

        assert _tags(plan.keep) == ["alpha", "beta"]
        assert _tags(plan.delete) == ["delta", "epsilon", "zeta"]
        assert plan.reasons["alpha"] == "among the newest 2"

    def test_falls_back_to_natural_tag_order(self, registry_server: DockerRegistryServer) -> None:
        for tag in ["v1", "v2", "v9", "v10", "v11"]:
            push_image(registry_server.url, REPO, tag, created=None)
        adapter = make_adapter(registry_server.url)

        plan = plan_retention(adapter, repository=REPO, keep_last=2, protected=set())

        assert _tags(plan.keep) == ["v11", "v10"]
        assert _tags(plan.delete) == ["v9", "v2", "v1"]

    def test_protected_tags_and_digests_are_kept(self, registry_server: DockerRegistryServer) -> None:
        digests = {
            f"v{n}": push_image(registry_server.url, REPO, f"v{n}", created=T0 + timedelta(hours=n))
            for n in range(1, 6)
        }
        adapter = make_adapter(registry_server.url)

        plan = plan_retention(adapter, repository=REPO, keep_last=1, protected={"v1", digests["v3"]})

        assert _tags(plan.keep) == ["v5", "v3", "v1"]
        assert plan.reasons["v1"] == plan.reasons["v3"] == "protected (deployed)"
        assert _tags(plan.delete) == ["v4", "v2"]
        assert plan.digests_to_delete == [digests["v4"], digests["v2"]]

    def test_a_digest_shared_with_a_kept_tag_is_never_deleted(
        self, registry_server: DockerRegistryServer
    ) -> None:
        old = push_image(registry_server.url, REPO, "v1", created=T0)
        push_image(registry_server.url, REPO, "v2", created=T0 + timedelta(days=1))
        # "stable" is the old image under a second name and is what production runs
        manifest = make_adapter(registry_server.url).manifest(REPO, old)[1]
        assert put_manifest(registry_server.url, REPO, "stable", manifest) == old
        adapter = make_adapter(registry_server.url)

        plan = plan_retention(adapter, repository=REPO, keep_last=1, protected={"stable"})

        assert plan.delete == ()
        assert sorted(_tags(plan.keep)) == ["stable", "v1", "v2"]
        assert plan.reasons["v1"] == "same image as a kept tag"

    def test_oci_index_uses_its_image_created_time(self, registry_server: DockerRegistryServer) -> None:
        newer = push_image(registry_server.url, REPO, "amd64-new", oci=True, created=T0 + timedelta(days=3))
        push_index(registry_server.url, REPO, "multi", children={newer: "linux/amd64"})
        push_image(registry_server.url, REPO, "old", created=T0)
        adapter = make_adapter(registry_server.url)

        assert adapter.created(REPO, "multi") == T0 + timedelta(days=3)
        plan = plan_retention(adapter, repository=REPO, keep_last=2, protected=set())
        assert _tags(plan.delete) == ["old"]


class TestApply:
    def test_dry_run_changes_nothing_and_apply_deletes_the_plan(
        self, registry_server: DockerRegistryServer
    ) -> None:
        for n in range(1, 5):
            push_image(registry_server.url, REPO, f"v{n}", created=T0 + timedelta(minutes=n))
        adapter = make_adapter(registry_server.url)

        plan = plan_retention(adapter, repository=REPO, keep_last=2, protected=set())
        assert sorted(adapter.tags(REPO)) == ["v1", "v2", "v3", "v4"]  # planning is the dry run

        deleted = apply_retention(adapter, plan=plan)

        assert deleted == plan.digests_to_delete
        assert len(deleted) == 2
        assert sorted(adapter.tags(REPO)) == ["v3", "v4"]
        again = plan_retention(adapter, repository=REPO, keep_last=2, protected=set())
        assert again.delete == ()

    def test_empty_plan_deletes_nothing(self, registry_server: DockerRegistryServer) -> None:
        assert apply_retention(make_adapter(registry_server.url), plan=RetentionPlan(REPO, (), ())) == []
