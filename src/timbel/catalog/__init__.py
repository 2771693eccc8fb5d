"""Knowledge catalog: customer domains, projects, systems and reusable assets."""
