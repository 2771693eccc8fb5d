"""Argo CD: projects and applications declared from Timbel, sync, rollback, history, resource tree, watch."""
