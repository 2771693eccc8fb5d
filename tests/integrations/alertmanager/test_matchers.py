"""Alertmanager matcher strings escape values the way Alertmanager parses them."""

from __future__ import annotations

import pytest

from timbel.integrations.alertmanager.matchers import escape_matcher_value, matcher


class TestMatcher:
    def test_escapes_backslash_quote_and_newline_only(self) -> None:
        assert escape_matcher_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
        assert escape_matcher_value("서비스 $1 \t {}") == "서비스 $1 \t {}"

    def test_builds_each_operator(self) -> None:
        assert matcher("service", 'x"y') == 'service="x\\"y"'
        assert matcher("env", "prod|stg", operator="=~") == 'env=~"prod|stg"'
        assert matcher("env", "dev", operator="!=") == 'env!="dev"'

    def test_refuses_bad_names_operators_and_surrogates(self) -> None:
        with pytest.raises(ValueError, match="label name"):
            matcher("bad name", "x")
        with pytest.raises(ValueError, match="operator"):
            matcher("a", "x", operator="==")
        with pytest.raises(ValueError, match="surrogate"):
            escape_matcher_value("\udc00")
