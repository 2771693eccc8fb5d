"""Log splitting (whole lines, offsets, UTF-8, stage attribution) and Jenkins stage status mapping."""

from __future__ import annotations

import pytest

from timbel.integrations.base import StageInfo
from timbel.pipelines.engine_base import RunState, StageKind
from timbel.pipelines.engines.jenkins_log import MAX_PARTIAL_LINE, LogSplitter
from timbel.pipelines.engines.jenkins_script import plan
from timbel.pipelines.engines.jenkins_stages import StageTracker

from .conftest import Events, run_spec, stages

LOG = (
    "Started by user Timbel Bot\n[Pipeline] stage\n[Pipeline] { (Test)\n[Pipeline] retry\n[Pipeline] {\n"
    "+ pytest -q\n테스트 통과 ✓\n[Pipeline] }\n[Pipeline] // retry\n[Pipeline] }\n[Pipeline] // stage\n"
    "[Pipeline] { (Other)\nnot ours\n[Pipeline] }\nFinished: SUCCESS"
).encode()


def read_in_chunks(splitter: LogSplitter, data: bytes, size: int) -> list[tuple[str, int | None]]:
    """Read ``data`` as Jenkins serves it: from the splitter's offset, ``size`` new bytes at a time."""
    pieces: list[tuple[str, int | None]] = []
    available = 0
    while available < len(data):
        available = min(len(data), available + size)
        chunk = data[splitter.offset : available]
        pieces += splitter.feed(chunk, start=splitter.offset, next_start=available)
    return pieces + splitter.flush()


class TestLogSplitter:
    @pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(LOG)])
    def test_any_chunking_gives_the_same_lines(self, size: int) -> None:
        splitter = LogSplitter({"Test": 1})
        pieces = read_in_chunks(splitter, LOG, size)

        assert "".join(text for text, _ in pieces) == LOG.decode() + "\n"
        assert all(text.endswith("\n") for text, _ in pieces)
        assert splitter.offset == len(LOG)
        in_test = "".join(text for text, index in pieces if index == 1)
        assert in_test.startswith("[Pipeline] { (Test)\n") and in_test.endswith(
            "[Pipeline] // retry\n[Pipeline] }\n"
        )
        assert "테스트 통과 ✓\n" in in_test and "not ours" not in in_test

    def test_offset_stops_before_an_unfinished_line(self) -> None:
        splitter = LogSplitter({})
        assert splitter.feed("한 줄\n반".encode()[:-1], start=10, next_start=99) == [("한 줄\n", None)]
        assert splitter.offset == 10 + len("한 줄\n".encode())

    def test_resumes_inside_a_stage(self) -> None:
        splitter = LogSplitter({"Test": 1}, stage=1, depth=2)
        assert splitter.feed(b"x\n[Pipeline] }\n[Pipeline] }\ny\n", start=0, next_start=0) == [
            ("x\n[Pipeline] }\n[Pipeline] }\n", 1), ("y\n", None),
        ]  # fmt: skip

    def test_a_huge_line_without_newline_is_passed_on(self) -> None:
        splitter = LogSplitter({})
        data = b"#" * (MAX_PARTIAL_LINE + 1)
        assert splitter.feed(data, start=0, next_start=len(data)) == [("#" * len(data), None)]
        assert splitter.offset == len(data)


class TestStageTracker:
    def make(self, reported: dict[str, str] | None = None) -> tuple[StageTracker, Events]:
        spec = run_spec(*stages(
            ("Checkout", StageKind.checkout, None), ("Image", StageKind.image, None),
            ("Test", StageKind.test, "t"), ("Lint", StageKind.test, "l"), ("Deploy", StageKind.custom, "d"),
        ))  # fmt: skip
        events = Events()
        return StageTracker(plan(spec), events, reported or {}), events

    def test_statuses_map_to_stage_states_once(self) -> None:
        tracker, events = self.make()
        tracker.update([StageInfo("Checkout", "IN_PROGRESS")])
        tracker.update([StageInfo("Checkout", "SUCCESS"), StageInfo("Test", "IN_PROGRESS")])
        tracker.update([
            StageInfo("Declarative: Post Actions", "SUCCESS"), StageInfo("Checkout", "SUCCESS"),
            StageInfo("Test", "UNSTABLE"), StageInfo("Lint", "FAILED"), StageInfo("Deploy", "NOT_EXECUTED"),
        ])  # fmt: skip

        assert events.calls == [
            ("started", 0), ("finished", 0, "succeeded", ""),
            ("finished", 1, "skipped", "not configured for Jenkins"),
            ("started", 2), ("finished", 2, "failed", "unstable"),
            ("started", 3), ("finished", 3, "failed", "failed in Jenkins"),
            ("finished", 4, "skipped", "not executed in Jenkins"),
        ]  # fmt: skip
        assert tracker.first_failed() == "Test"

    def test_already_reported_stages_are_not_reported_again(self) -> None:
        tracker, events = self.make({"0": "succeeded", "1": "skipped", "2": "running"})
        tracker.update([StageInfo("Checkout", "SUCCESS"), StageInfo("Test", "ABORTED")])
        tracker.finish(RunState.cancelled, "cancelled")

        assert events.calls == [
            ("finished", 2, "cancelled", "aborted in Jenkins"),
            ("finished", 3, "cancelled", "cancelled"), ("finished", 4, "cancelled", "cancelled"),
        ]  # fmt: skip

    @pytest.mark.parametrize(
        ("run", "running", "pending"),
        [
            (RunState.succeeded, "succeeded", "succeeded"),
            (RunState.failed, "failed", "skipped"),
            (RunState.timed_out, "failed", "cancelled"),
            (RunState.cancelled, "cancelled", "cancelled"),
        ],
    )
    def test_finish_closes_open_stages(self, run: RunState, running: str, pending: str) -> None:
        tracker, events = self.make({"0": "succeeded", "1": "skipped"})
        tracker.update([StageInfo("Test", "IN_PROGRESS")])
        tracker.finish(run, "why")

        assert events.states() == {2: running, 3: pending, 4: pending}
        assert tracker.reported() == {
            "0": "succeeded",
            "1": "skipped",
            "2": running,
            "3": pending,
            "4": pending,
        }
