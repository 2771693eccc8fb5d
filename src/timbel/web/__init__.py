"""Server-rendered web UI: page routes, Jinja2 templates, static assets and i18n catalogs."""
