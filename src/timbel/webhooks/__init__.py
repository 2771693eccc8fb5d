"""Webhook receivers for GitHub and GitLab: verify, store once, process a push in the background."""
