"""File-based discovery: atomic writes, validation, and a real Prometheus picking targets up live."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.servers import pid_alive
from tests.servers.prometheus import PrometheusServer
from timbel.integrations.prometheus.adapter import PrometheusAdapter, Target
from timbel.integrations.prometheus.file_sd import read_file_sd, write_file_sd

from .conftest import ExpositionServer

PICKUP_WAIT = 20.0


class TestWriteFileSd:
    def test_writes_the_documented_json_readable_by_others(self, tmp_path: Path) -> None:
        path = write_file_sd(
            tmp_path / "sd" / "services.json",
            [{"targets": ["10.0.0.5:8080", "api.internal:9100"], "labels": {"service": "주문-api"}}],
        )
        assert json.loads(path.read_text(encoding="utf-8")) == [
            {"targets": ["10.0.0.5:8080", "api.internal:9100"], "labels": {"service": "주문-api"}}
        ]
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert sorted(p.name for p in path.parent.iterdir()) == ["services.json"]
        assert read_file_sd(path) == [
            {"targets": ["10.0.0.5:8080", "api.internal:9100"], "labels": {"service": "주문-api"}}
        ]
        assert read_file_sd(tmp_path / "absent.json") == []

    @pytest.mark.parametrize(
        ("groups", "message"),
        [
            ([{"targets": "a:1", "labels": {}}], "list of host:port"),
            ([{"targets": ["a b:1"], "labels": {}}], "not a host"),
            ([{"targets": ["http://a:1/x"], "labels": {}}], "not a host"),
            ([{"targets": ["a:1"], "labels": {"bad-name": "x"}}], "label name"),
            ([{"targets": ["a:1"], "labels": {"ok": 1}}], "must be a string"),
            ([{"targets": ["a:1"], "extra": 1}], "unknown keys"),
        ],
    )
    def test_refuses_invalid_groups_and_keeps_the_old_file(
        self, tmp_path: Path, groups: list[dict[str, object]], message: str
    ) -> None:
        path = write_file_sd(tmp_path / "sd.json", [{"targets": ["old:1"], "labels": {}}])
        with pytest.raises(ValueError, match=message):
            write_file_sd(path, groups)
        assert read_file_sd(path) == [{"targets": ["old:1"], "labels": {}}]
        assert [p.name for p in tmp_path.iterdir()] == ["sd.json"]

    def test_a_failed_rename_leaves_the_old_file_and_no_temp(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write_file_sd(tmp_path / "sd.json", [{"targets": ["old:1"], "labels": {}}])

        def broken_replace(src: str, dst: str) -> None:
            raise OSError("disk full")

        monkeypatch.setattr("timbel.integrations.prometheus.file_sd.os.replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            write_file_sd(path, [{"targets": ["new:1"], "labels": {}}])
        assert read_file_sd(path) == [{"targets": ["old:1"], "labels": {}}]
        assert [p.name for p in tmp_path.iterdir()] == ["sd.json"]

    def test_a_concurrent_reader_only_ever_sees_complete_files(self, tmp_path: Path) -> None:
        path = write_file_sd(tmp_path / "sd.json", [])
        stop, seen, errors = threading.Event(), set(), []

        def reader() -> None:
            while not stop.is_set():
                try:
                    seen.add(len(json.loads(path.read_text(encoding="utf-8"))))
                except ValueError as exc:
                    errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for count in range(1, 150):
                write_file_sd(path, [{"targets": [f"h{i}:80" for i in range(50)], "labels": {}}] * count)
        finally:
            stop.set()
            thread.join()
        assert errors == []
        assert len(seen) > 1


class TestPrometheusPicksUpTargets:
    def test_new_and_changed_targets_appear_without_a_restart(
        self,
        adapter: PrometheusAdapter,
        prometheus: PrometheusServer,
        exposition: ExpositionServer,
        sd_dir: Path,
    ) -> None:
        pid = prometheus.pid
        path = sd_dir / "timbel-services.json"
        write_file_sd(
            path, [{"targets": [exposition.address], "labels": {"service": "주문-api", "env": "stg"}}]
        )
        first = _wait_for_target(
            adapter, lambda t: t.labels.get("service") == "주문-api" and t.health == "up"
        )
        assert first.scrape_pool == "file-sd"
        assert first.labels["env"] == "stg"
        assert first.labels["instance"] == exposition.address
        assert first.scrape_url == f"http://{exposition.address}/metrics"

        write_file_sd(
            path, [{"targets": [exposition.address], "labels": {"service": "결제-api", "env": "prod"}}]
        )
        second = _wait_for_target(adapter, lambda t: t.labels.get("service") == "결제-api")
        assert second.labels["env"] == "prod"
        # Prometheus' discovery manager batches updates (about every 5 s), so each change costs that much.
        _wait_until(lambda: not any(t.labels.get("service") == "주문-api" for t in adapter.targets()))
        assert prometheus.pid == pid and pid_alive(pid)
        assert not any(name.endswith(".tmp") for name in os.listdir(sd_dir))


def _wait_for_target(adapter: PrometheusAdapter, predicate: object) -> Target:
    """Poll ``/api/v1/targets`` until a target matches."""
    assert callable(predicate)
    deadline = time.monotonic() + PICKUP_WAIT
    while True:
        matching = [t for t in adapter.targets() if predicate(t)]
        if matching:
            return matching[0]
        assert time.monotonic() < deadline, f"target never appeared: {adapter.targets()}"
        time.sleep(0.1)


def _wait_until(condition: object) -> None:
    """Poll ``condition`` until true or fail after the pick-up wait."""
    assert callable(condition)
    deadline = time.monotonic() + PICKUP_WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.1)
