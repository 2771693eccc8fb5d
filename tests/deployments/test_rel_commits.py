"""commits_between: ``git log old..new`` in the runner's mirror of a real repository (local and smart HTTP),
a fetch only when a commit is missing, and clear errors for unknown commits or refused URLs."""

# ruff: noqa: F811  (fixtures imported from _rel_support are parameters here)

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.deployments._rel_support import SourceRepo, source_repo  # noqa: F401
from tests.servers.git_http import start_git_http
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.errors import IntegrationError
from timbel.deployments import commits
from timbel.deployments.commits import CommitsUnavailable, commits_between


def _system(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], url: str
) -> str:
    return make_system(make_domain("acme"), "shop", repo_url=url)


def test_commits_between_two_releases_newest_first_then_only_new_commits_fetch(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], source_repo: SourceRepo
) -> None:
    system_id = _system(app, make_domain, make_system, str(source_repo.path))
    settings = app.state.settings
    calls: list[list[str]] = []

    def git(argv: list[str], **kwargs: object) -> object:
        calls.append(argv)
        return commits._git_run(argv, **kwargs)  # type: ignore[arg-type]

    with session_scope(app.state.session_factory) as session:
        system = session.get(System, system_id)
        assert system is not None
        old, new = source_repo.commits[0], source_repo.commits[2]
        found = commits_between(
            session, settings=settings, system=system, old=old, new=new, allow_local=True, git=git
        )
        assert [c["sha"] for c in found] == [source_repo.commits[2], source_repo.commits[1]]
        assert [c["subject"] for c in found] == ["fix login", "add api"]
        assert found[0]["author"] == "Kim Minji" and found[0]["at"].endswith("+00:00")
        only = commits_between(session, settings=settings, system=system, old=None, new=old, allow_local=True)
        assert [c["subject"] for c in only] == ["첫 커밋"]
        assert (
            commits_between(
                session, settings=settings, system=system, old=old, new=new, limit=1, allow_local=True
            )[0]["subject"]
            == "fix login"
        )
        fetched = sum("clone" in argv or "update" in argv for argv in calls)
        assert fetched == 1  # the mirror was cloned once, later calls read it
        newer = source_repo.commit("한글 커밋")
        latest = commits_between(
            session, settings=settings, system=system, old=new, new=newer, allow_local=True
        )
        assert [c["subject"] for c in latest] == ["한글 커밋"]
        assert commits.mirrors_dir(settings).is_dir()


def test_unknown_commits_bad_shas_and_refused_urls_raise_clear_integration_errors(
    app: FastAPI, make_domain: Callable[[str], str], make_system: Callable[..., str], source_repo: SourceRepo
) -> None:
    domain = make_domain("acme")
    local = make_system(domain, "shop", repo_url=str(source_repo.path))
    loopback = make_system(domain, "loop", repo_url="http://127.0.0.1:9/x.git")
    empty = make_system(domain, "none", repo_url="")
    settings = app.state.settings
    with session_scope(app.state.session_factory) as session:
        system = session.get(System, local)
        assert system is not None
        with pytest.raises(CommitsUnavailable, match="Unknown commit"):
            commits_between(
                session, settings=settings, system=system, old=None, new="1" * 40, allow_local=True
            )
        with pytest.raises(CommitsUnavailable, match="is not a commit SHA"):
            commits_between(
                session, settings=settings, system=system, old="main", new="a" * 40, allow_local=True
            )
        with pytest.raises(CommitsUnavailable, match="refused"):
            commits_between(session, settings=settings, system=system, old=None, new=source_repo.commits[0])
        for system_id, why in ((loopback, "refused"), (empty, "no repository URL")):
            other = session.get(System, system_id)
            assert other is not None
            with pytest.raises(IntegrationError, match=why):
                commits_between(session, settings=settings, system=other, old=None, new="a" * 40)


def test_commits_over_smart_http_with_an_allow_listed_loopback_host(
    app: FastAPI,
    make_domain: Callable[[str], str],
    make_system: Callable[..., str],
    source_repo: SourceRepo,
    tmp_path: Path,
) -> None:
    server = start_git_http(tmp_path / "http")
    try:
        server.add_repo("shop", source_repo.path)
        system_id = _system(app, make_domain, make_system, server.url_for("shop"))
        base = app.state.settings
        settings = base.model_copy(
            update={"analysis": base.analysis.model_copy(update={"allowed_hosts": ["127.0.0.0/8"]})}
        )
        with session_scope(app.state.session_factory) as session:
            system = session.get(System, system_id)
            assert system is not None
            found = commits_between(
                session,
                settings=settings,
                system=system,
                old=source_repo.commits[1],
                new=source_repo.commits[2],
            )
            assert [c["subject"] for c in found] == ["fix login"]
            server.stop()  # a missing commit needs a fetch, which now fails: a clear error
            with pytest.raises(CommitsUnavailable, match="could not be fetched"):
                commits_between(session, settings=settings, system=system, old=None, new="9" * 40)
    finally:
        server.stop()
