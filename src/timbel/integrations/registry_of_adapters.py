"""Which adapter serves each integration kind: ``register_adapter(kind, factory)``, filled at app start.

A factory gets an ``InstanceConfig`` (the stored row with its secrets decrypted) and returns something
``Testable`` (usually also a Registry, MetricsSource, …). Kinds nobody registered yet answer a clear 501.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel, SecretStr

from timbel.core.errors import AppError
from timbel.integrations.base import IntegrationKind, Testable


class NoAdapter(AppError):
    """No adapter is registered for an integration kind yet."""

    status = 501
    code = "integration-no-adapter"
    title = "No adapter for this kind"


@dataclass(frozen=True)
class InstanceConfig:
    """One integration instance as an adapter factory sees it (secrets decrypted; never log it)."""

    id: str
    kind: IntegrationKind
    name: str
    base_url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)

    def config_data(self) -> dict[str, Any]:
        """``name``, ``base_url``, options and secrets in one dict, for ``XConfig.model_validate``."""
        return {"name": self.name, "base_url": self.base_url, **self.options, **self.secrets}


AdapterFactory = Callable[[InstanceConfig], Testable]


@dataclass(frozen=True)
class AdapterSpec:
    """A registered adapter: its factory, its pydantic config model, and the secret field names it takes."""

    factory: AdapterFactory
    secret_fields: frozenset[str] | None = None  # None: any name
    config: type[BaseModel] | None = None  # validates name + base_url + options + secrets at save time


_ADAPTERS: dict[IntegrationKind, AdapterSpec] = {}


def secret_fields_of(config: type[BaseModel]) -> frozenset[str]:
    """The fields of a config model typed ``SecretStr`` (or ``SecretStr | None``)."""
    return frozenset(
        name
        for name, info in config.model_fields.items()
        if info.annotation is SecretStr or SecretStr in get_args(info.annotation)
    )


def register_adapter(
    kind: IntegrationKind,
    factory: AdapterFactory,
    *,
    config: type[BaseModel] | None = None,
    secret_fields: frozenset[str] | None = None,
) -> None:
    """Make ``factory`` build the adapters of ``kind``; with ``config``, its SecretStr fields are the secrets.

    A later registration replaces an earlier one.
    """
    if secret_fields is None and config is not None:
        secret_fields = secret_fields_of(config)
    _ADAPTERS[IntegrationKind(kind)] = AdapterSpec(factory, secret_fields, config)


def registered_kinds() -> dict[IntegrationKind, AdapterSpec]:
    """Every kind with an adapter, and its spec."""
    return dict(_ADAPTERS)


def spec_for(kind: IntegrationKind | str) -> AdapterSpec:
    """The adapter spec of a kind, or raise NoAdapter (501)."""
    spec = _ADAPTERS.get(IntegrationKind(kind))
    if spec is None:
        raise NoAdapter(f"no adapter for kind {IntegrationKind(kind).value} yet")
    return spec


def build_adapter(config: InstanceConfig) -> Testable:
    """Build the adapter of one instance (NoAdapter when its kind has none)."""
    return spec_for(config.kind).factory(config)
