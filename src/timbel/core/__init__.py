"""Cross-cutting infrastructure: settings, database, errors, security, jobs, logging."""
