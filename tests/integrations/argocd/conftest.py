"""A fake Argo CD on loopback and adapters on it (account token or username/password), sleep-free."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.argocd import FakeArgoCD
from tests.fakes.server import RunningFake, serve
from timbel.integrations.argocd.adapter import ArgoCDAdapter
from timbel.integrations.argocd.config import ArgoCDConfig

TOKEN = "argo-account-token-PLANTED-5f1c"
PASSWORD = "argo-password-PLANTED-9e2d"
READONLY_TOKEN = "argo-readonly-token-PLANTED-77aa"

AdapterFactory = Callable[..., ArgoCDAdapter]


@pytest.fixture
def fake() -> FakeArgoCD:
    """Fresh Argo CD state: user ``timbel``, an account token, and a read-only account token."""
    return FakeArgoCD(
        users={"timbel": PASSWORD},
        tokens={TOKEN: "timbel-bot", READONLY_TOKEN: "viewer"},
        readonly={"viewer"},
    )


@pytest.fixture
def server(fake: FakeArgoCD) -> Iterator[RunningFake]:
    """The fake served on a free 127.0.0.1 port."""
    with serve(fake.asgi()) as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    """Every pause the adapter asked for (nothing really sleeps)."""
    return []


@pytest.fixture
def make_adapter(server: RunningFake, sleeps: list[float]) -> Iterator[AdapterFactory]:
    """Build adapters on the fake; ``session=True`` logs in with username/password instead of the token."""
    made: list[ArgoCDAdapter] = []

    def build(*, session: bool = False, **options: Any) -> ArgoCDAdapter:
        auth: dict[str, Any] = {"username": "timbel", "password": PASSWORD} if session else {"token": TOKEN}
        config = ArgoCDConfig.model_validate(
            {"name": "argo-test", "base_url": server.base_url, **auth, **options}
        )
        adapter = ArgoCDAdapter(config, sleep=sleeps.append)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


@pytest.fixture
def adapter(make_adapter: AdapterFactory) -> ArgoCDAdapter:
    """An adapter authenticating with the account token."""
    return make_adapter()


def guestbook(*, name: str = "guestbook", project: str | None = "default", **spec: Any) -> dict[str, Any]:
    """An Application body like the ones Timbel generates."""
    body: dict[str, Any] = {
        "source": {
            "repoURL": "https://git.example/ops/guestbook.git",
            "path": "envs/dev",
            "targetRevision": "main",
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "guestbook-dev"},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        **spec,
    }
    if project is not None:
        body["project"] = project
    return {"metadata": {"name": name, "labels": {"timbel.io/service": name}}, "spec": body}
