"""The runner built for real runs refuses repository URLs that point into the server's network (the same guard
as analyses; decided without connecting), runs nothing, and says why; an image builder is used only when
configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipelines.engines.conftest import Recorder, spec, stage
from timbel.core.settings import Settings
from timbel.pipelines.engine_base import RunState, StageKind, StageState
from timbel.pipelines.engines.local import LocalEngine


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/shop.git",
        "https://10.1.2.3/acme/shop.git",
        "https://169.254.169.254/latest/meta-data",
        "file:///etc",
    ],
)
def test_internal_repository_urls_are_refused_before_any_stage(
    settings: Settings, tmp_path: Path, url: str
) -> None:
    engine = LocalEngine.for_run(settings=settings, session_factory=None, pipeline_id="p")
    events = Recorder()
    outcome = engine.execute(
        spec(url, stage(1, "test", StageKind.test, "echo should-not-run")),
        events,
        workspace_root=tmp_path / "ws",
    )
    assert outcome.state is RunState.failed
    assert outcome.reason
    assert events.started == []
    assert {state for state, _, _ in events.finished.values()} == {StageState.skipped}
    assert not (tmp_path / "mirrors").exists()


def test_no_image_builder_unless_configured(settings: Settings) -> None:
    plain = LocalEngine.for_run(settings=settings, session_factory=None, pipeline_id="p")
    assert plain.builder_command() is None
    configured = settings.model_copy(
        update={"pipelines": settings.pipelines.model_copy(update={"image_builder": "sh"})}
    )
    engine = LocalEngine.for_run(settings=configured, session_factory=None, pipeline_id="p")
    assert (engine.builder_command() or "").endswith("/sh")
