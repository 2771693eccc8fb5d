"""The fake GitHub API on a loopback port, and adapters pointed at it with a recording clock and sleep."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub, FakeRepo, github_app, make_commit
from tests.fakes.server import RunningFake, serve
from timbel.integrations.github.adapter import GitHubAdapter
from timbel.integrations.github.config import GitHubConfig

TOKEN = "ghp_s3cr3t-github-token-5d1e"
NOW = 1_900_000_000.0


@dataclass
class Clock:
    """A fake wall clock; ``sleep`` records the wait and moves time on."""

    now: float = NOW
    slept: list[float] = field(default_factory=list)

    def time(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record and advance."""
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class GitHub:
    """A served fake GitHub: its state, the running server and the clock adapters use."""

    state: FakeGitHub
    running: RunningFake
    clock: Clock

    def calls(self) -> list[str]:
        """``METHOD /path`` of every request the fake received."""
        return self.running.recorder.calls()


@pytest.fixture
def github() -> Iterator[GitHub]:
    """A fake GitHub holding ``acme/shop`` (public, 3 branches, 3 commits) and ``acme/vault`` (private)."""
    state = FakeGitHub(token=TOKEN, reset=int(NOW) + 30)
    shop = FakeRepo(
        "acme/shop",
        topics=["shop", "fastapi"],
        branches=["main", "develop", "feature/cart"],
        languages={"Python": 52_000, "Dockerfile": 300},
        commits=[
            make_commit("c" * 40, "Add cart\n\nDetails", author="Kim", date="2026-11-03T09:00:00Z"),
            make_commit("b" * 40, "Add catalog", author="Lee", date="2026-11-02T09:00:00Z"),
            make_commit("a" * 40, "Initial commit", author="Kim", date="2026-11-01T09:00:00Z"),
        ],
    )
    state.add_repo(shop)
    state.add_repo(FakeRepo("acme/vault", private=True, language="Go", languages={"Go": 10}))
    with serve(github_app(state)) as running:
        state.base_url = running.base_url
        yield GitHub(state, running, Clock())


@pytest.fixture
def make_adapter(github: GitHub) -> Iterator[Callable[..., GitHubAdapter]]:
    """Build adapters for the fake (options override the config); all closed afterwards."""
    made: list[GitHubAdapter] = []

    def make(**options: Any) -> GitHubAdapter:
        data = {"name": "github-main", "base_url": github.running.base_url, "token": TOKEN} | options
        adapter = GitHubAdapter(
            GitHubConfig.model_validate(data), sleep=github.clock.sleep, clock=github.clock.time
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()
