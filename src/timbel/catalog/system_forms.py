"""System pages' form handling: labels, form fields ↔ API payloads, and translated field errors."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from starlette.datastructures import FormData

from timbel.catalog.models import System
from timbel.core.errors import AppError
from timbel.web import forms
from timbel.web.forms import FormErrors, text, values
from timbel.web.i18n import N_

STAGE_LABELS = {
    "development": N_("Development"),
    "staging": N_("Staging"),
    "production": N_("Production"),
}
STAGE_BADGES = {"development": "bg-blue-lt", "staging": "bg-yellow-lt", "production": "bg-green-lt"}
SOURCE_LABELS = {"manual": N_("Registered by hand"), "auto": N_("Found by analysis")}
RELATION_LABELS = {
    "depends_on": N_("depends on"),
    "provides_api": N_("provides the API"),
    "consumes_api": N_("consumes the API"),
    "similar_to": N_("is similar to"),
    "part_of": N_("is part of"),
}
TYPE_LABELS = {"system": N_("System"), "component": N_("Component")}
TEXT_FIELDS = (
    "domain_id",
    "name",
    "slug",
    "description",
    "repo_url",
    "default_branch",
    "stage",
    "languages",
    "frameworks",
    "datastores",
    "links",
    "commit_sha",
    "commit_author",
    "commit_at",
    "commit_message",
)
# Service and validation error types of systems, relations and references → message id.
MESSAGES = {
    "system.slug_taken": N_("Another system already uses this slug."),
    "system.slug_invalid": N_(
        "Use 2 to 100 lower-case letters, digits and '-', starting with a letter or digit."
    ),
    "system.repo_url_invalid": N_(
        "Enter an https://, http:// or ssh:// address, git@host:path, or an absolute path on the server."
    ),
    "system.repo_url_credentials": N_("Do not put a password or token in the repository address."),
    "system.branch_invalid": N_("This is not a valid branch name."),
    "system.commit_sha_invalid": N_("A commit id has 7 to 64 hexadecimal characters."),
    "system.link_invalid": N_("Write one link per line as title | https://address."),
    "system.tech_invalid": N_("Use at most 30 names of up to 50 characters, separated by commas."),
    "system.project_other_domain": N_("Choose projects of the system's customer domain."),
    "system.not_found": N_("Choose a system you can see."),
    "project.not_found": N_("Unknown project."),
    "domain.not_found": N_("Unknown domain."),
    "user.unknown": N_("Unknown user."),
    "relation.self": N_("A relation needs two different ends."),
    "relation.exists": N_("This relation already exists."),
    "relation.target_not_api": N_("The target of an API relation must be a component of kind API."),
    "relation.end_not_found": N_("Choose a system or component you can see."),
    "similar_system.exists": N_("This project already refers to that system."),
    "datetime_from_date_parsing": N_("Enter a time like 2025-01-31 09:00."),
    "datetime_parsing": N_("Enter a time like 2025-01-31 09:00."),
}
# Where errors about nested API fields are shown on the form.
FIELD_OF = {"last_commit": "commit_sha", "tech_stack": "languages"}


def field_errors(error: AppError | ValidationError) -> FormErrors:
    """Translate a service error or a validation error into messages next to the form's fields."""
    items = error.errors if isinstance(error, AppError) else error.errors()
    result = FormErrors()
    for item in items:
        parts = [p for p in item.get("loc") or () if isinstance(p, str) and p != "body"]
        name = parts[0] if parts else None
        if name == "tech_stack" and len(parts) > 1:
            name = parts[1]
        elif name == "last_commit" and len(parts) > 1:
            name = "commit_" + parts[1]
        name = FIELD_OF.get(name, name) if name else None
        kind = str(item.get("type", ""))
        result.add(name, MESSAGES.get(kind) or forms.TYPE_MESSAGES.get(kind, forms.INVALID))
    if not result and isinstance(error, AppError):
        return forms.from_app_error(error)
    return result


def submitted(form: FormData) -> dict[str, Any]:
    """Return the form's fields as typed (strings, and lists for the multi-selects)."""
    result: dict[str, Any] = {name: text(form, name, limit=40_000) for name in TEXT_FIELDS}
    result["owner_ids"] = values(form, "owner_ids")[:50]
    result["project_ids"] = values(form, "project_ids")[:100]
    return result


def _names(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _links(raw: str) -> list[dict[str, str]]:
    links = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        title, sep, url = line.partition("|")
        links.append(
            {"title": title.strip(), "url": url.strip()} if sep else {"title": line.strip(), "url": line}
        )
    return links


def payload(form: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Turn form strings into API fields (comma lists, ``title | url`` lines, local commit time)."""
    result: dict[str, Any] = {
        name: form[name] for name in ("domain_id", "name", "slug", "description", "repo_url", "stage")
    }
    result["default_branch"] = form["default_branch"] or "main"
    result["tech_stack"] = {name: _names(form[name]) for name in ("languages", "frameworks", "datastores")}
    result["links"] = _links(form["links"])
    result["owner_ids"] = form["owner_ids"]
    result["project_ids"] = form["project_ids"]
    commit = {k: form[f"commit_{k}"] for k in ("sha", "author", "at", "message")}
    if any(commit.values()):
        if commit["at"]:
            with suppress(ValueError):  # an unreadable time is left for validation to name
                commit["at"] = datetime.fromisoformat(commit["at"]).replace(tzinfo=zone)
        result["last_commit"] = {**commit, "at": commit["at"] or None}
    else:
        result["last_commit"] = None
    return result


def values_of(
    system: System, *, owner_ids: list[str], project_ids: list[str], zone: ZoneInfo
) -> dict[str, Any]:
    """Return a system's fields as the form shows them."""
    return {
        "domain_id": system.domain_id,
        "name": system.name,
        "slug": system.slug,
        "description": system.description,
        "repo_url": system.repo_url,
        "default_branch": system.default_branch,
        "stage": system.stage,
        "languages": ", ".join(system.languages or []),
        "frameworks": ", ".join(system.frameworks or []),
        "datastores": ", ".join(system.datastores or []),
        "links": "\n".join(f"{link['title']} | {link['url']}" for link in system.links or []),
        "commit_sha": system.last_commit_sha or "",
        "commit_author": system.last_commit_author,
        "commit_at": system.last_commit_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        if system.last_commit_at
        else "",
        "commit_message": system.last_commit_message,
        "owner_ids": owner_ids,
        "project_ids": project_ids,
    }


def blank(domain_id: str = "") -> dict[str, Any]:
    """Return the fields of an empty new-system form."""
    result: dict[str, Any] = dict.fromkeys(TEXT_FIELDS, "")
    result.update(
        domain_id=domain_id, stage="development", default_branch="main", owner_ids=[], project_ids=[]
    )
    return result
