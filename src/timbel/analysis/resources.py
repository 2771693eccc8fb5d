"""Suggest Kubernetes requests, limits and replicas for a detected service from a documented table.

Why: a first deployment needs numbers, and "whatever the chart default is" is either wasteful (a JVM
default on a Go binary) or fatal (an OOM-killed JVM). The numbers are a starting point the user can
edit, chosen by the runtime's footprint and the size of the service's own source.

Runtime class (by language, then framework):

- ``tiny``: static sites (framework Hugo/Jekyll/MkDocs/static, language HTML) served by nginx.
- ``light``: Go, Rust (native binaries, small resident memory).
- ``medium``: Node.js (JavaScript/TypeScript), Python, PHP, Ruby, .NET (C#/F#), anything unknown.
- ``heavy``: JVM languages (Java, Kotlin, Scala, Groovy, Clojure).

Frameworks known to be heavier than their runtime class (Rails, Django, Next.js, Nuxt, Streamlit) move
one size band up (small → medium → large).

Size band, from the service's own source files (by extension, see `SOURCE_SUFFIXES`): ``small`` below
100 files and 1 MiB, ``medium`` below 1000 files and 10 MiB, ``large`` beyond; the larger of the two
measures wins. Unknown size counts as ``medium``.

| class  | band   | cpu_request | cpu_limit | memory_request | memory_limit |
|--------|--------|-------------|-----------|----------------|--------------|
| tiny   | small  | 10m         | 100m      | 16Mi           | 32Mi         |
| tiny   | medium | 10m         | 100m      | 32Mi           | 64Mi         |
| tiny   | large  | 25m         | 200m      | 64Mi           | 128Mi        |
| light  | small  | 50m         | 250m      | 32Mi           | 128Mi        |
| light  | medium | 100m        | 500m      | 64Mi           | 256Mi        |
| light  | large  | 250m        | 1000m     | 128Mi          | 512Mi        |
| medium | small  | 100m        | 500m      | 128Mi          | 256Mi        |
| medium | medium | 250m        | 1000m     | 256Mi          | 512Mi        |
| medium | large  | 500m        | 2000m     | 512Mi          | 1Gi          |
| heavy  | small  | 250m        | 1000m     | 512Mi          | 768Mi        |
| heavy  | medium | 500m        | 2000m     | 768Mi          | 1Gi          |
| heavy  | large  | 1000m       | 2000m     | 1Gi            | 2Gi          |

Replicas: 2 for ``web``, ``api``, ``grpc`` and ``frontend`` (a rolling update or one lost pod does not
take the service down); 1 for ``worker`` and ``job`` (not every worker is safe to run twice, e.g. a
scheduler). A development environment may scale to 1; that is the deploy step's decision.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from timbel.analysis.report import Resources, Service

RuntimeClass = Literal["tiny", "light", "medium", "heavy"]
SizeBand = Literal["small", "medium", "large"]
BANDS: tuple[SizeBand, ...] = ("small", "medium", "large")

# (cpu_request, cpu_limit, memory_request, memory_limit) by runtime class and size band.
TABLE: dict[RuntimeClass, dict[SizeBand, tuple[str, str, str, str]]] = {
    "tiny": {
        "small": ("10m", "100m", "16Mi", "32Mi"),
        "medium": ("10m", "100m", "32Mi", "64Mi"),
        "large": ("25m", "200m", "64Mi", "128Mi"),
    },
    "light": {
        "small": ("50m", "250m", "32Mi", "128Mi"),
        "medium": ("100m", "500m", "64Mi", "256Mi"),
        "large": ("250m", "1000m", "128Mi", "512Mi"),
    },
    "medium": {
        "small": ("100m", "500m", "128Mi", "256Mi"),
        "medium": ("250m", "1000m", "256Mi", "512Mi"),
        "large": ("500m", "2000m", "512Mi", "1Gi"),
    },
    "heavy": {
        "small": ("250m", "1000m", "512Mi", "768Mi"),
        "medium": ("500m", "2000m", "768Mi", "1Gi"),
        "large": ("1000m", "2000m", "1Gi", "2Gi"),
    },
}
LANGUAGE_CLASS: dict[str, RuntimeClass] = {
    "HTML": "tiny",
    "Go": "light",
    "Rust": "light",
    "Java": "heavy",
    "Kotlin": "heavy",
    "Scala": "heavy",
    "Groovy": "heavy",
    "Clojure": "heavy",
}
STATIC_FRAMEWORKS = frozenset({"static", "Hugo", "Jekyll", "MkDocs"})
HEAVY_FRAMEWORKS = frozenset({"Rails", "Django", "Next.js", "Nuxt", "Streamlit"})
REPLICAS = {"web": 2, "api": 2, "grpc": 2, "frontend": 2, "worker": 1, "job": 1}
SOURCE_SUFFIXES = (
    ".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".vue", ".svelte", ".go", ".rs", ".java", ".kt",
    ".kts", ".scala", ".groovy", ".clj", ".cs", ".fs", ".vb", ".cshtml", ".razor", ".php", ".rb", ".erb",
    ".html", ".htm", ".css", ".scss", ".md",
)  # fmt: skip
SMALL_LIMIT = (100, 1 << 20)  # files, bytes
MEDIUM_LIMIT = (1000, 10 << 20)


@dataclass(frozen=True)
class SourceSize:
    """Count a service's own source files and their bytes."""

    files: int
    bytes: int

    @property
    def band(self) -> SizeBand:
        """Return the size band: the larger of the file-count and byte bands."""
        return size_band(self.files, self.bytes)


def size_band(files: int, nbytes: int) -> SizeBand:
    """Classify a source size as small, medium or large (the larger of the two measures wins)."""
    if files < SMALL_LIMIT[0] and nbytes < SMALL_LIMIT[1]:
        return "small"
    if files < MEDIUM_LIMIT[0] and nbytes < MEDIUM_LIMIT[1]:
        return "medium"
    return "large"


def measure(root: Path, files: Iterable[str]) -> SourceSize:
    """Measure source files (by suffix) with lstat only: nothing is read, symlinks count as zero."""
    count = total = 0
    for rel in files:
        if not rel.endswith(SOURCE_SUFFIXES):
            continue
        try:
            st = os.lstat(root / rel)
        except OSError:
            continue
        count += 1
        total += st.st_size if not os.path.islink(root / rel) else 0
    return SourceSize(files=count, bytes=total)


def runtime_class(service: Service) -> RuntimeClass:
    """Pick the runtime class of a service from its framework and language."""
    if service.framework in STATIC_FRAMEWORKS:
        return "tiny"
    return LANGUAGE_CLASS.get(service.language, "medium")


def estimate(service: Service, size: SourceSize | SizeBand | None = None) -> Resources:
    """Return suggested requests, limits and replicas for a service from the documented table."""
    band: SizeBand = size.band if isinstance(size, SourceSize) else (size or "medium")
    if service.framework in HEAVY_FRAMEWORKS:
        band = BANDS[min(BANDS.index(band) + 1, len(BANDS) - 1)]
    cpu_req, cpu_lim, mem_req, mem_lim = TABLE[runtime_class(service)][band]
    return Resources(
        cpu_request=cpu_req,
        cpu_limit=cpu_lim,
        memory_request=mem_req,
        memory_limit=mem_lim,
        replicas=REPLICAS.get(service.kind, 1),
    )
