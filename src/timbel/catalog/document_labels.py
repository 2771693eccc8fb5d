"""How document kinds, statuses, formats and sort orders are named on pages (message ids)."""

from __future__ import annotations

from timbel.web.i18n import N_

KIND_LABELS = {
    "api-guide": N_("API guide"),
    "manual": N_("Manual"),
    "technical": N_("Technical document"),
    "adr": N_("Architecture decision"),
    "readme": N_("README"),
    "voc": N_("VoC"),
    "requirement": N_("Requirement specification"),
    "design": N_("Design"),
    "other": N_("Other"),
}
# The kinds a project's documents panel offers.
PROJECT_KINDS = ("voc", "requirement", "design")
STATUS_LABELS = {"draft": N_("Draft"), "published": N_("Published")}
FORMAT_LABELS = {"markdown": N_("Markdown"), "pdf": N_("PDF"), "file": N_("File")}
SORT_LABELS = {
    "-updated_at": N_("Recently changed"),
    "title": N_("Title"),
    "kind": N_("Kind"),
    "status": N_("Status"),
    "-created_at": N_("Newest"),
}
