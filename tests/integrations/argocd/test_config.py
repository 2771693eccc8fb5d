"""The Argo CD config model: one way to authenticate, clean URLs, a schema the admin form can render."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from timbel.integrations.argocd.config import ArgoCDConfig
from timbel.integrations.registry_of_adapters import secret_fields_of

BASE = {"name": "argo", "base_url": "https://argocd.example/argocd/"}


class TestArgoCDConfig:
    def test_token_or_user_and_password(self) -> None:
        assert ArgoCDConfig.model_validate({**BASE, "token": "t"}).base_url == "https://argocd.example/argocd"
        config = ArgoCDConfig.model_validate({**BASE, "username": "u", "password": "p"})
        assert config.password is not None and config.password.get_secret_value() == "p"

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({}, "give an account token, or a username and a password"),
            ({"username": "u"}, "give an account token, or a username and a password"),
            ({"token": "t", "username": "u", "password": "p"}, "not both"),
            ({"token": "t", "base_url": "ftp://argocd"}, "http:// or https://"),
            ({"token": "t", "base_url": "https://u:p@argocd"}, "not in base_url"),
            ({"token": "t", "surprise": 1}, "Extra inputs are not permitted"),
        ],
    )
    def test_refuses(self, settings: dict[str, Any], message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            ArgoCDConfig.model_validate({**BASE, **settings})

    def test_secrets_are_hidden(self) -> None:
        config = ArgoCDConfig.model_validate({**BASE, "token": "PLANTED-token"})
        assert "PLANTED" not in repr(config) and "PLANTED" not in config.model_dump_json()

    def test_schema_describes_every_field(self) -> None:
        schema = ArgoCDConfig.model_json_schema()
        assert all(field.get("description") for field in schema["properties"].values())
        assert secret_fields_of(ArgoCDConfig) == {"token", "password"}
