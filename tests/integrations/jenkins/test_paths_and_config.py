"""Job paths map to nested /job/ URLs; the config validates, hides the token and has a simple schema."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from timbel.integrations.jenkins import JenkinsConfig
from timbel.integrations.jenkins.paths import folder_url, job_url, join_job, parent_and_name, split_job
from timbel.integrations.registry_of_adapters import secret_fields_of

TOKEN = "11aa22bb33cc44dd55ee66ff77aa88bb99"


class TestPaths:
    def test_nested_job_url(self) -> None:
        assert job_url("a/b/c") == "/job/a/job/b/job/c"
        assert job_url("/team/빌드 잡/") == "/job/team/job/%EB%B9%8C%EB%93%9C%20%EC%9E%A1"
        assert folder_url(None) == "" and folder_url("") == "" and folder_url("x") == "/job/x"

    @pytest.mark.parametrize("bad", ["", "/", "a//b", "a/../b", "a/./b", "a?b", "a#b", "a%2Fb", " a", "a\nb"])
    def test_unacceptable_names(self, bad: str) -> None:
        with pytest.raises(ValueError, match="job path"):
            split_job(bad)

    def test_join_and_parent(self) -> None:
        assert join_job("timbel/", None, "", "/shop/api") == "timbel/shop/api"
        assert parent_and_name("a/b/c") == ("a/b", "c")
        assert parent_and_name("c") == (None, "c")


class TestConfig:
    def _config(self, **options: object) -> JenkinsConfig:
        data = {"name": "ci", "base_url": "https://jenkins.example.com/ci/", "username": "timbel",
                "api_token": TOKEN, **options}  # fmt: skip
        return JenkinsConfig.model_validate(data)

    def test_normalises(self) -> None:
        config = self._config(folder="/timbel/builds/")
        assert config.base_url == "https://jenkins.example.com/ci"
        assert config.folder == "timbel/builds"
        assert isinstance(config.api_token, SecretStr)

    def test_token_never_printed(self) -> None:
        config = self._config()
        assert TOKEN not in repr(config) and TOKEN not in str(config.model_dump())

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"base_url": "ftp://x"}, "http"),
            ({"base_url": "https://u:p@x"}, "credentials"),
            ({"folder": "a/../b"}, "job path"),
            ({"colour": "blue"}, "Extra inputs"),
        ],
    )
    def test_refuses(self, options: dict[str, object], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            self._config(**options)

    def test_schema_is_form_friendly(self) -> None:
        schema = JenkinsConfig.model_json_schema()
        for name, field in schema["properties"].items():
            assert field.get("description"), name
            assert field.get("type") in {"string", "integer", "number", "boolean"}, name
        assert secret_fields_of(JenkinsConfig) == frozenset({"api_token"})
