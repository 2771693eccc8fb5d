"""The Alertmanager adapter against a real Alertmanager 0.25, and its failure handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integrations.prometheus.tricky_strings import SEED, values
from tests.servers import free_port
from timbel.core.errors import IntegrationAuthError, IntegrationError, IntegrationUnavailable
from timbel.integrations import base
from timbel.integrations.alertmanager.adapter import AlertmanagerAdapter, rfc3339
from timbel.integrations.alertmanager.client import AlertmanagerClient
from timbel.integrations.alertmanager.config import AlertmanagerConfig

SECRET = "planted-alertmanager-secret-91c2"
MATCHERS = [{"name": "alertname", "value": "TimbelSilenced"}, {"name": "service", "value": "결제-api"}]


def _alert(name: str, **labels: str) -> dict[str, object]:
    """A firing alert for the next hour."""
    now = datetime.now(tz=UTC)
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": "배포 후 오류율 증가"},
        "startsAt": now - timedelta(minutes=1),
        "endsAt": now + timedelta(hours=1),
        "generatorURL": "http://timbel.test/alerts/1",
    }


class TestAlerts:
    def test_posted_alerts_are_listed_with_their_labels(self, adapter: AlertmanagerAdapter) -> None:
        sink: base.AlertSink = adapter
        sink.post_alerts([_alert("TimbelPosted", service="주문-api")])
        listed = adapter.alerts(filters={"alertname": "TimbelPosted"})
        assert len(listed) == 1
        assert listed[0]["labels"] == {"alertname": "TimbelPosted", "service": "주문-api"}
        assert listed[0]["annotations"] == {"summary": "배포 후 오류율 증가"}
        assert listed[0]["status"]["state"] == "active"
        assert listed[0]["generatorURL"] == "http://timbel.test/alerts/1"
        assert any(a["labels"]["alertname"] == "TimbelPosted" for a in sink.alerts())

    def test_filters_match_any_label_value_exactly(self, adapter: AlertmanagerAdapter) -> None:
        cases = values(120)
        adapter.post_alerts([_alert("TimbelRoundTrip", case=str(i), v=v) for i, v in enumerate(cases)])
        for index, value in enumerate(cases):
            found = [
                a["labels"]["case"]
                for a in adapter.alerts(filters={"alertname": "TimbelRoundTrip", "v": value})
            ]
            assert found == [str(index)], f"seed {SEED}: {value!r} matched {found}"

    def test_invalid_alerts_are_refused_before_sending(self, adapter: AlertmanagerAdapter) -> None:
        with pytest.raises(ValueError, match="labels must be a non-empty"):
            adapter.post_alerts([{"labels": {}}])
        with pytest.raises(ValueError, match="unknown keys"):
            adapter.post_alerts([{"labels": {"a": "b"}, "severity": "x"}])
        with pytest.raises(ValueError, match="strings to strings"):
            adapter.post_alerts([{"labels": {"a": 1}}])


class TestSilences:
    def test_create_silences_and_expire(self, adapter: AlertmanagerAdapter) -> None:
        adapter.post_alerts([_alert("TimbelSilenced", service="결제-api")])
        now = datetime.now(tz=UTC)
        silence_id = adapter.create_silence(
            matchers=MATCHERS,
            starts=now - timedelta(seconds=1), ends=now + timedelta(hours=1),
            created_by="timbel", comment="배포 중 점검",
        )  # fmt: skip
        silenced = adapter.alerts(filters={"alertname": "TimbelSilenced"})
        assert silenced[0]["status"]["state"] == "suppressed"
        assert silenced[0]["status"]["silencedBy"] == [silence_id]
        assert adapter.alerts(filters={"alertname": "TimbelSilenced"}, silenced=False) == []
        listed = {s["id"]: s for s in adapter.silences(filters={"service": "결제-api"})}
        assert listed[silence_id]["status"]["state"] == "active"
        assert listed[silence_id]["createdBy"] == "timbel"

        adapter.expire_silence(silence_id)
        assert adapter.client.silence(silence_id=silence_id)["status"]["state"] == "expired"
        assert adapter.alerts(filters={"alertname": "TimbelSilenced"})[0]["status"]["state"] == "active"

    def test_refusals(self, adapter: AlertmanagerAdapter) -> None:
        now = datetime.now(tz=UTC)
        with pytest.raises(ValueError, match="end after"):
            adapter.create_silence(
                matchers=[{"name": "a", "value": "b"}], starts=now, ends=now, created_by="t", comment="c"
            )
        with pytest.raises(ValueError, match="at least one matcher"):
            adapter.create_silence(
                matchers=[], starts=now, ends=now + timedelta(1), created_by="t", comment="c"
            )
        with pytest.raises(IntegrationError, match=r"Alertmanager 'am-test' answered HTTP 400 on POST"):
            adapter.create_silence(
                matchers=[{"name": "a", "value": "(", "isRegex": True}], starts=now,
                ends=now + timedelta(hours=1), created_by="t", comment="bad regex",
            )  # fmt: skip
        with pytest.raises(IntegrationError, match="am-test"):
            adapter.expire_silence("00000000-0000-0000-0000-000000000000")
        with pytest.raises(ValueError, match="not a silence id"):
            adapter.expire_silence("../status")


class TestConnection:
    def test_reports_version_and_permissions(self, adapter: AlertmanagerAdapter) -> None:
        assert isinstance(adapter, base.Testable)
        report = adapter.test_connection()
        assert report.ok, report
        assert [c.name for c in report.checks] == ["reachable", "version", "read alerts", "read silences"]
        assert report.version == "0.25.0"

    def test_unreachable_server_is_a_precise_failure(self) -> None:
        url = f"http://127.0.0.1:{free_port()}"
        adapter = AlertmanagerAdapter(AlertmanagerConfig(name="am-down", base_url=url, retries=0))
        report = adapter.test_connection()
        assert [(c.name, c.ok) for c in report.checks] == [("reachable", False)]
        assert "Alertmanager 'am-down' is unreachable" in report.checks[0].detail
        with pytest.raises(IntegrationUnavailable, match="am-down"):
            adapter.post_alerts([_alert("x")])

    def test_rejected_credentials_never_leak(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            assert request.headers["Authorization"].startswith("Basic ")
            return httpx.Response(403, text=f"no {SECRET}")

        config = AlertmanagerConfig(name="am-proxy", base_url="http://am.test", username="u", password=SECRET)
        adapter = AlertmanagerAdapter(config, transport=httpx.MockTransport(handler))
        report = adapter.test_connection()
        assert [(c.name, c.ok) for c in report.checks] == [("authentication", False)]
        assert SECRET not in repr(report) and SECRET not in repr(config)
        with pytest.raises(IntegrationAuthError) as caught:
            adapter.alerts()
        assert "am-proxy" in str(caught.value) and SECRET not in str(caught.value)


class TestRetries:
    def _client(self, statuses: list[int], calls: list[str]) -> AlertmanagerClient:
        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(request.method)
            status = statuses.pop(0)
            return httpx.Response(status, json=[] if status == 200 else "busy")

        config = AlertmanagerConfig(name="am-flaky", base_url="http://am.test", retries=2, backoff_seconds=0)
        return AlertmanagerClient(config, transport=httpx.MockTransport(handler), sleep=lambda _: None)

    def test_reads_and_expiries_are_retried(self) -> None:
        calls: list[str] = []
        assert self._client([503, 502, 200], calls).alerts() == []
        assert calls == ["GET", "GET", "GET"]
        calls.clear()
        self._client([504, 200], calls).expire_silence(silence_id="abc")
        assert calls == ["DELETE", "DELETE"]

    def test_posting_alerts_is_sent_once(self) -> None:
        calls: list[str] = []
        with pytest.raises(IntegrationUnavailable, match=r"'am-flaky' is unavailable \(HTTP 503"):
            self._client([503, 200], calls).post_alerts(alerts=[{"labels": {"a": "b"}}])
        assert calls == ["POST"]


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    seoul = datetime(2026, 1, 2, 21, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    assert rfc3339(seoul) == "2026-01-02T12:00:00Z"


def test_from_settings_refuses_credentials_in_the_url() -> None:
    from timbel.integrations.alertmanager.adapter import from_settings

    adapter = from_settings(
        {"name": "am", "base_url": "http://am.test/", "username": "u", "password": SECRET}
    )
    assert adapter.config.base_url == "http://am.test" and SECRET not in repr(adapter.config)
    with pytest.raises(ValueError, match="credentials"):
        from_settings({"name": "am", "base_url": f"http://u:{SECRET}@am.test"})
