"""The Alertmanager adapter: ``base.AlertSink`` (post and list alerts, create and expire silences)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations.base import Check, ConnectionReport, IntegrationKind

from .client import AlertmanagerClient
from .config import AlertmanagerConfig
from .matchers import matcher

ALERT_KEYS = frozenset({"labels", "annotations", "startsAt", "endsAt", "generatorURL"})
MATCHER_KEYS = frozenset({"name", "value", "isRegex", "isEqual"})


class AlertmanagerAdapter:
    """Send alerts to and manage silences of one Alertmanager instance."""

    kind = IntegrationKind.alertmanager

    def __init__(self, config: AlertmanagerConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.client = AlertmanagerClient(config, transport=transport)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()

    def post_alerts(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Send alerts; ``startsAt``/``endsAt`` may be datetimes (naive means UTC)."""
        self.client.post_alerts(alerts=[_alert(index, alert) for index, alert in enumerate(alerts)])

    def alerts(
        self,
        *,
        filters: Mapping[str, str] | None = None,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
    ) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds, optionally only those whose labels equal ``filters``."""
        matchers = [matcher(name, value) for name, value in sorted((filters or {}).items())]
        return self.client.alerts(filters=matchers, active=active, silenced=silenced, inhibited=inhibited)

    def silences(self, *, filters: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every silence (active, pending, expired), optionally filtered by equal matchers."""
        matchers = [matcher(name, value) for name, value in sorted((filters or {}).items())]
        return self.client.silences(filters=matchers)

    def create_silence(self, *, matchers: Sequence[dict[str, Any]], starts: datetime, ends: datetime,
                       created_by: str, comment: str) -> str:  # fmt: skip
        """Create a silence for ``matchers`` (``{name, value, isRegex?, isEqual?}``); return its id."""
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        if _utc(ends) <= _utc(starts):
            raise ValueError("a silence must end after it starts")
        if not created_by.strip() or not comment.strip():
            raise ValueError("a silence needs created_by and a comment")
        body = {
            "matchers": [_matcher(index, item) for index, item in enumerate(matchers)],
            "startsAt": rfc3339(starts),
            "endsAt": rfc3339(ends),
            "createdBy": created_by,
            "comment": comment,
        }
        return self.client.create_silence(silence=body)

    def expire_silence(self, silence_id: str) -> None:
        """Expire a silence (it stays listed with state ``expired``)."""
        self.client.expire_silence(silence_id=silence_id)

    def test_connection(self) -> ConnectionReport:
        """Check reachability/readiness, the version, and that alerts and silences can be read."""
        checks: list[Check] = []
        version: str | None = None
        calls = (
            ("reachable", self.client.ready),
            ("version", self.client.status),
            ("read alerts", lambda: self.client.alerts(active=True)),
            ("read silences", self.client.silences),
        )
        for name, call in calls:
            try:
                answer: Any = call()
            except IntegrationAuthError as exc:
                checks.append(Check("authentication", False, str(exc)))
                break
            except IntegrationUnavailable as exc:
                checks.append(Check(name, False, str(exc)))
                break
            except IntegrationError as exc:
                checks.append(Check(name, False, str(exc)))
                continue
            if name == "version":
                version = str((answer.get("versionInfo") or {}).get("version") or "") or None
                checks.append(
                    Check(name, version is not None, f"Alertmanager {version or 'unknown version'}")
                )
            elif name == "reachable":
                checks.append(Check(name, True, f"{self.config.base_url}/-/ready: {answer}"))
            else:
                checks.append(Check(name, True, f"{len(answer)} listed"))
        has_credentials = self.config.username is not None or self.config.bearer_token is not None
        if checks and all(check.ok for check in checks) and has_credentials:
            checks.append(Check("authentication", True, "credentials accepted"))
        return ConnectionReport(checks=checks, version=version)


def from_settings(
    data: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
) -> AlertmanagerAdapter:
    """Build an adapter from stored instance settings (``name``, ``base_url``, options and secrets)."""
    return AlertmanagerAdapter(AlertmanagerConfig.model_validate(dict(data)), transport=transport)


def rfc3339(moment: datetime) -> str:
    """Format ``moment`` as RFC 3339 UTC (``…Z``); a naive datetime is taken as UTC."""
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; naive means UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _alert(index: int, alert: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one alert and format its times."""
    unknown = set(alert) - ALERT_KEYS
    if unknown:
        raise ValueError(f"alert {index}: unknown keys {sorted(unknown)}")
    labels = alert.get("labels")
    if not isinstance(labels, Mapping) or not labels:
        raise ValueError(f"alert {index}: labels must be a non-empty object")
    body: dict[str, Any] = {"labels": _strings(index, "labels", labels)}
    if alert.get("annotations"):
        body["annotations"] = _strings(index, "annotations", alert["annotations"])
    for key in ("startsAt", "endsAt"):
        value = alert.get(key)
        if isinstance(value, datetime):
            body[key] = rfc3339(value)
        elif value is not None:
            body[key] = str(value)
    if alert.get("generatorURL"):
        body["generatorURL"] = str(alert["generatorURL"])
    return body


def _strings(index: int, field: str, mapping: Mapping[str, Any]) -> dict[str, str]:
    """Check a string → string mapping (labels or annotations)."""
    for key, value in mapping.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError(f"alert {index}: {field} must map strings to strings")
    return dict(mapping)


def _matcher(index: int, item: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one silence matcher and fill the defaults (equal, not regex)."""
    unknown = set(item) - MATCHER_KEYS
    if unknown or not isinstance(item.get("name"), str) or not isinstance(item.get("value"), str):
        raise ValueError(
            f"matcher {index}: expected {{name, value, isRegex?, isEqual?}} with string name/value"
        )
    return {
        "name": item["name"],
        "value": item["value"],
        "isRegex": bool(item.get("isRegex", False)),
        "isEqual": bool(item.get("isEqual", True)),
    }
