"""Registering the adapter: an instance row builds a working adapter with its own circuit breaker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.argocd import FakeArgoCD
from tests.fakes.server import RunningFake
from tests.integrations.argocd.conftest import TOKEN
from timbel.core.errors import IntegrationUnavailable
from timbel.integrations.argocd.adapter import ArgoCDAdapter, from_instance
from timbel.integrations.argocd.config import ArgoCDConfig
from timbel.integrations.base import DeployTarget, IntegrationKind
from timbel.integrations.http import breaker_for, forget_breaker
from timbel.integrations.registry_of_adapters import (
    InstanceConfig,
    build_adapter,
    register_adapter,
    registered_kinds,
)

INSTANCE_ID = "argocd-registration-test"


@pytest.fixture
def instance(server: RunningFake) -> Iterator[InstanceConfig]:
    """A stored instance as the service hands it to factories (secrets decrypted)."""
    forget_breaker(INSTANCE_ID)
    yield InstanceConfig(
        id=INSTANCE_ID,
        kind=IntegrationKind.argocd,
        name="argo-prod",
        base_url=server.base_url,
        options={"project": "default"},
        secrets={"token": TOKEN},
    )
    forget_breaker(INSTANCE_ID)


class TestRegistration:
    def test_registered_kind_builds_a_deploy_target(self, instance: InstanceConfig) -> None:
        previous = registered_kinds().get(IntegrationKind.argocd)
        register_adapter(IntegrationKind.argocd, from_instance, config=ArgoCDConfig)
        try:
            assert registered_kinds()[IntegrationKind.argocd].secret_fields == frozenset(
                {"token", "password"}
            )
            adapter = build_adapter(instance)
            assert isinstance(adapter, ArgoCDAdapter)
            target: DeployTarget = adapter  # mypy checks the Protocol; the loop below checks at run time
            protocol = [name for name in vars(DeployTarget) if not name.startswith("_")]
            assert protocol and all(callable(getattr(target, name)) for name in protocol)
            report = adapter.test_connection()
            assert report.ok, report.checks
            adapter.close()
        finally:
            if previous is not None:
                register_adapter(IntegrationKind.argocd, previous.factory, config=previous.config)

    def test_the_instance_breaker_opens_after_repeated_failures(
        self, instance: InstanceConfig, fake: FakeArgoCD, server: RunningFake
    ) -> None:
        adapter = from_instance(instance)
        adapter.client._http._transport._sleep = lambda _: None  # type: ignore[attr-defined]
        fake.fail(503)
        with pytest.raises(IntegrationUnavailable):
            adapter.status("guestbook")  # three tries: retried GET
        with pytest.raises(IntegrationUnavailable):
            adapter.status("guestbook")  # two more tries reach the threshold of five
        calls = len(server.recorder.requests)
        with pytest.raises(
            IntegrationUnavailable, match=r"argo-prod: not called after 5 consecutive failures"
        ):
            adapter.sync("guestbook")
        assert len(server.recorder.requests) == calls == 5  # the open breaker sent nothing
        assert breaker_for(INSTANCE_ID).state == "open"
        adapter.close()
