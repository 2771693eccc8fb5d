"""Per-ecosystem detectors (Node, Python, JVM, Go, .NET, PHP, Ruby, Rust, static sites) on `stacks.base`."""
