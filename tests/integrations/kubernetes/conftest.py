"""Fixtures: a kmock Kubernetes emulator on loopback and adapters pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers.kube import KubeEmulator, start_kube_emulator
from timbel.integrations.kubernetes.adapter import KubernetesAdapter
from timbel.integrations.kubernetes.config import KubernetesConfig

TOKEN = "kube-test-token-9f8e7d"


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    """A fresh emulator per test, stopped afterwards."""
    server = start_kube_emulator()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_adapter(kube: KubeEmulator) -> Iterator[Callable[..., KubernetesAdapter]]:
    """Build adapters for the emulator (token auth, namespace ``demo``); closed after the test."""
    made: list[KubernetesAdapter] = []

    def make(**overrides: Any) -> KubernetesAdapter:
        data: dict[str, Any] = {"name": "kind-dev", "base_url": kube.url, "token": TOKEN, "namespace": "demo"}
        adapter = KubernetesAdapter(
            KubernetesConfig.model_validate({**data, **overrides}), sleep=lambda _: None
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()
