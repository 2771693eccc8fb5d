"""Kubernetes: a thin httpx client, kubeconfig parsing, server-side apply and rollout status."""
