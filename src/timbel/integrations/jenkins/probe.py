"""``test_connection`` for Jenkins: reachable, version, who we are, and what we may do in the folder.

Why a POST to ``createItem`` without a name: Jenkins has no API that tells a user its own item permissions,
but ``createItem`` checks ``Item.CREATE`` before anything else and then refuses a request without a
Content-Type (HTTP 400, nothing created). 400 therefore means "may create", 403 "may not".
"""

from __future__ import annotations

from timbel.core.errors import IntegrationError, IntegrationUnavailable
from timbel.integrations.base import Check, ConnectionReport

from .client import JenkinsClient
from .errors import JenkinsNotFound
from .paths import folder_url, split_job


def connection_report(client: JenkinsClient) -> ConnectionReport:
    """Run the checks in order; stop at the first one that makes the rest meaningless."""
    checks: list[Check] = []
    try:
        response = client.raw("GET", "/api/json", params={"tree": "useCrumbs,useSecurity"})
    except IntegrationUnavailable as exc:
        return ConnectionReport(checks=[Check("reachable", False, str(exc))])
    checks.append(Check("reachable", True, f"{client.config.base_url} answered HTTP {response.status_code}"))
    version = response.headers.get("X-Jenkins") or None
    detail = f"Jenkins {version}" if version else "no X-Jenkins header: is this URL a Jenkins?"
    checks.append(Check("version", version is not None, detail))
    try:
        client.check(response, what="the root")
        me = client.get_json("/whoAmI/api/json", what="whoAmI")
    except IntegrationError as exc:
        return ConnectionReport(checks=[*checks, Check("authentication", False, str(exc))], version=version)
    name, expected = str(me.get("name") or ""), client.config.username
    if me.get("anonymous") or name.casefold() != expected.casefold():
        detail = f"{client.label}: authenticated as {name or 'anonymous'}, not as {expected}"
        return ConnectionReport(checks=[*checks, Check("authentication", False, detail)], version=version)
    checks.append(Check("authentication", True, f"authenticated as {name}"))
    checks.extend(_folder_checks(client))
    return ConnectionReport(checks=checks, version=version)


def _folder_checks(client: JenkinsClient) -> list[Check]:
    """May we list jobs in the configured folder (or its deepest existing ancestor) and create items there?"""
    folder = client.config.folder
    names = split_job(folder) if folder else []
    for depth in range(len(names), -1, -1):
        candidate = "/".join(names[:depth])
        label = f"folder '{candidate}'" if candidate else "the root"
        try:
            body = client.get_json(
                f"{folder_url(candidate)}/api/json", params={"tree": "jobs[name]"}, what=label
            )
        except JenkinsNotFound:
            continue
        except IntegrationError as exc:
            return [Check("read jobs", False, str(exc))]
        count = len(body.get("jobs") or [])
        note = "" if candidate == folder else f"; folder '{folder}' does not exist yet (created on first job)"
        return [Check("read jobs", True, f"{count} items in {label}{note}"), _create_check(client, candidate)]
    return [Check("read jobs", False, f"{client.label}: the root is not visible")]  # pragma: no cover


def _create_check(client: JenkinsClient, folder: str) -> Check:
    label = f"folder '{folder}'" if folder else "the root"
    try:
        answer = client.post(f"{folder_url(folder)}/createItem", what=label, ok_statuses=frozenset({400}))
    except IntegrationError as exc:
        return Check("create items", False, str(exc))
    if answer.status_code == 400:
        return Check("create items", True, f"may create items in {label}")
    detail = f"{client.label}: unexpected HTTP {answer.status_code} probing {label}"
    return Check("create items", False, detail)
