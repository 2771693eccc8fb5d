"""Alertmanager: post alerts, list them, create and expire silences (API v2)."""
