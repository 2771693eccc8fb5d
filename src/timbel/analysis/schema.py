"""The complete ``timbel.analysis/v1`` report as one pydantic model (what `timbel analyze` prints)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from timbel.analysis.gitstats import GitStats
from timbel.analysis.knowledge import Knowledge
from timbel.analysis.readiness import Readiness
from timbel.analysis.report import Delivery, Library, Problem, Service

SCHEMA: Literal["timbel.analysis/v1"] = "timbel.analysis/v1"


class SourceInfo(BaseModel):
    """Where the analysed tree came from: clone URL (or None), local path (or None), ref and commit SHA."""

    url: str | None = None
    path: str | None = None
    ref: str | None = None
    commit: str | None = None


class LanguageEntry(BaseModel):
    """One language's part of the repository (linguist names; shares sum to 1)."""

    name: str
    bytes: int
    files: int
    share: float


class Stats(BaseModel):
    """Files and bytes scanned, and elapsed milliseconds per phase (plus ``total``)."""

    files: int = 0
    bytes: int = 0
    elapsed_ms: dict[str, int] = Field(default_factory=dict)


class AnalysisReport(BaseModel):
    """The report; ``problems`` lists unreadable manifests (broken JSON/TOML/XML) met by the service scan."""

    schema_: Literal["timbel.analysis/v1"] = Field(default=SCHEMA, alias="schema")
    source: SourceInfo
    languages: list[LanguageEntry] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    libraries: list[Library] = Field(default_factory=list)
    delivery: Delivery = Field(default_factory=Delivery)
    readiness: Readiness
    knowledge: Knowledge = Field(default_factory=Knowledge)
    git: GitStats = Field(default_factory=GitStats)
    stats: Stats = Field(default_factory=Stats)
    problems: list[Problem] = Field(default_factory=list)

    model_config = ConfigDict(populate_by_name=True)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialise with the public key names (``schema``, not ``schema_``)."""
        return self.model_dump_json(by_alias=True, indent=indent)
