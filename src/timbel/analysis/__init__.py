"""Repository analysis: what a repository holds and how to build, run and deploy it (issue 4)."""
