"""Pipeline engines: the local runner and Jenkins behind ``engine_base.Engine``, found by name.

Why a registry with import paths: the service picks the engine a pipeline names (``local``, ``jenkins``)
without importing either module until a run needs it, and tests register a stub engine under their own
name. A factory gets an ``EngineContext`` (settings, session factory, the pipeline's Jenkins instance) and
returns a ready engine; a missing engine module is a clear error, not an ImportError deep in a job.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from timbel.core.errors import ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from timbel.core.settings import Settings
    from timbel.pipelines.engine_base import Engine


@dataclass(frozen=True)
class EngineContext:
    """What an engine factory may use to build an engine for one run."""

    settings: Settings
    session_factory: sessionmaker[Session]
    pipeline_id: str
    domain_id: str | None = None
    jenkins_integration_id: str | None = None


EngineFactory = Callable[[EngineContext], "Engine"]


class EngineUnavailableError(ValidationFailed):
    """No engine of that name is registered, or its module cannot be imported."""


_FACTORIES: dict[str, EngineFactory | str] = {
    "local": "timbel.pipelines.engines.local:LocalEngine",
    "jenkins": "timbel.pipelines.engines.jenkins:JenkinsEngine",
}


def register_engine(name: str, factory: EngineFactory | str) -> None:
    """Register (or replace) the engine ``name``: a factory, or a ``module:Class`` import path."""
    _FACTORIES[name] = factory


def unregister_engine(name: str) -> None:
    """Forget an engine (tests)."""
    _FACTORIES.pop(name, None)


def engine_names() -> list[str]:
    """The registered engine names."""
    return sorted(_FACTORIES)


def _load(name: str, path: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        message = f"The pipeline engine {name!r} is not installed ({module_name})."
        raise EngineUnavailableError(message) from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise EngineUnavailableError(f"The pipeline engine {name!r} is missing ({path}).") from exc


def _jenkins_adapter(ctx: EngineContext) -> Any:
    """The Jenkins adapter of the pipeline's instance (else the domain's or the global default)."""
    from timbel.integrations import service as integrations
    from timbel.integrations.base import IntegrationKind
    from timbel.integrations.jenkins.adapter import from_instance
    from timbel.integrations.models import Integration

    with ctx.session_factory() as session:
        row = (
            session.get(Integration, ctx.jenkins_integration_id)
            if ctx.jenkins_integration_id
            else integrations.default_for(session, kind=IntegrationKind.jenkins, domain_id=ctx.domain_id)
        )
        if row is None:
            raise EngineUnavailableError("No Jenkins instance is configured for this pipeline.")
        return from_instance(integrations.instance_config(row, settings=ctx.settings))


def _from_class(name: str, cls: Any, ctx: EngineContext) -> Engine:
    """Build an engine: ``from_context``, else ``for_run``, else its constructor (Jenkins: an adapter)."""
    if hasattr(cls, "from_context"):
        return cls.from_context(ctx)  # type: ignore[no-any-return]
    if hasattr(cls, "for_run"):
        factory = ctx.session_factory
        return cls.for_run(settings=ctx.settings, session_factory=factory, pipeline_id=ctx.pipeline_id)  # type: ignore[no-any-return]
    if name == "jenkins":
        return cls(_jenkins_adapter(ctx))  # type: ignore[no-any-return]
    return cls()  # type: ignore[no-any-return]


def engine_for(name: str, ctx: EngineContext) -> Engine:
    """Build the engine registered as ``name`` for one run."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise EngineUnavailableError(f"Unknown pipeline engine {name!r}.")
    if isinstance(factory, str):
        return _from_class(name, _load(name, factory), ctx)
    return factory(ctx)
