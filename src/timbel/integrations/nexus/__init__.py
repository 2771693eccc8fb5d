"""Nexus Repository 3 adapter: docker images of one hosted repository as ``base.Registry``."""

from timbel.integrations.nexus.adapter import Component, NexusAdapter, RepositoryRef, from_instance
from timbel.integrations.nexus.config import NexusConfig

__all__ = ["Component", "NexusAdapter", "NexusConfig", "RepositoryRef", "from_instance"]
