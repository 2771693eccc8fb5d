"""Settings: embedded mode keeps a generated secret; production refuses unsafe configuration."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from timbel.core.settings import Environment, Settings, SettingsError, prepare_settings


class TestEmbedded:
    def test_secret_key_is_generated_once_and_kept(self, tmp_path: Path) -> None:
        first = prepare_settings(Settings(data_dir=tmp_path / "var"))
        key_file = tmp_path / "var" / "secret.key"
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        second = prepare_settings(Settings(data_dir=tmp_path / "var"))
        assert first.secret() == second.secret()
        assert len(first.secret()) >= 48

    def test_database_defaults_to_sqlite_in_the_data_dir(self, tmp_path: Path) -> None:
        settings = prepare_settings(Settings(data_dir=tmp_path / "var"))
        assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'var' / 'timbel.db').resolve()}"

    def test_environment_variables_and_nesting(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("TIMBEL_DATA_DIR", str(tmp_path / "elsewhere"))
        monkeypatch.setenv("TIMBEL_AUTH__ACCESS_TOKEN_SECONDS", "600")
        monkeypatch.setenv("TIMBEL_DATABASE_URL", "postgresql://u@127.0.0.1/db")
        settings = Settings()
        assert settings.data_dir == tmp_path / "elsewhere"
        assert settings.auth.access_token_seconds == 600
        assert settings.effective_database_url == "postgresql://u@127.0.0.1/db"


class TestProduction:
    def test_refuses_without_secret_key(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match="TIMBEL_SECRET_KEY"):
            prepare_settings(
                Settings(
                    env=Environment.production, data_dir=tmp_path, database_url="postgresql://u@127.0.0.1/db"
                )
            )

    @pytest.mark.parametrize("key", ["changeme", "short-key", "   "])
    def test_refuses_placeholder_or_short_keys(self, tmp_path: Path, key: str) -> None:
        with pytest.raises(SettingsError):
            prepare_settings(
                Settings(
                    env=Environment.production,
                    data_dir=tmp_path,
                    secret_key=key,  # type: ignore[arg-type]
                    database_url="postgresql://u@127.0.0.1/db",
                )
            )

    def test_refuses_without_database_url(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match="TIMBEL_DATABASE_URL"):
            prepare_settings(Settings(env=Environment.production, data_dir=tmp_path, secret_key="k" * 40))  # type: ignore[arg-type]

    def test_accepts_explicit_configuration_and_writes_nothing(self, tmp_path: Path) -> None:
        settings = prepare_settings(
            Settings(
                env=Environment.production,
                data_dir=tmp_path / "var",
                secret_key="k" * 40,  # type: ignore[arg-type]
                database_url="postgresql://u@127.0.0.1/db",
            )
        )
        assert settings.secret() == "k" * 40
        assert not (tmp_path / "var").exists()
