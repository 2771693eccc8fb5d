"""Report parsing (bounded, DTD-free), report discovery, workspace cleanup and the mirror lock."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from timbel.pipelines.engines import reports
from timbel.pipelines.engines.mirror import CheckoutError, mirror_lock, scheme_of
from timbel.pipelines.engines.reports import (
    ReportError,
    ReportScanner,
    cobertura_percent,
    istanbul_percent,
    junit_summary,
)
from timbel.pipelines.engines.workspace import (
    Workspace,
    WorkspaceError,
    cleanup_workspaces,
    hold,
    workspace_for,
)

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="s">
<testcase classname="pkg.A" name="ok"/>
<testcase classname="pkg.A" name="boom"><failure message="expected 1, got 2">trace</failure></testcase>
<testcase classname="pkg.B" name="err"><error>NullPointer\nat line 3</error></testcase>
<testcase classname="pkg.B" name="later"><skipped/></testcase>
<testcase classname="pkg.C" name="한글 테스트"><failure message="실패했습니다"/></testcase>
</testsuite></testsuites>"""


def test_junit_summary_counts_and_lists_failed_cases(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT, encoding="utf-8")
    summary = junit_summary([path])
    assert {k: summary[k] for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": 5, "failures": 2, "errors": 1, "skipped": 1,
    }  # fmt: skip
    assert summary["cases"] == [
        {"class": "pkg.A", "name": "boom", "message": "expected 1, got 2"},
        {"class": "pkg.B", "name": "err", "message": "NullPointer"},
        {"class": "pkg.C", "name": "한글 테스트", "message": "실패했습니다"},
    ]


def test_unsafe_or_oversized_xml_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "junit-bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><testsuite>&a;</testsuite>')
    with pytest.raises(ReportError, match="DOCTYPE or ENTITY"):
        junit_summary([bomb])
    utf16 = tmp_path / "junit-16.xml"
    utf16.write_bytes("<testsuite/>".encode("utf-16"))
    with pytest.raises(ReportError, match="not UTF-8"):
        junit_summary([utf16])
    big = tmp_path / "junit-big.xml"
    big.write_text("<testsuite>" + "x" * 200 + "</testsuite>")
    monkeypatch.setattr(reports, "MAX_BYTES", 100)
    with pytest.raises(ReportError, match="larger than"):
        junit_summary([big])


def test_many_failed_cases_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "TEST-many.xml"
    cases = "".join(f'<testcase classname="c" name="t{i}"><failure/></testcase>' for i in range(150))
    path.write_text(f"<testsuite>{cases}</testsuite>")
    summary = junit_summary([path])
    assert summary["failures"] == 150 and len(summary["cases"]) == 100


def test_coverage_formats(tmp_path: Path) -> None:
    cobertura = tmp_path / "coverage.xml"
    cobertura.write_text('<coverage line-rate="0.8333" branch-rate="0"/>')
    assert cobertura_percent(cobertura) == 83.33
    cobertura.write_text("<coverage/>")
    with pytest.raises(ReportError, match="no line-rate"):
        cobertura_percent(cobertura)
    istanbul = tmp_path / "coverage-summary.json"
    istanbul.write_text('{"total": {"lines": {"pct": 71.4}}}')
    assert istanbul_percent(istanbul) == 71.4
    istanbul.write_text('{"total": {}}')
    with pytest.raises(ReportError, match=r"total\.lines\.pct"):
        istanbul_percent(istanbul)


def test_scanner_finds_report_patterns_once_and_skips_vendored_dirs(tmp_path: Path) -> None:
    files = {
        "build/test-results/test/TEST-a.xml": "<testsuite/>",
        "target/surefire-reports/TEST-b.xml": "<testsuite/>",
        "web/junit-web.xml": "<testsuite/>",
        "test-results/results.xml": "<testsuite/>",
        "node_modules/pkg/junit.xml": "<testsuite/>",
        "notes.xml": "<notes/>",
        "coverage.xml": '<coverage line-rate="1"/>',
        "web/coverage/coverage-summary.json": "{}",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    scanner = ReportScanner(tmp_path)
    junit, cobertura, istanbul = scanner.new_files()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in junit) == [
        "build/test-results/test/TEST-a.xml", "target/surefire-reports/TEST-b.xml",
        "test-results/results.xml", "web/junit-web.xml",
    ]  # fmt: skip
    assert [p.name for p in cobertura] == ["coverage.xml"] and len(istanbul) == 1
    assert scanner.new_files() == ([], [], []), "unchanged files are not reported twice"
    (tmp_path / "web/junit-web.xml").write_text("<testsuite><testcase name='x'/></testsuite>")
    assert [p.name for p in scanner.new_files()[0]] == ["junit-web.xml"]


def test_cleanup_keeps_recent_and_live_workspaces(tmp_path: Path) -> None:
    now = time.time()
    for age_hours, name in [(0, "new-1"), (1, "new-2"), (2, "new-3"), (30, "old"), (40, "old-live")]:
        path = tmp_path / name
        (path / "src").mkdir(parents=True)
        os.utime(path, (now - age_hours * 3600, now - age_hours * 3600))
    readonly = tmp_path / "new-3" / "src" / "ro"
    readonly.mkdir()
    (readonly / "f").write_text("x")
    readonly.chmod(0o500)
    live = Workspace(tmp_path / "old-live")
    with hold(live):
        os.utime(live.root, (now - 40 * 3600, now - 40 * 3600))
        removed = cleanup_workspaces(tmp_path, keep_last=2, max_age_hours=24, now=now)
    assert sorted(p.name for p in removed) == ["new-3", "old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new-1", "new-2", "old-live"]
    assert cleanup_workspaces(tmp_path / "missing") == []


def test_workspace_names_and_workdirs_are_checked(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError):
        workspace_for(tmp_path, "../escape")
    workspace = workspace_for(tmp_path, "run-9")
    (workspace.src / "api").mkdir(parents=True)
    assert workspace.workdir("api") == (workspace.src / "api").resolve()
    for bad in ("/etc", "../..", "missing"):
        with pytest.raises(WorkspaceError):
            workspace.workdir(bad)


def test_repository_urls(tmp_path: Path) -> None:
    assert scheme_of("https://github.com/acme/shop.git", allow_local=False) == "https"
    assert scheme_of("git@github.com:acme/shop.git", allow_local=False) == "ssh"
    assert scheme_of(str(tmp_path), allow_local=True) == "file"
    for bad in ("ext::sh -c x", "-u", "ftp://x/y", "file:///x", "https://a b/c"):
        with pytest.raises(CheckoutError):
            scheme_of(bad, allow_local=False)


def test_mirror_lock_is_exclusive_and_stoppable(tmp_path: Path) -> None:
    mirror = tmp_path / "mirrors" / "abc"
    inside = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with mirror_lock(mirror, should_stop=lambda: False):
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(5)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 2

    with (
        pytest.raises(CheckoutError, match="stopped while waiting"),
        mirror_lock(mirror, should_stop=stop, poll=0.01),
    ):
        pass
    release.set()
    thread.join(5)
    with mirror_lock(mirror, should_stop=lambda: True):
        pass  # free again
