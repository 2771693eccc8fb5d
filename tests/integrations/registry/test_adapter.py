"""The registry adapter against a real ``docker-registry`` (anonymous access)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import ServerUnavailableError, docker_registry
from tests.servers.docker_registry import DockerRegistryServer, start_docker_registry
from timbel.core.errors import IntegrationError, IntegrationUnavailable, ValidationFailed
from timbel.integrations.base import Registry
from timbel.integrations.registry.adapter import MANIFEST_ACCEPT

from .conftest import RecordingTransport, make_adapter
from .images import push_image, push_index


class TestCatalogAndTags:
    def test_repositories_follow_link_paging(self, registry_server: DockerRegistryServer) -> None:
        names = ["apps/api", "apps/web", "batch", "billing/worker", "gateway"]
        for name in names:
            push_image(registry_server.url, name, "v1")
        transport = RecordingTransport()
        adapter: Registry = make_adapter(registry_server.url, transport, page_size=2)  # conforms statically

        assert adapter.repositories() == sorted(names)
        catalog_calls = [r.url for r in transport.sent if r.url.path == "/v2/_catalog"]
        assert len(catalog_calls) == 3
        assert catalog_calls[0].params["n"] == "2"
        assert catalog_calls[1].params["last"] == "apps/web"
        assert adapter.repositories(limit=3) == sorted(names)[:3]

    def test_tags_of_a_repository(self, registry_server: DockerRegistryServer) -> None:
        for tag in ("v1", "v2", "latest"):
            push_image(registry_server.url, "shop/api", tag)
        adapter = make_adapter(registry_server.url, page_size=2)

        assert sorted(adapter.tags("shop/api")) == ["latest", "v1", "v2"]
        assert adapter.tags("shop/unknown") == []


class TestDigest:
    def test_head_with_every_manifest_type(self, registry_server: DockerRegistryServer) -> None:
        pushed = push_image(registry_server.url, "shop/api", "v1")
        transport = RecordingTransport()
        adapter = make_adapter(registry_server.url, transport)

        assert adapter.digest("shop/api", "v1") == pushed
        head = transport.sent[-1]
        assert head.method == "HEAD"
        assert head.headers["Accept"] == MANIFEST_ACCEPT

    def test_oci_index_digest_is_the_index(self, registry_server: DockerRegistryServer) -> None:
        amd64 = push_image(registry_server.url, "shop/multi", "amd64", oci=True)
        arm64 = push_image(registry_server.url, "shop/multi", "arm64", oci=True)
        index = push_index(
            registry_server.url, "shop/multi", "v1", children={amd64: "linux/amd64", arm64: "linux/arm64"}
        )
        adapter = make_adapter(registry_server.url)

        assert adapter.digest("shop/multi", "v1") == index
        assert adapter.digest("shop/multi", "amd64") == amd64

    def test_missing_tag_is_none(self, registry_server: DockerRegistryServer) -> None:
        push_image(registry_server.url, "shop/api", "v1")
        adapter = make_adapter(registry_server.url)

        assert adapter.digest("shop/api", "v404") is None
        assert adapter.digest("shop/none", "v1") is None

    def test_invalid_names_never_reach_the_registry(self, registry_server: DockerRegistryServer) -> None:
        transport = RecordingTransport()
        adapter = make_adapter(registry_server.url, transport)

        for repository, tag in (("../etc", "v1"), ("Shop", "v1"), ("shop", "v1/../x"), ("shop", "")):
            with pytest.raises(ValidationFailed):
                adapter.digest(repository, tag)
        assert transport.sent == []


class TestDelete:
    def test_delete_by_digest_removes_the_tag(self, registry_server: DockerRegistryServer) -> None:
        digest = push_image(registry_server.url, "shop/api", "v1")
        push_image(registry_server.url, "shop/api", "v2")
        adapter = make_adapter(registry_server.url)

        adapter.delete("shop/api", digest)

        assert adapter.digest("shop/api", "v1") is None
        assert adapter.tags("shop/api") == ["v2"]

    def test_delete_disabled_is_a_clear_error(self, tmp_path: Path) -> None:
        server = start_docker_registry(tmp_path, delete_enabled=False)
        try:
            digest = push_image(server.url, "shop/api", "v1")
            adapter = make_adapter(server.url)
            with pytest.raises(IntegrationError) as caught:
                adapter.delete("shop/api", digest)
        finally:
            server.stop()
        message = str(caught.value)
        assert "test-registry" in message
        assert "405" in message
        assert "storage.delete.enabled" in message

    def test_delete_is_sent_once(self, registry_server: DockerRegistryServer) -> None:
        digest = push_image(registry_server.url, "shop/api", "v1")
        transport = RecordingTransport()
        adapter = make_adapter(registry_server.url, transport, retries=3)

        adapter.delete("shop/api", digest)
        with pytest.raises(IntegrationError, match="MANIFEST_UNKNOWN"):
            adapter.delete("shop/api", digest)
        assert [r.method for r in transport.sent] == ["DELETE", "DELETE"]


class TestConnection:
    def test_every_check_passes(self, registry_server: DockerRegistryServer) -> None:
        report = make_adapter(registry_server.url).test_connection()

        assert report.ok, report.checks
        assert [c.name for c in report.checks] == ["reachable", "v2 API", "auth", "catalog"]
        assert report.version == "registry/2.0"

    def test_unreachable_registry(self, registry_server: DockerRegistryServer) -> None:
        registry_server.stop()
        adapter = make_adapter(registry_server.url, retries=1)

        report = adapter.test_connection()

        assert not report.ok
        assert report.checks[0].name == "reachable"
        assert "test-registry" in report.checks[0].detail
        assert all(not c.ok for c in report.checks)
        with pytest.raises(IntegrationUnavailable, match="test-registry"):
            adapter.repositories()

    def test_not_a_registry(self, registry_server: DockerRegistryServer) -> None:
        adapter = make_adapter(f"{registry_server.url}/not-here")

        report = adapter.test_connection()

        assert [c.ok for c in report.checks] == [True, False, False, False]
        assert "404" in report.checks[1].detail


def test_a_missing_binary_fails_naming_the_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docker_registry, "BINARY", "docker-registry-not-installed")
    with pytest.raises(ServerUnavailableError, match=r"make test.*docker-registry apache2-utils"):
        start_docker_registry(tmp_path)
