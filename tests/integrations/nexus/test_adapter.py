"""The Nexus adapter against the fake Nexus 3 API: results, the exact calls, auth and permission errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.server import header
from tests.servers import LOOPBACK, free_port
from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.base import IntegrationKind
from timbel.integrations.nexus import NexusAdapter, NexusConfig, RepositoryRef, from_instance
from timbel.integrations.registry import apply_retention, plan_retention
from timbel.integrations.registry_of_adapters import InstanceConfig

from .conftest import REPO, USERS, FakeNexus, make_adapter

API = "/service/rest/v1"
SEARCH = f"GET {API}/search?repository={REPO}&format=docker"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


class TestListing:
    def test_repositories_follow_continuation_tokens(self, nexus: FakeNexus) -> None:
        for name, tag in [
            ("shop/web", "1"),
            ("shop/api", "1"),
            ("shop/api", "2"),
            ("tools/ci", "a"),
            ("x", "b"),
        ]:
            nexus.state.add_image(REPO, name, tag)
        nexus.state.add_image("other-docker", "elsewhere", "1")

        names = make_adapter(nexus.url).repositories()

        assert names == ["shop/api", "shop/web", "tools/ci", "x"]
        calls = nexus.calls()
        assert len(calls) == 3  # 5 items, 2 per page
        assert calls[0] == SEARCH
        assert all(c.startswith(f"{SEARCH}&continuationToken=") for c in calls[1:])
        auth = header(nexus.running.recorder.requests[0], "Authorization")
        assert auth == "Basic " + base64.b64encode(f"deployer:{USERS['deployer']}".encode()).decode()

    def test_repositories_stop_at_the_limit(self, nexus: FakeNexus) -> None:
        for n in range(6):
            nexus.state.add_image(REPO, f"img{n}", "1")
        assert make_adapter(nexus.url).repositories(limit=2) == ["img0", "img1"]
        assert len(nexus.calls()) == 1

    def test_tags_and_digests_of_one_image(self, nexus: FakeNexus) -> None:
        for tag in ["1.0", "1.1", "2.0"]:
            nexus.state.add_image(REPO, "shop/api", tag, digest=f"sha256:{tag.replace('.', ''):0>64}")
        nexus.state.add_image(REPO, "shop/api-admin", "9.9")
        adapter = make_adapter(nexus.url)

        assert adapter.tags("shop/api") == ["1.0", "1.1", "2.0"]
        assert adapter.digest("shop/api", "1.1") == "sha256:" + "11".rjust(64, "0")
        assert adapter.digest("shop/api", "3.0") is None
        assert adapter.tags("no/such") == []

        calls = nexus.calls()
        assert calls[0] == f"{SEARCH}&name=shop%2Fapi"
        assert calls[1].startswith(f"{SEARCH}&name=shop%2Fapi&continuationToken=")
        assert calls[2] == f"{SEARCH}&name=shop%2Fapi&version=1.1"
        assert calls[3] == f"{SEARCH}&name=shop%2Fapi&version=3.0"

    def test_created_is_the_manifest_upload_time(self, nexus: FakeNexus) -> None:
        nexus.state.add_image(REPO, "app", "old", created=T0)
        nexus.state.add_image(REPO, "app", "new", created=T0 + timedelta(days=2))
        adapter = make_adapter(nexus.url)
        digest = adapter.digest("app", "new")
        assert digest is not None
        assert adapter.created("app", digest) == T0 + timedelta(days=2)
        assert adapter.created("app", "old") == T0

    def test_list_repositories(self, nexus: FakeNexus) -> None:
        listed = make_adapter(nexus.url).list_repositories()
        assert listed == [
            RepositoryRef(REPO, "docker", "hosted", f"http://nexus/repository/{REPO}"),
            RepositoryRef("maven-releases", "maven2", "hosted", "http://nexus/repository/maven-releases"),
        ]
        assert nexus.calls() == [f"GET {API}/repositories"]


class TestDelete:
    def test_deletes_every_tag_of_the_digest_and_nothing_else(self, nexus: FakeNexus) -> None:
        shared = "sha256:" + "a" * 64
        doomed = [nexus.state.add_image(REPO, "app", t, digest=shared) for t in ("1.0", "stable-old")]
        nexus.state.add_image(REPO, "app", "2.0")
        nexus.state.add_image(REPO, "other", "1.0", digest=shared)
        adapter = make_adapter(nexus.url)
        nexus.running.recorder.clear()

        adapter.delete("app", shared)

        deletes = [c for c in nexus.calls() if c.startswith("DELETE")]
        assert deletes == [f"DELETE {API}/components/{c['id']}" for c in doomed]
        assert adapter.tags("app") == ["2.0"]
        assert adapter.tags("other") == ["1.0"]

    def test_an_unknown_digest_is_an_error_naming_the_instance(self, nexus: FakeNexus) -> None:
        nexus.state.add_image(REPO, "app", "1.0")
        with pytest.raises(IntegrationError, match="Nexus 'nexus-test': no tag of app has the manifest"):
            make_adapter(nexus.url).delete("app", "sha256:" + "b" * 64)
        assert not [c for c in nexus.calls() if c.startswith("DELETE")]

    def test_a_user_without_delete_privilege_gets_an_auth_error(self, nexus: FakeNexus) -> None:
        component = nexus.state.add_image(REPO, "app", "1.0", digest="sha256:" + "c" * 64)
        with pytest.raises(IntegrationAuthError) as caught:
            make_adapter(nexus.url, user="viewer").delete("app", "sha256:" + "c" * 64)
        assert "Nexus 'nexus-test'" in caught.value.detail and "HTTP 403" in caught.value.detail
        assert USERS["viewer"] not in caught.value.detail
        assert nexus.calls()[-1] == f"DELETE {API}/components/{component['id']}"
        assert nexus.calls().count(f"DELETE {API}/components/{component['id']}") == 1  # 403 is not retried
        assert component in nexus.state.components


class TestErrors:
    def test_wrong_password_is_an_auth_error_without_the_secret(self, nexus: FakeNexus) -> None:
        with pytest.raises(IntegrationAuthError) as caught:
            make_adapter(nexus.url, password="Wrong-Secret-404").repositories()
        assert caught.value.detail == "Nexus 'nexus-test' rejected the credentials (GET search: HTTP 401)"

    def test_anonymous_reads_when_nexus_allows_them(self, nexus: FakeNexus) -> None:
        nexus.state.add_image(REPO, "app", "1.0")
        with pytest.raises(IntegrationAuthError):
            make_adapter(nexus.url, user=None).tags("app")
        nexus.state.anonymous = True
        assert make_adapter(nexus.url, user=None).tags("app") == ["1.0"]
        assert header(nexus.running.recorder.requests[-1], "Authorization") is None

    def test_unreachable_is_unavailable(self) -> None:
        adapter = make_adapter(f"http://{LOOPBACK}:{free_port()}", retries=0)
        with pytest.raises(IntegrationUnavailable, match="Nexus 'nexus-test': cannot connect"):
            adapter.tags("app")


class TestConnection:
    def test_everything_ok(self, nexus: FakeNexus) -> None:
        report = make_adapter(nexus.url).test_connection()
        assert report.ok and report.version == "3.61.0-02"
        assert [c.name for c in report.checks] == ["reachable", "writable", "auth", "repository", "search"]
        assert nexus.calls() == [
            f"GET {API}/status", f"GET {API}/status/writable", f"GET {API}/repositories", SEARCH,
        ]  # fmt: skip
        assert header(nexus.running.recorder.requests[0], "Authorization") is None

    def test_bad_credentials(self, nexus: FakeNexus) -> None:
        report = make_adapter(nexus.url, password="nope-nope").test_connection()
        assert not report.ok
        failed = {c.name: c.detail for c in report.checks if not c.ok}
        assert list(failed) == ["auth"] and "rejected the credentials" in failed["auth"]

    def test_read_only_missing_repository_and_no_browse_privilege(self, nexus: FakeNexus) -> None:
        nexus.state.writable = False
        checks = {
            c.name: c for c in make_adapter(nexus.url, repository="maven-releases").test_connection().checks
        }
        assert not checks["writable"].ok and "HTTP 503" in checks["writable"].detail
        assert not checks["repository"].ok and "maven2 hosted" in checks["repository"].detail
        missing = {c.name: c for c in make_adapter(nexus.url, repository="nope").test_connection().checks}
        assert not missing["repository"].ok and "not found" in missing["repository"].detail
        outsider = make_adapter(nexus.url, user="outsider").test_connection()
        assert [(c.name, c.ok) for c in outsider.checks][-1] == ("auth", False)
        assert "lacks the permission for GET repositories" in outsider.checks[-1].detail

    def test_unreachable(self) -> None:
        report = make_adapter(f"http://{LOOPBACK}:{free_port()}", retries=0).test_connection()
        assert [(c.name, c.ok) for c in report.checks] == [("reachable", False)]


def test_retention_plan_and_apply_through_the_adapter(nexus: FakeNexus) -> None:
    for day in range(5):
        nexus.state.add_image(REPO, "app", f"v{day}", created=T0 + timedelta(days=day))
    adapter = make_adapter(nexus.url)
    plan = plan_retention(adapter, repository="app", keep_last=2, protected={"v0"})
    assert [t.tag for t in plan.keep] == ["v4", "v3", "v0"]
    assert [t.tag for t in plan.delete] == ["v2", "v1"]
    assert apply_retention(adapter, plan=plan) == plan.digests_to_delete
    assert sorted(adapter.tags("app")) == ["v0", "v3", "v4"]


def test_from_instance_builds_a_configured_adapter(nexus: FakeNexus) -> None:
    config = InstanceConfig(
        id="nexus-from-instance-test", kind=IntegrationKind.nexus, name="nx", base_url=nexus.url + "/",
        options={"repository": REPO, "username": "deployer"}, secrets={"password": USERS["deployer"]},
    )  # fmt: skip
    adapter = from_instance(config)
    assert isinstance(adapter, NexusAdapter) and adapter.config.base_url == nexus.url
    assert adapter.test_connection().ok
    assert USERS["deployer"] not in repr(NexusConfig.model_validate(config.config_data()).model_dump())
