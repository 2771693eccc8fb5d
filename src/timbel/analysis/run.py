"""Run one stored analysis's work: clone or read the tree, build the report, keep document texts.

Why separate from the job: the job handles state and transactions; this module only turns
(url | path, ref, settings) into a report plus the texts of the documents it found, which the
catalog registration needs after the clone is gone.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from timbel.analysis import analyzer
from timbel.analysis._fs import read_text
from timbel.analysis.analyzer import ProgressCallback
from timbel.analysis.clone import CloneLimits, CredentialLookup, NoCredentials
from timbel.analysis.schema import AnalysisReport, SourceInfo
from timbel.analysis.url_guard import AllowList, Resolver
from timbel.core.settings import Settings

MAX_TEXTS = 200  # documents whose text is kept for the catalog
MAX_TOTAL_TEXT = 4 * 1024 * 1024


def document_texts(root: Path, report: AnalysisReport, *, max_each: int) -> dict[str, str]:
    """Read the Dockerfiles' and extracted documents' text (bounded per file and in total)."""
    texts: dict[str, str] = {}
    total = 0
    # Dockerfiles too: the delivery step checks an existing one after the clone is gone.
    paths = [
        *report.delivery.dockerfiles[:MAX_TEXTS],
        *(d.path for d in report.knowledge.documents[:MAX_TEXTS]),
    ]
    for path in paths:
        text = read_text(root, path)
        if text is None:
            continue
        text = text[:max_each]
        if total + len(text) > MAX_TOTAL_TEXT:
            break
        texts[path] = text
        total += len(text)
    return texts


def execute(
    *,
    settings: Settings,
    url: str | None,
    path: str | None,
    ref: str | None,
    on_progress: ProgressCallback,
    resolver: Resolver | None = None,
    credentials: CredentialLookup | None = None,
) -> tuple[AnalysisReport, dict[str, str]]:
    """Analyse a URL (guarded, shallow clone) or a server path; return the report and document texts."""
    conf = settings.analysis
    max_each = conf.max_text_bytes
    if path is not None:
        root = Path(path)
        report = analyzer.analyze_path(root, source=SourceInfo(path=str(root)), on_progress=on_progress)
        return report, document_texts(root, report, max_each=max_each)
    assert url is not None
    texts: dict[str, str] = {}

    def keep_texts(root: Path, report: AnalysisReport) -> None:
        texts.update(document_texts(root, report, max_each=max_each))

    report = analyzer.analyze_url(
        url,
        ref=ref,
        allow=AllowList.from_entries(conf.allowed_hosts),
        resolver=resolver,
        credentials=credentials or NoCredentials(),
        limits=CloneLimits(
            timeout_seconds=conf.clone_timeout_seconds,
            max_bytes=conf.max_clone_bytes,
            max_files=conf.max_files,
        ),
        on_progress=on_progress,
        dest_parent=conf.work_dir or Path(tempfile.gettempdir()),
        inspect=keep_texts,
    )
    return report, texts
