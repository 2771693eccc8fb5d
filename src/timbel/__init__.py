"""Timbel: CI/CD operations platform with a knowledge catalog, GitOps delivery and monitoring."""

__version__ = "0.1.0"
