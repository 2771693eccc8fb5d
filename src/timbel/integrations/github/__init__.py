"""GitHub (github.com and GitHub Enterprise Server): repository metadata, webhooks, clone credentials."""
