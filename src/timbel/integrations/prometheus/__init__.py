"""Prometheus: PromQL building with escaped label values, queries, targets and file-based discovery."""
