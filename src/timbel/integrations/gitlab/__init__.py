"""GitLab (minimal): connection test with a personal/project access token, and the webhook token."""
