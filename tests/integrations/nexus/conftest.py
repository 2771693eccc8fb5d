"""A fake Nexus 3 served on loopback, and adapters pointed at it (no retry sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fakes.nexus import NexusState, create_app
from tests.fakes.server import RunningFake, serve
from timbel.integrations.nexus import NexusAdapter, NexusConfig

USERS = {"deployer": "Amber-Walrus-77", "viewer": "Quiet-Heron-31", "outsider": "Lone-Otter-12"}
REPO = "docker-hosted"


@dataclass
class FakeNexus:
    """The fake's state (mutable) and where it is served."""

    state: NexusState
    running: RunningFake

    @property
    def url(self) -> str:
        """Base URL of the fake."""
        return self.running.base_url

    def calls(self) -> list[str]:
        """``METHOD /path?query`` of every request so far."""
        requests = self.running.recorder.requests
        return [f"{r.method} {r.path}" + (f"?{r.query}" if r.query else "") for r in requests]


@pytest.fixture
def nexus() -> Iterator[FakeNexus]:
    """A fake Nexus with a docker hosted and a maven repository; ``viewer`` cannot delete."""
    state = NexusState(users=dict(USERS), cannot_delete={"viewer"}, cannot_browse={"outsider"})
    state.add_repository(REPO)
    state.add_repository("maven-releases", format="maven2")
    with serve(create_app(state)) as running:
        yield FakeNexus(state, running)


def make_adapter(url: str, *, user: str | None = "deployer", password: str | None = None,
                 **options: object) -> NexusAdapter:  # fmt: skip
    """An adapter on the fake as ``user`` (its real password unless given), without retry sleeps."""
    data: dict[str, object] = {"name": "nexus-test", "base_url": url, "repository": REPO}
    data["backoff_seconds"] = 0
    if user is not None:
        data |= {"username": user, "password": password or USERS[user]}
    return NexusAdapter(NexusConfig.model_validate(data | options), sleep=lambda _s: None)
