"""A fake Jenkins on loopback per test, and an adapter pointed at it (sleeps recorded, never slept)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from tests.fakes.jenkins import JenkinsState, create_app
from tests.fakes.server import Recorder, RunningFake, serve
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsConfig

MakeAdapter = Callable[..., JenkinsAdapter]


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[RunningFake, list[JenkinsState]]]:
    """One fake Jenkins server for the session; each test swaps in a fresh state."""
    box = [JenkinsState()]
    with serve(create_app(lambda: box[0])) as running:
        yield running, box


@pytest.fixture
def state(_served: tuple[RunningFake, list[JenkinsState]]) -> JenkinsState:
    """The fake's state for this test (fresh); arrange it before the first request."""
    _served[1][0] = JenkinsState()
    return _served[1][0]


@pytest.fixture
def fake(_served: tuple[RunningFake, list[JenkinsState]], state: JenkinsState) -> RunningFake:
    """The fake Jenkins on a loopback port, its recorder emptied for this test."""
    _served[0].recorder.clear()
    return _served[0]


@pytest.fixture
def sleeps() -> list[float]:
    """Every pause the adapter asked for (retry backoff, polling)."""
    return []


@pytest.fixture
def make_adapter(fake: RunningFake, state: JenkinsState, sleeps: list[float]) -> Iterator[MakeAdapter]:
    """Build adapters on the fake with config overrides; all are closed after the test."""
    made: list[JenkinsAdapter] = []

    def build(**options: Any) -> JenkinsAdapter:
        data: dict[str, Any] = {
            "name": "ci-test", "base_url": fake.base_url, "username": state.username,
            "api_token": SecretStr(state.api_token), "backoff_seconds": 0.01, **options,
        }  # fmt: skip
        adapter = JenkinsAdapter(JenkinsConfig.model_validate(data), sleep=sleeps.append)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


@pytest.fixture
def adapter(make_adapter: MakeAdapter) -> JenkinsAdapter:
    """An adapter with the default configuration (no folder, crumbs only on demand)."""
    return make_adapter()


def calls(recorder: Recorder) -> list[str]:
    """``METHOD /path?query`` of every recorded request, in order."""
    return [f"{r.method} {r.path}" + (f"?{r.query}" if r.query else "") for r in recorder.requests]


def basic(state: JenkinsState) -> str:
    """The Authorization header the adapter must send."""
    return "Basic " + base64.b64encode(f"{state.username}:{state.api_token}".encode()).decode()
