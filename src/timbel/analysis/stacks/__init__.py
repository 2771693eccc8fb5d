"""Per-ecosystem detectors (Node, Python, JVM, Go) sharing the types in `stacks.base`."""
