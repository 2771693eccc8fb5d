"""Find design assets: images in asset folders, Figma links, Storybook stories and theme/style files.

Reuse score of a design asset (0–100): a kind base (style, Figma link and Storybook story 40, icon
35, mockup 30, image 25), +15 for a scalable format (SVG) or a structured one (tokens JSON, theme
code), +20 for a size of 200 B–500 KiB (10 up to 2 MiB), +15 when it sits in a shared design
folder (assets, design, icons, tokens, theme, styles) and +10 for a descriptive (non-numeric) name.
"""

from __future__ import annotations

import re
from pathlib import Path

from timbel.analysis.files import FileKind, RepoFile
from timbel.analysis.knowledge_models import DesignAssetItem, DesignKind
from timbel.analysis.knowledge_read import is_excluded, is_test_path, read_text, size_points

IMAGE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "svg", "webp", "gif"})
ASSET_FOLDERS = frozenset({"assets", "static", "public", "images", "img", "design", "icons", "icon", "media"})
_SHARED = frozenset({"assets", "design", "icons", "icon", "tokens", "theme", "themes", "styles"})
_MOCKUP = re.compile(r"mock-?ups?|wireframes?|screens?hots?|designs?", re.IGNORECASE)
_ICON = re.compile(r"icon|favicon|logo", re.IGNORECASE)
_FIGMA = re.compile(r"https://(?:www\.)?figma\.com/(?:file|design|proto)/[A-Za-z0-9]+[^\s)>\]\"'`]*")
_STORY = re.compile(r"\.stories\.(?:js|jsx|ts|tsx|mdx|svelte|vue)$")
_STYLE_NAME = re.compile(
    r"^(?:tailwind\.config\.[cm]?[jt]s|theme\.(?:[cm]?[jt]s|json|css|scss|less)|"
    r"(?:design[-_]?)?tokens(?:\.[\w-]+)?\.json|[\w-]+\.tokens\.json|_?(?:variables|vars|colors|typography)\.(?:scss|sass|less|css))$",
    re.IGNORECASE,
)
_SCSS_VARIABLE = re.compile(r"^[ \t]*\$[\w-]+[ \t]*:", re.MULTILINE)
_BASE: dict[DesignKind, int] = {
    "style": 40,
    "figma-link": 40,
    "icon": 35,
    "mockup": 30,
    "image": 25,
    "other": 40,
}
SMALL_ICON_BYTES = 4096


def find_design_assets(root: Path, files: list[RepoFile], markdown: dict[str, str]) -> list[DesignAssetItem]:
    """Return design assets; `markdown` maps document paths to their text (searched for Figma links)."""
    assets: list[DesignAssetItem] = []
    for item in files:
        if item.kind is not FileKind.FILE or is_excluded(item.path):
            continue
        asset = _classify(root, item)
        if asset is not None:
            assets.append(asset)
    seen: set[str] = set()
    for path in sorted(markdown):
        for url in _FIGMA.findall(markdown[path]):
            if url not in seen:
                seen.add(url)
                assets.append(
                    DesignAssetItem(
                        title=_figma_name(url),
                        kind="figma-link",
                        format="figma",
                        path=path,
                        url=url,
                        description=f"Figma link in {path}",
                    )
                )
    for asset in assets:
        asset.reuse_score = _score(asset)
    return assets


def _classify(root: Path, item: RepoFile) -> DesignAssetItem | None:
    """Classify one file as a design asset, or return None."""
    path = item.path
    name = path.rpartition("/")[2]
    stem, _, extension = name.rpartition(".")
    extension = extension.lower()
    folders = {part.lower() for part in path.split("/")[:-1]}
    if _STORY.search(name):
        return DesignAssetItem(
            title=name.split(".stories.")[0],
            kind="other",
            format="storybook",
            path=path,
            size=item.size,
            description="Storybook stories",
        )
    if _STYLE_NAME.match(name) or (extension in {"scss", "sass"} and _has_variables(root, item)):
        return DesignAssetItem(title=stem, kind="style", format=extension, path=path, size=item.size)
    if extension in {"json"} and folders & {"tokens", "design-tokens"}:
        return DesignAssetItem(title=stem, kind="style", format="tokens", path=path, size=item.size)
    if extension not in IMAGE_EXTENSIONS or not folders & (ASSET_FOLDERS | _SHARED) or is_test_path(path):
        return None
    kind: DesignKind = "image"
    if (
        folders & {"icons", "icon"}
        or _ICON.search(stem)
        or (0 < item.size <= SMALL_ICON_BYTES and extension == "svg")
    ):
        kind = "icon"
    elif folders & {"design", "mockups", "mockup", "wireframes"} or _MOCKUP.search(stem):
        kind = "mockup"
    return DesignAssetItem(title=stem, kind=kind, format=extension, path=path, size=item.size)


def _has_variables(root: Path, item: RepoFile) -> bool:
    """Say whether a Sass file defines at least five variables (a variables/tokens file)."""
    text = read_text(root, item, 64 * 1024)
    return text is not None and len(_SCSS_VARIABLE.findall(text)) >= 5


def _figma_name(url: str) -> str:
    """Name a Figma link after the file title in its URL, else its key."""
    parts = url.split("?")[0].rstrip("/").split("/")
    return parts[5].replace("-", " ") if len(parts) > 5 and parts[5] else parts[4]


def _score(asset: DesignAssetItem) -> int:
    """Apply the documented design asset score."""
    folders = {part.lower() for part in asset.path.split("/")[:-1]}
    structured = asset.format in {"svg", "tokens", "json", "js", "ts", "cjs", "mjs", "scss", "sass"}
    sized = (
        20
        if asset.kind == "figma-link"
        else size_points(asset.size, (200, 500 * 1024), (1, 2 * 1024 * 1024), 20)
    )
    descriptive = not re.fullmatch(r"[\d_\-. ]*|img|image\d*|untitled.*", asset.title, re.IGNORECASE)
    return min(
        100,
        _BASE[asset.kind]
        + (15 if structured else 0)
        + sized
        + (15 if folders & _SHARED or asset.kind == "figma-link" else 0)
        + (10 if descriptive else 0),
    )
