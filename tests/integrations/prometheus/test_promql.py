"""User text reaches PromQL only escaped: unit cases, and round-trips through a real Prometheus."""

from __future__ import annotations

import time

import pytest

from tests.servers.prometheus import PrometheusServer
from timbel.integrations.prometheus.adapter import PrometheusAdapter
from timbel.integrations.prometheus.promql import escape_label_value, quote_label_value, selector

from .conftest import ExpositionServer
from .tricky_strings import SEED, values

SCRAPE_WAIT = 20.0


class TestEscapeLabelValue:
    def test_escapes_the_delimiters_and_controls(self) -> None:
        assert escape_label_value('a"b') == 'a\\"b'
        assert escape_label_value("a\\b") == "a\\\\b"
        assert escape_label_value("a\nb\rc\td") == "a\\nb\\rc\\td"
        assert escape_label_value("\x00\x7f\u2028\ufffd") == "\\u0000\\u007f\\u2028\\ufffd"
        assert escape_label_value("\U000e0001") == "\\U000e0001"

    def test_keeps_printable_text_readable(self) -> None:
        assert escape_label_value("주문-api v2 $1 'x' `y` {}") == "주문-api v2 $1 'x' `y` {}"
        assert quote_label_value("서비스") == '"서비스"'

    def test_refuses_lone_surrogates_and_non_strings(self) -> None:
        with pytest.raises(ValueError, match="surrogate"):
            escape_label_value("\ud800")
        with pytest.raises(TypeError):
            escape_label_value(42)  # type: ignore[arg-type]


class TestSelector:
    def test_builds_sorted_escaped_matchers(self) -> None:
        assert selector("up", job='a"}', env="prod") == 'up{env="prod",job="a\\"}"}'
        assert selector(None, job="x") == '{job="x"}'
        assert selector("http_requests_total") == "http_requests_total"
        assert selector("up", metric="m") == 'up{metric="m"}'  # the metric is positional-only

    @pytest.mark.parametrize("metric", ["1up", "up-time", "up{", 'up"', ""])
    def test_refuses_invalid_metric_names(self, metric: str) -> None:
        with pytest.raises(ValueError, match=r"metric name|needs a metric"):
            selector(metric, job="x")

    def test_refuses_invalid_label_names(self) -> None:
        with pytest.raises(ValueError, match="label name"):
            selector("up", **{"job=~": "x"})
        with pytest.raises(ValueError, match="label name"):
            selector("up", **{"서비스": "x"})

    def test_needs_a_metric_or_a_label(self) -> None:
        with pytest.raises(ValueError, match="needs a metric"):
            selector(None)


class TestRoundTripThroughPrometheus:
    """Property: for any string, Prometheus's own parser reads back exactly the value we escaped."""

    def test_string_literals_round_trip(self, adapter: PrometheusAdapter) -> None:
        # label_join with a missing source label yields exactly the separator literal as the label value,
        # and, unlike label_replace, expands no `$1` templates.
        for value in values(400):
            query = f'label_join(vector(1), "v", {quote_label_value(value)}, "absent", "absent")'
            samples = adapter.query(query)
            assert [s.labels for s in samples] == [{"v": value}], f"seed {SEED}: {value!r}"

    def test_label_matchers_select_exactly_the_series(
        self, adapter: PrometheusAdapter, exposition: ExpositionServer, prometheus: PrometheusServer
    ) -> None:
        cases = values(150)
        lines = [
            f'timbel_roundtrip{{case="{index}",v="{_exposition_escape(value)}"}} 1'
            for index, value in enumerate(cases)
        ]
        exposition.body = "# TYPE timbel_roundtrip gauge\n" + "\n".join(lines) + "\n"
        deadline = time.monotonic() + SCRAPE_WAIT
        while not adapter.query('count(timbel_roundtrip{job="roundtrip"})'):
            assert time.monotonic() < deadline, f"never scraped: {adapter.targets()}\n{prometheus.log()}"
            time.sleep(0.2)
        for index, value in enumerate(cases):
            # job: the file-SD test may point a second job at the same exposition server.
            samples = adapter.query(selector("timbel_roundtrip", v=value, job="roundtrip"))
            found = [s.labels.get("case") for s in samples]
            assert found == [str(index)], f"seed {SEED}: {value!r} matched {found}"
        assert adapter.query(selector("timbel_roundtrip", v='"} or vector(1) #x')) == []


def _exposition_escape(value: str) -> str:
    """The text exposition format's own label-value escaping (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
