"""Blackbox exporter client: probe a target now (``BlackboxClient.probe``)."""

from timbel.integrations.blackbox.client import BlackboxClient, ProbeResult, parse_text

__all__ = ["BlackboxClient", "ProbeResult", "parse_text"]
