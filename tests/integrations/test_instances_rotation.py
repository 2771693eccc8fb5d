"""Key rotation: ``timbel secrets rotate-key`` re-encrypts every stored secret (integrations, GitOps
repositories, delivery drafts) with the current key in one transaction, is safe to rerun, and changes
nothing when a secret opens with neither key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET
from timbel.core.crypto import SecretBox, SecretDecryptError, reencrypt
from timbel.core.db import session_scope
from timbel.gitops.models import DeliveryDraft, GitOpsRepository
from timbel.integrations.cli_commands import OLD_KEY_ENV, secrets_app
from timbel.integrations.key_rotation import RotationFailed, rotate_key
from timbel.integrations.models import Integration

NEW_KEY = "the-new-secret-key-after-rotation-0123456789"
TOKEN = "rotate-me-token-55aa"
runner = CliRunner()
cli = typer.Typer()
cli.add_typer(secrets_app, name="secrets")  # as ``timbel secrets``


def _arrange(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
) -> dict[str, str]:
    """One encrypted secret in each table, under the test key; return the row ids."""
    old = SecretBox(TEST_SECRET)
    system_id = make_system(make_domain("RT"), "billing")
    with session_scope(app.state.session_factory) as session:
        integration = Integration(
            kind="jenkins", name="j", base_url="https://ci.example.com", secret_fields=["token"]
        )
        repository = GitOpsRepository(name="ops", url="https://git.example.com/ops.git", auth="token")
        draft = DeliveryDraft(system_id=system_id, plan={})
        plain = Integration(kind="nexus", name="n", base_url="https://n.example.com", secret_fields=[])
        session.add_all([integration, repository, draft, plain])
        session.flush()
        integration.secrets = old.encrypt(json.dumps({"token": TOKEN}), context=integration.id)
        repository.secret = old.encrypt(TOKEN, context=repository.id)
        draft.secrets = old.encrypt(json.dumps({"api": {"DB_PASSWORD": TOKEN}}), context=draft.id)
        return {"integration": integration.id, "repository": repository.id, "draft": draft.id}


def _opened_with(app: FastAPI, key: str, ids: dict[str, str], count: int = 3) -> list[str]:
    box = SecretBox(key)
    with session_scope(app.state.session_factory) as session:
        stored = [
            (session.get(Integration, ids["integration"]).secrets, ids["integration"]),  # type: ignore[union-attr]
            (session.get(GitOpsRepository, ids["repository"]).secret, ids["repository"]),  # type: ignore[union-attr]
            (session.get(DeliveryDraft, ids["draft"]).secrets, ids["draft"]),  # type: ignore[union-attr]
        ]
    return [box.decrypt(text or "", context=row_id) for text, row_id in stored[:count]]


def test_reencrypt_is_idempotent_and_refuses_unknown_keys() -> None:
    old, new = SecretBox("o" * 43), SecretBox("n" * 43)
    rotated, changed = reencrypt(old.encrypt(TOKEN, context="r"), old=old, new=new, context="r")
    assert changed and new.decrypt(rotated, context="r") == TOKEN
    assert reencrypt(rotated, old=old, new=new, context="r") == (rotated, False)
    with pytest.raises(SecretDecryptError):
        reencrypt(SecretBox("z" * 43).encrypt(TOKEN, context="r"), old=old, new=new, context="r")


class TestRotateKey:
    def test_every_table_is_reencrypted_and_a_rerun_changes_nothing(
        self, app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
    ) -> None:
        ids = _arrange(app, make_domain, make_system)
        with session_scope(app.state.session_factory) as session:
            report = rotate_key(session, old_key=TEST_SECRET, new_key=NEW_KEY)
        assert report.rotated == {
            "integrations": 1, "gitops_repositories": 1, "delivery_drafts": 1, "pipelines": 0
        }  # fmt: skip
        opened = _opened_with(app, NEW_KEY, ids)
        assert json.loads(opened[0]) == {"token": TOKEN} and opened[1] == TOKEN
        with session_scope(app.state.session_factory) as session:
            again = rotate_key(session, old_key=TEST_SECRET, new_key=NEW_KEY)
        assert again.total == 0 and again.already_current == 3

    def test_a_secret_neither_key_opens_stops_everything(
        self, app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str]
    ) -> None:
        ids = _arrange(app, make_domain, make_system)
        with session_scope(app.state.session_factory) as session:
            draft = session.get(DeliveryDraft, ids["draft"])
            assert draft is not None
            draft.secrets = SecretBox("another-key-entirely-0123456789abcdef").encrypt("x", context=draft.id)
        with pytest.raises(RotationFailed) as caught, session_scope(app.state.session_factory) as session:
            rotate_key(session, old_key=TEST_SECRET, new_key=NEW_KEY)
        assert ids["draft"] in str(caught.value) and TOKEN not in str(caught.value)
        assert _opened_with(app, TEST_SECRET, ids, count=2) == ['{"token": "rotate-me-token-55aa"}', TOKEN]


class TestCommand:
    @pytest.fixture
    def env(self, app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """The command's environment: the test database, the new key as the current one."""
        monkeypatch.setenv("TIMBEL_DATABASE_URL", app.state.settings.effective_database_url)
        monkeypatch.setenv("TIMBEL_SECRET_KEY", NEW_KEY)
        monkeypatch.setenv("TIMBEL_DATA_DIR", str(tmp_path / "cli-var"))
        monkeypatch.delenv(OLD_KEY_ENV, raising=False)
        key_file = tmp_path / "old.key"
        key_file.write_text(TEST_SECRET + "\n")
        return key_file

    def test_rotate_key_from_a_file_reports_counts(
        self, app: FastAPI, env: Path, make_domain: Callable[[str], str], make_system: Callable[..., str]
    ) -> None:
        ids = _arrange(app, make_domain, make_system)
        result = runner.invoke(cli, ["secrets", "rotate-key", "--old-key-file", str(env)])
        assert result.exit_code == 0, result.output
        assert "integrations: 1 re-encrypted" in result.output
        assert "gitops_repositories: 1 re-encrypted" in result.output
        assert "delivery_drafts: 1 re-encrypted" in result.output
        assert TOKEN not in result.output and TEST_SECRET not in result.output
        assert _opened_with(app, NEW_KEY, ids)[1] == TOKEN

    def test_rotate_key_from_the_environment_and_refusals(
        self, app: FastAPI, env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        missing = runner.invoke(cli, ["secrets", "rotate-key"])
        assert missing.exit_code == 2 and OLD_KEY_ENV in missing.output
        unreadable = runner.invoke(cli, ["secrets", "rotate-key", "--old-key-file", str(tmp_path / "nope")])
        assert unreadable.exit_code == 2
        monkeypatch.setenv(OLD_KEY_ENV, TEST_SECRET)
        result = runner.invoke(cli, ["secrets", "rotate-key"])
        assert result.exit_code == 0, result.output
        assert "already on the current key: 0" in result.output
