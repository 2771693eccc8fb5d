"""Pipelines: pipeline templates as data (stages, commands, images), their versions and usage counts."""
