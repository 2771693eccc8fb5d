"""Authentication: account token as Bearer, session login cached, one re-login after a 401, clean errors."""

from __future__ import annotations

import pytest

from tests.fakes.argocd import FakeArgoCD
from tests.fakes.server import RunningFake, as_json, header
from tests.integrations.argocd.conftest import PASSWORD, READONLY_TOKEN, TOKEN, AdapterFactory, guestbook
from timbel.core.errors import IntegrationAuthError
from timbel.integrations.argocd.adapter import ArgoCDAdapter
from timbel.integrations.argocd.config import ArgoCDConfig


class TestAccountToken:
    def test_every_call_carries_the_bearer_token(self, adapter: ArgoCDAdapter, server: RunningFake) -> None:
        adapter.upsert_application(guestbook())
        adapter.status("guestbook")
        assert server.recorder.calls() == ["POST /api/v1/applications", "GET /api/v1/applications/guestbook"]
        assert all(header(r, "authorization") == f"Bearer {TOKEN}" for r in server.recorder.requests)
        assert all(header(r, "user-agent") == "timbel-argocd" for r in server.recorder.requests)

    def test_refused_token_is_an_auth_error(self, server: RunningFake) -> None:
        config = ArgoCDConfig.model_validate(
            {"name": "argo-test", "base_url": server.base_url, "token": "forged"}
        )
        with pytest.raises(IntegrationAuthError) as caught:
            ArgoCDAdapter(config).status("guestbook")
        assert str(caught.value) == (
            "Argo CD 'argo-test' refused the credentials (HTTP 401 on GET /api/v1/applications/guestbook): "
            "invalid session: token signature is invalid"
        )
        assert server.recorder.calls() == ["GET /api/v1/applications/guestbook"]  # a 401 is not retried

    def test_permission_denied_is_an_auth_error(self, fake: FakeArgoCD, server: RunningFake) -> None:
        fake.apps.clear()
        config = ArgoCDConfig.model_validate(
            {"name": "argo-test", "base_url": server.base_url, "token": READONLY_TOKEN}
        )
        with pytest.raises(IntegrationAuthError) as caught:
            ArgoCDAdapter(config).upsert_application(guestbook())
        assert str(caught.value) == (
            "Argo CD 'argo-test' denied permission (HTTP 403 on POST /api/v1/applications): "
            "permission denied: applications, create, default/guestbook, sub: viewer"
        )
        assert READONLY_TOKEN not in str(caught.value)
        assert fake.apps == {}


class TestSession:
    def test_logs_in_once_and_reuses_the_token(
        self, make_adapter: AdapterFactory, server: RunningFake
    ) -> None:
        adapter = make_adapter(session=True)
        adapter.upsert_application(guestbook())
        adapter.status("guestbook")
        adapter.status("guestbook")
        login, *calls = server.recorder.requests
        assert (login.method, login.path) == ("POST", "/api/v1/session")
        assert as_json(login) == {"username": "timbel", "password": PASSWORD}
        assert header(login, "authorization") is None
        assert [f"{r.method} {r.path}" for r in calls] == [
            "POST /api/v1/applications",
            "GET /api/v1/applications/guestbook",
            "GET /api/v1/applications/guestbook",
        ]
        tokens = {header(r, "authorization") for r in calls}
        assert len(tokens) == 1 and next(iter(tokens)).startswith("Bearer session-")  # type: ignore[union-attr]

    def test_logs_in_again_once_after_a_401(
        self, fake: FakeArgoCD, make_adapter: AdapterFactory, server: RunningFake
    ) -> None:
        adapter = make_adapter(session=True)
        adapter.upsert_application(guestbook())
        fake.expire_sessions()
        server.recorder.clear()
        adapter.sync("guestbook", revision="v1.2.0")
        assert server.recorder.calls() == [
            "POST /api/v1/applications/guestbook/sync",  # refused: the session expired
            "POST /api/v1/session",
            "POST /api/v1/applications/guestbook/sync",  # repeated once with the new token
        ]
        first, _, second = server.recorder.requests
        assert as_json(first) == as_json(second) == {"revision": "v1.2.0", "prune": False}
        assert header(first, "authorization") != header(second, "authorization")
        assert fake.app_of("guestbook")["operation"]["sync"] == {"revision": "v1.2.0", "prune": False}

    def test_a_second_401_is_not_retried_again(
        self, fake: FakeArgoCD, make_adapter: AdapterFactory, server: RunningFake
    ) -> None:
        adapter = make_adapter(session=True)
        adapter.upsert_application(guestbook())
        server.recorder.clear()
        fake.fail(401, times=2, message="invalid session: token has expired")
        with pytest.raises(IntegrationAuthError) as caught:
            adapter.status("guestbook")
        assert server.recorder.calls() == ["GET /api/v1/applications/guestbook", "POST /api/v1/session"]
        assert "refused the login of user 'timbel' (HTTP 401)" in str(caught.value)

    def test_refused_login(self, server: RunningFake) -> None:
        config = ArgoCDConfig.model_validate(
            {
                "name": "argo-test",
                "base_url": server.base_url,
                "username": "timbel",
                "password": "wrong-PLANTED",
            }
        )
        with pytest.raises(IntegrationAuthError) as caught:
            ArgoCDAdapter(config).status("guestbook")
        assert str(caught.value) == "Argo CD 'argo-test' refused the login of user 'timbel' (HTTP 401)"
        assert server.recorder.calls() == ["POST /api/v1/session"]
