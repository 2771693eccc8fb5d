"""Assemble the full ``timbel.analysis/v1`` report for a local tree or a guarded, shallow-cloned URL.

Why: one entry point for the CLI, the API job and the wizard. The tree is listed once
(``files.list_files``) and the listing is handed to every phase; each phase is timed and reported
through ``on_progress`` so a long run can show live progress.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from timbel.analysis import delivery as delivery_mod
from timbel.analysis import gitstats, knowledge, languages, readiness, services
from timbel.analysis.clone import CloneLimits, CredentialLookup, NoCredentials, shallow_clone
from timbel.analysis.files import list_files, scan_paths
from timbel.analysis.schema import AnalysisReport, LanguageEntry, SourceInfo, Stats
from timbel.analysis.url_guard import AllowList, Resolver, SystemResolver, check_repo_url

ProgressCallback = Callable[[str, int, int], None]
PHASES = ("files", "languages", "services", "delivery", "knowledge", "readiness", "git")


def _no_progress(phase: str, done: int, total: int) -> None:
    """Ignore progress."""


def analyze_path(
    root: Path, *, source: SourceInfo, on_progress: ProgressCallback | None = None
) -> AnalysisReport:
    """Analyse the tree at ``root`` (nothing in it is executed); fill ``source.commit``/``ref`` from git."""
    progress = on_progress or _no_progress
    root = root.resolve()
    elapsed: dict[str, int] = {}
    started = clock = time.perf_counter()

    def done(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        elapsed[phase] = round((now - clock) * 1000)
        clock = now
        progress(phase, PHASES.index(phase) + 1, len(PHASES))

    progress("files", 0, len(PHASES))
    # git runs as child processes: start them now so they overlap the parsing phases.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis-git") as pool:
        pending_git = pool.submit(_git_facts, root, source)
        report = _analyse(root, source, done, pending_git)
    elapsed["total"] = round((time.perf_counter() - started) * 1000)
    report.stats.elapsed_ms = elapsed
    return report


def _git_facts(root: Path, source: SourceInfo) -> tuple[gitstats.GitStats, str | None, str | None]:
    """Git metrics, commit and ref of the tree (the commit and ref given in ``source`` win)."""
    git = gitstats.git_stats(root)
    commit = source.commit or gitstats.head_commit(root)
    ref = source.ref or (gitstats.current_branch(root) if commit else None)
    return git, commit, ref


def _analyse(
    root: Path,
    source: SourceInfo,
    done: Callable[[str], None],
    pending_git: Future[tuple[gitstats.GitStats, str | None, str | None]],
) -> AnalysisReport:
    files = list_files(root)
    paths = scan_paths(files)
    done("files")
    langs = [LanguageEntry(name=s.name, bytes=s.bytes, files=s.files, share=s.share)
             for s in languages.language_breakdown(root, files)]  # fmt: skip
    done("languages")
    scan = services.scan_services(root, files=paths)
    done("services")
    delivery = delivery_mod.detect_delivery(root, files=paths)
    done("delivery")
    extracted = knowledge.extract_knowledge(root, files)
    done("knowledge")
    ready = readiness.assess_readiness(root, paths, scan.services, delivery)
    done("readiness")
    git, commit, ref = pending_git.result()
    done("git")
    return AnalysisReport(
        source=source.model_copy(update={"commit": commit, "ref": ref}),
        languages=langs,
        services=scan.services,
        libraries=scan.libraries,
        delivery=delivery,
        readiness=ready,
        knowledge=extracted,
        git=git,
        stats=Stats(files=len(files), bytes=sum(f.size for f in files)),
        problems=scan.problems,
    )


def analyze_url(
    url: str,
    *,
    ref: str | None = None,
    allow: AllowList | None = None,
    resolver: Resolver | None = None,
    credentials: CredentialLookup | None = None,
    limits: CloneLimits | None = None,
    on_progress: ProgressCallback | None = None,
    dest_parent: Path | None = None,
    inspect: Callable[[Path, AnalysisReport], None] | None = None,
) -> AnalysisReport:
    """Check ``url`` (UnsafeRepositoryUrl if refused), shallow-clone, analyse, always remove the clone.

    ``inspect(tree, report)`` runs before the clone is removed (e.g. to keep document texts).
    """
    checked = check_repo_url(url, resolver=resolver or SystemResolver(), allow=allow or AllowList())
    progress = on_progress or _no_progress
    progress("clone", 0, 1)
    started = time.perf_counter()
    with shallow_clone(
        checked,
        ref=ref,
        dest_parent=dest_parent or Path(tempfile.gettempdir()),
        limits=limits or CloneLimits(),
        credentials=credentials or NoCredentials(),
    ) as cloned:
        clone_ms = round((time.perf_counter() - started) * 1000)
        progress("clone", 1, 1)
        report = analyze_path(
            cloned.path,
            source=SourceInfo(url=checked.url, path=None, ref=cloned.ref, commit=cloned.commit),
            on_progress=on_progress,
        )
        if inspect is not None:
            inspect(cloned.path, report)
    report.stats.elapsed_ms = {"clone": clone_ms, **report.stats.elapsed_ms}
    report.stats.elapsed_ms["total"] += clone_ms
    return report
