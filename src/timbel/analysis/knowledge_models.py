"""Items of the report's ``knowledge`` section, shaped to map onto catalog items."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

NAME_LIMIT = 200  # the catalog's component name length
TITLE_LIMIT = 300  # the catalog's document and design asset title length


def _cut(value: object, limit: int) -> object:
    """Cut an over-long string to `limit` characters (ellipsis included) so it fits the catalog."""
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


ComponentKind = Literal["ui", "api", "library", "service", "utility", "data", "other"]
DocumentKind = Literal["api-guide", "manual", "technical", "adr", "readme", "other"]
DesignKind = Literal["image", "figma-link", "style", "icon", "mockup", "other"]


class ComponentItem(BaseModel):
    """A reusable code unit: a UI component, a module/package or a public class."""

    name: str
    kind: ComponentKind
    language: str
    framework: str | None = None
    path: str
    description: str = ""
    members: list[str] = Field(default_factory=list)
    props: list[str] = Field(default_factory=list)
    references: int = 0
    tested: bool = False
    reuse_score: int = 0

    @field_validator("name", mode="before")
    @classmethod
    def _fit_name(cls, value: object) -> object:
        """Keep the name within the catalog's limit."""
        return _cut(value, NAME_LIMIT)


class ApiItem(BaseModel):
    """A machine-readable API definition (catalog component kind ``api``)."""

    name: str
    kind: Literal["api"] = "api"
    format: Literal["openapi", "swagger", "asyncapi", "graphql", "protobuf"]
    language: str
    path: str
    version: str | None = None
    spec_version: str | None = None
    description: str = ""
    endpoint_count: int = 0
    reuse_score: int = 0

    @field_validator("name", mode="before")
    @classmethod
    def _fit_name(cls, value: object) -> object:
        """Keep the name within the catalog's limit."""
        return _cut(value, NAME_LIMIT)


class DocumentItem(BaseModel):
    """A document: README, docs page, ADR, changelog or contributing guide."""

    title: str
    kind: DocumentKind
    format: Literal["markdown", "rst", "asciidoc", "text"]
    path: str
    size: int
    summary: str = ""
    reuse_score: int = 0

    @field_validator("title", mode="before")
    @classmethod
    def _fit_title(cls, value: object) -> object:
        """Keep the title within the catalog's limit."""
        return _cut(value, TITLE_LIMIT)


class DesignAssetItem(BaseModel):
    """A design asset: image, icon, mockup, Figma link, Storybook story or style/theme file."""

    title: str
    kind: DesignKind
    format: str
    path: str
    size: int = 0
    url: str | None = None
    description: str = ""
    reuse_score: int = 0

    @field_validator("title", mode="before")
    @classmethod
    def _fit_title(cls, value: object) -> object:
        """Keep the title within the catalog's limit."""
        return _cut(value, TITLE_LIMIT)
