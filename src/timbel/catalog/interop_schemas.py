"""API shapes of the Backstage import: counts per kind, warnings, problems."""

from __future__ import annotations

from pydantic import BaseModel, Field

# The kinds an import writes, in the order results are shown.
WRITTEN_KINDS = ("Domain", "System", "Component", "API", "Resource", "Relation")


class KindCounts(BaseModel):
    """How many entities of one kind an import created, updated or left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportNotice(BaseModel):
    """A remark about one document (1-based position) that did not stop the import."""

    document: int
    kind: str
    name: str
    reason: str


class ImportResult(BaseModel):
    """What an import did."""

    entities: int = Field(description="Entities read from the file (Group and User included).")
    counts: dict[str, KindCounts]
    owners_resolved: int = Field(description="Owner references that matched a Timbel user.")
    warnings: list[ImportNotice]
