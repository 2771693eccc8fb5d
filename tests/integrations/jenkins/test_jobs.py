"""Jobs: upsert creates missing folders then the job, or replaces config.xml; listing folders."""

from __future__ import annotations

import pytest

from tests.fakes.jenkins import FOLDER_CLASS, JenkinsState
from tests.fakes.server import RunningFake, header
from timbel.core.errors import IntegrationError
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsNotFound, inline_pipeline_config_xml

from .conftest import MakeAdapter, basic, calls

FOLDER_MODE = "mode=com.cloudbees.hudson.plugins.folder.Folder"
XML = inline_pipeline_config_xml(description="shop", script="node { echo '빌드' }")
XML2 = inline_pipeline_config_xml(description="shop v2", script="node { echo 'v2' }")


class TestUpsertJob:
    def test_creates_missing_folders_top_down_then_the_job(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.add_folder("team")
        adapter.upsert_job("team/apps/shop api", config_xml=XML)
        assert calls(fake.recorder) == [
            "GET /job/team/job/apps/job/shop api/api/json?tree=name",
            "GET /job/team/job/apps/api/json?tree=name",
            "GET /job/team/api/json?tree=name",
            f"POST /job/team/createItem?name=apps&{FOLDER_MODE}",
            "POST /job/team/job/apps/createItem?name=shop+api",
        ]
        folder_post, job_post = fake.recorder.requests[3], fake.recorder.requests[4]
        assert header(folder_post, "content-type") == "application/xml; charset=UTF-8"
        assert folder_post.body.decode().count(f"<{FOLDER_CLASS}") == 1
        assert job_post.body == XML.encode()
        assert {header(r, "authorization") for r in fake.recorder.requests} == {basic(state)}
        assert all(header(r, "jenkins-crumb") is None for r in fake.recorder.requests)
        assert state.items["team/apps"].folder
        assert state.items["team/apps/shop api"].config_xml == XML
        assert not state.items["team/apps/shop api"].folder

    def test_job_at_the_root(self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState) -> None:
        adapter.upsert_job("shop", config_xml=XML)
        assert calls(fake.recorder) == ["GET /job/shop/api/json?tree=name", "POST /createItem?name=shop"]
        assert state.items["shop"].config_xml == XML

    def test_existing_job_gets_its_config_replaced(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.add_folder("team")
        state.add_job("team/shop", config_xml=XML)
        adapter.upsert_job("team/shop", config_xml=XML2)
        assert calls(fake.recorder) == [
            "GET /job/team/job/shop/api/json?tree=name",
            "POST /job/team/job/shop/config.xml",
        ]
        assert fake.recorder.requests[1].body == XML2.encode()
        assert state.items["team/shop"].config_xml == XML2

    def test_lost_creation_race_falls_back_to_config_xml(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.fail(404, prefix="/job/shop/api/json", times=1)  # someone creates it right after our check
        state.add_job("shop", config_xml=XML)
        adapter.upsert_job("shop", config_xml=XML2)
        assert calls(fake.recorder) == [
            "GET /job/shop/api/json?tree=name",
            "POST /createItem?name=shop",
            "POST /job/shop/config.xml",
        ]
        assert state.items["shop"].config_xml == XML2

    def test_folder_created_meanwhile_is_fine(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.fail(
            404, prefix="/job/team/api/json", times=1
        )  # another Timbel creates it right after our check
        state.add_folder("team")
        adapter.upsert_job("team/shop", config_xml=XML)
        assert calls(fake.recorder) == [
            "GET /job/team/job/shop/api/json?tree=name",
            "GET /job/team/api/json?tree=name",
            f"POST /createItem?name=team&{FOLDER_MODE}",
            "POST /job/team/createItem?name=shop",
        ]
        assert state.items["team/shop"].config_xml == XML

    def test_malformed_config_is_an_integration_error(self, adapter: JenkinsAdapter) -> None:
        with pytest.raises(IntegrationError, match=r"Jenkins 'ci-test': unexpected answer \(HTTP 500\)"):
            adapter.upsert_job("shop", config_xml="<flow-definition>")

    def test_bad_path_is_refused_before_any_request(self, adapter: JenkinsAdapter, fake: RunningFake) -> None:
        with pytest.raises(ValueError, match="job path"):
            adapter.upsert_job("team/../x", config_xml=XML)
        assert fake.recorder.requests == []


class TestListing:
    def test_jobs_of_root_and_folder(
        self, adapter: JenkinsAdapter, fake: RunningFake, state: JenkinsState
    ) -> None:
        state.add_folder("team")
        state.add_job("team/api")
        state.add_folder("team/web")
        state.add_job("team/web/front")
        state.add_job("solo")
        assert adapter.jobs() == ["solo", "team"]
        assert adapter.jobs("team") == ["team/api", "team/web"]
        assert adapter.jobs("team/web") == ["team/web/front"]
        assert calls(fake.recorder) == [
            "GET /api/json?tree=jobs%5Bname%5D",
            "GET /job/team/api/json?tree=jobs%5Bname%5D",
            "GET /job/team/job/web/api/json?tree=jobs%5Bname%5D",
        ]

    def test_missing_folder_is_named(self, adapter: JenkinsAdapter) -> None:
        with pytest.raises(
            JenkinsNotFound, match=r"Jenkins 'ci-test': folder 'nope/x' not found \(HTTP 404\)"
        ):
            adapter.jobs("nope/x")

    def test_job_path_joins_the_configured_folder(self, make_adapter: MakeAdapter) -> None:
        adapter = make_adapter(folder="timbel/builds")
        assert adapter.job_path("shop-api") == "timbel/builds/shop-api"
