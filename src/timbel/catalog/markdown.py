"""Markdown documents as safe HTML: CommonMark with tables, then an explicit allowlist sanitizer.

Raw HTML inside markdown is parsed (so harmless ``<br>`` or ``<details>`` still work) and then
everything outside the allowlist is removed by nh3 (ammonia): scripts and styles with their
content, event-handler attributes, and any URL that is not http(s), mailto or relative.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
        "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
    "abbr": {"title"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed together with everything inside them (the rest of the disallowed tags keep their text).
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def sanitize(html: str) -> str:
    """Keep only allowlisted tags, attributes and URL schemes; links get ``rel=noopener noreferrer``."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        filter_style_properties={"text-align"},
        strip_comments=True,
    )


def render(text: str) -> Markup:
    """Render markdown to sanitized HTML, safe to place in a page as is."""
    return Markup(sanitize(_parser().render(text or "")))  # noqa: S704 - sanitized by nh3 above
