"""A fake Jenkins on loopback, a Jenkins engine on it (fake clock: sleeps advance time, never wait), and a
recording ``RunEvents`` stub."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import SecretStr

from tests.fakes.jenkins import JenkinsState, create_app
from tests.fakes.server import RunningFake, serve
from timbel.integrations.jenkins import JenkinsAdapter, JenkinsConfig
from timbel.pipelines.engine_base import RunSpec, StageKind, StageSpec, StageState
from timbel.pipelines.engines.jenkins import JenkinsEngine

JOB = "timbel/shop"


class WorkerDied(Exception):
    """Raised from a heartbeat to play a worker killed mid-run."""


@dataclass
class Clock:
    """Wall time that moves only when the engine sleeps."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Events:
    """Records every call an engine makes; ``on_poll`` runs at each ``cancel_requested`` (once per poll)."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    logs: list[tuple[str, int | None]] = field(default_factory=list)
    refs: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    cancel: bool = False
    on_poll: Callable[[int], None] | None = None
    die_after_heartbeats: int | None = None
    polls: int = 0
    heartbeats: int = 0

    def stage_started(self, index: int) -> None:
        self.calls.append(("started", index))

    def stage_finished(
        self, index: int, *, state: StageState, exit_code: int | None = None, reason: str = ""
    ) -> None:
        self.calls.append(("finished", index, state.value, reason))

    def log(self, text: str, *, stage_index: int | None = None) -> None:
        assert text.endswith("\n"), f"not whole lines: {text!r}"
        self.logs.append((text, stage_index))

    def artifact(self, kind: str, data: Mapping[str, Any]) -> None:
        self.artifacts.append((kind, dict(data)))

    def heartbeat(self) -> None:
        self.heartbeats += 1
        if self.die_after_heartbeats is not None and self.heartbeats > self.die_after_heartbeats:
            raise WorkerDied

    def cancel_requested(self) -> bool:
        self.polls += 1
        if self.on_poll is not None:
            self.on_poll(self.polls)
        return self.cancel

    def set_engine_ref(self, ref: Mapping[str, Any]) -> None:
        self.refs.append(dict(ref))

    @property
    def text(self) -> str:
        """Everything logged, in order."""
        return "".join(text for text, _ in self.logs)

    def states(self) -> dict[int, str]:
        """The final state reported per stage index."""
        return {call[1]: call[2] for call in self.calls if call[0] == "finished"}


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[RunningFake, list[JenkinsState]]]:
    box = [JenkinsState()]
    with serve(create_app(lambda: box[0])) as running:
        yield running, box


@pytest.fixture
def state(_served: tuple[RunningFake, list[JenkinsState]]) -> JenkinsState:
    """A fresh fake state whose jobs take their stages from the uploaded script."""
    _served[1][0] = JenkinsState(stages_from_script=True)
    return _served[1][0]


@pytest.fixture
def fake(_served: tuple[RunningFake, list[JenkinsState]], state: JenkinsState) -> RunningFake:
    """The running fake, its recorder emptied."""
    _served[0].recorder.clear()
    return _served[0]


@pytest.fixture
def clock() -> Clock:
    """The engine's clock and sleep."""
    return Clock()


@pytest.fixture
def make_engine(
    fake: RunningFake, state: JenkinsState, clock: Clock
) -> Iterator[Callable[[], JenkinsEngine]]:
    """New engines (each with its own adapter, as a restarted worker would have) on the fake."""
    adapters: list[JenkinsAdapter] = []

    def build() -> JenkinsEngine:
        config = JenkinsConfig(
            name="ci-test", base_url=fake.base_url, username=state.username,
            api_token=SecretStr(state.api_token), backoff_seconds=0.0, retries=0,
        )  # fmt: skip
        adapter = JenkinsAdapter(config, sleep=lambda _: None)
        adapters.append(adapter)
        return JenkinsEngine(adapter, sleep=clock.sleep, clock=clock)

    yield build
    for adapter in adapters:
        adapter.close()


def stages(*items: tuple[str, StageKind, str | None], **options: Any) -> tuple[StageSpec, ...]:
    """StageSpecs numbered in order."""
    return tuple(
        StageSpec(index=i, name=n, kind=k, command=c, **options) for i, (n, k, c) in enumerate(items)
    )


def run_spec(*specs: StageSpec, **options: Any) -> RunSpec:
    """A run of system ``shop`` (default stages: checkout, test, image without command, build)."""
    chosen = specs or stages(
        ("Checkout", StageKind.checkout, None),
        ("Test", StageKind.test, "python3 -m pytest -q"),
        ("Image", StageKind.image, None),
        ("Package", StageKind.build, "make dist"),
    )
    data: dict[str, Any] = {
        "run_id": "run-1", "number": 3, "system_slug": "shop", "repo_url": "https://git.example/shop.git",
        "ref": "main", "commit": None, "stages": chosen, **options,
    }  # fmt: skip
    return RunSpec(**data)
