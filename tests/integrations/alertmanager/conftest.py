"""A real Alertmanager on loopback (cluster listener off) and an adapter on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.alertmanager import AlertmanagerServer, start_alertmanager
from timbel.integrations.alertmanager.adapter import AlertmanagerAdapter
from timbel.integrations.alertmanager.config import AlertmanagerConfig


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerServer]:
    """One Alertmanager per test module."""
    server = start_alertmanager(tmp_path_factory.mktemp("alertmanager"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def adapter(alertmanager: AlertmanagerServer) -> Iterator[AlertmanagerAdapter]:
    """An adapter on the real server, with no retries so failures show at once."""
    client = AlertmanagerAdapter(AlertmanagerConfig(name="am-test", base_url=alertmanager.url, retries=0))
    try:
        yield client
    finally:
        client.close()
