"""Knowledge catalog: customer domains, projects, systems and reusable assets."""

from timbel.catalog import search_index as _search_index  # noqa: F401  (keeps the search index in sync)
